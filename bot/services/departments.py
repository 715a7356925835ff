"""Departments, members and roles, and the permission checks every service uses.

Roles: an *admin* (workspace-wide, from the setup file or another admin) may do anything; a
*manager* manages one department; a *rep* sells in one department. A user is in at most one
department. Admins come from the setup file's ``admins`` list; ``/sales dept add … manager``
by an admin makes managers, and a manager may add and remove the reps of their department.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, literal, text, union_all
from sqlmodel import Session, select

from bot.render import LOCALES
from bot.schedule import parse_time, parse_weekly
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.store.models import Department, Lead, Member, Setting, utcnow
from bot.store.prepared import Prepared

ROLES = ("rep", "manager")

#: Department settings that `/sales dept set` and the setup file share, with what each expects.
OPTIONS: dict[str, str] = {
    "timezone": "Asia/Shanghai",
    "locale": "en | zh-CN",
    "daily_digest": "09:00 | off",
    "weekly_digest": "fri 17:00 | off",
    "meeting": "mon 10:00 | off",
    "claim_days": "14",
    "warn_days": "3",
    "max_leads_per_rep": "200",
}

#: Slack ids, at most as long as the columns that keep them (32 characters).
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,31}$")


def name_key(name: str) -> str:
    """Department names are unique regardless of case and spacing."""
    return " ".join(name.split()).casefold()


def valid_user_id(user_id: str) -> bool:
    return bool(_USER_ID.match(user_id))


def valid_channel_id(channel: str) -> bool:
    return bool(_CHANNEL_ID.match(channel))


# ── lookups ──────────────────────────────────────────────────────────────────────────────────


def get_member(session: Session, user_id: str) -> Member | None:
    return session.get(Member, user_id)


def is_admin(session: Session, user_id: str) -> bool:
    member = session.get(Member, user_id)
    return bool(member and member.is_admin)


def admin_ids(session: Session) -> list[str]:
    return list(
        session.exec(select(Member.user_id).where(Member.is_admin).order_by(Member.user_id))
    )


def department_of(session: Session, user_id: str) -> Department | None:
    member = session.get(Member, user_id)
    if member is None or member.department_id is None:
        return None
    return session.get(Department, member.department_id)


def find_department(session: Session, name: str) -> Department:
    department = session.exec(
        select(Department).where(Department.name_key == name_key(name))
    ).first()
    if department is None:
        known = list(session.exec(select(Department.name).order_by(Department.name)))
        raise NotFound("department_not_found", name=name, known=known)
    return department


def managers_of(session: Session, department: Department) -> list[str]:
    return list(
        session.exec(
            select(Member.user_id)
            .where(Member.department_id == department.id, Member.role == "manager")
            .order_by(Member.user_id)
        )
    )


def members_of(session: Session, department: Department) -> list[Member]:
    return list(
        session.exec(
            select(Member)
            .where(Member.department_id == department.id)
            .order_by(Member.role, Member.user_id)
        )
    )


def workspace_setting(session: Session, key: str, default: str) -> str:
    row = session.get(Setting, key)
    return row.value if row else default


#: The department's locale ranked before the workspace default; built once, run per request.
_LOCALE_QUERY = Prepared(
    union_all(
        select(Department.locale.label("locale"), literal(0).label("rank"))
        .join(Member, Member.department_id == Department.id)
        .where(Member.user_id == bindparam("user_id")),
        select(Setting.value.label("locale"), literal(1).label("rank")).where(
            Setting.key == "locale"
        ),
    )
    .order_by(text("rank"))
    .limit(1)
)


def locale_for(session: Session, user_id: str | None, default: str = "en") -> str:
    """The locale a user reads: their department's, else the workspace default.

    Runs on every request, so it is one prepared read (no ORM objects).
    """
    found = _LOCALE_QUERY.first(session.connection(), user_id=user_id or "")
    return (found and found.locale) or default


#: The department's time zone ranked before the company default, as for the locale.
_ZONE_QUERY = Prepared(
    union_all(
        select(Department.timezone.label("zone"), literal(0).label("rank"))
        .join(Member, Member.department_id == Department.id)
        .where(Member.user_id == bindparam("user_id")),
        select(Setting.value.label("zone"), literal(1).label("rank")).where(
            Setting.key == "timezone"
        ),
    )
    .order_by(text("rank"))
    .limit(1)
)


def zone_for(session: Session, user_id: str | None, default: str = "UTC") -> str:
    """The time zone a user reads dates in: their department's, else the company default."""
    found = _ZONE_QUERY.first(session.connection(), user_id=user_id or "")
    return (found and found.zone) or default


def _setting(key: str) -> Any:
    return select(Setting.value).where(Setting.key == key).scalar_subquery()


#: Locale and zone together, for the request's caller: one read per request.
_READER_QUERY = Prepared(
    union_all(
        select(
            Department.locale.label("locale"),
            Department.timezone.label("zone"),
            literal(0).label("rank"),
        )
        .join(Member, Member.department_id == Department.id)
        .where(Member.user_id == bindparam("user_id")),
        select(
            _setting("locale").label("locale"),
            _setting("timezone").label("zone"),
            literal(1).label("rank"),
        ),
    )
    .order_by(text("rank"))
    .limit(1)
)


def reader_for(
    session: Session, user_id: str | None, default_locale: str = "en", default_zone: str = "UTC"
) -> tuple[str, str]:
    """(locale, time zone) a user reads in, as :func:`locale_for` and :func:`zone_for` give,
    in one prepared read."""
    found = _READER_QUERY.first(session.connection(), user_id=user_id or "")
    if found is None:
        return default_locale, default_zone
    return found.locale or default_locale, found.zone or default_zone


# ── permissions ──────────────────────────────────────────────────────────────────────────────


def require_admin(session: Session, user_id: str) -> None:
    if not is_admin(session, user_id):
        raise PermissionDenied("admin_only", admins=admin_ids(session))


def is_manager_of(session: Session, user_id: str, department: Department) -> bool:
    member = session.get(Member, user_id)
    return bool(member and member.department_id == department.id and member.role == "manager")


def require_manager_or_admin(session: Session, user_id: str, department: Department) -> None:
    if is_admin(session, user_id) or is_manager_of(session, user_id, department):
        return
    raise PermissionDenied(
        "manager_only",
        department=department.name,
        managers=managers_of(session, department),
        admins=admin_ids(session),
    )


# ── validation shared by Slack commands and the setup file ───────────────────────────────────


def parse_option(key: str, value: Any) -> Any:
    """Check one department setting; returns the value to store or raises InvalidInput."""
    if key not in OPTIONS:
        raise InvalidInput("unknown_option", key=key, options=list(OPTIONS))
    text = str(value).strip()
    try:
        if key == "timezone":
            ZoneInfo(text)
            return text
        if key == "locale":
            if text not in LOCALES:
                raise ValueError(text)
            return text
        if key in ("daily_digest", "weekly_digest", "meeting"):
            if text.lower() in ("off", "none", ""):
                return None
            if key == "daily_digest":
                parse_time(text)
            else:
                parse_weekly(text)
            return text.lower()
        number = int(text)
        if number < 0 or (key == "claim_days" and number < 1):
            raise ValueError(text)
        return number
    except (ValueError, ZoneInfoNotFoundError):
        raise InvalidInput("bad_option", key=key, value=text, expected=OPTIONS[key]) from None


def check_user_id(user_id: str) -> str:
    if not valid_user_id(user_id):
        raise InvalidInput("bad_user", value=user_id)
    return user_id


def check_channel(channel: str) -> str:
    if not valid_channel_id(channel):
        raise InvalidInput("bad_channel", value=channel)
    return channel


# ── changes ──────────────────────────────────────────────────────────────────────────────────


def _check_new_name(session: Session, name: str, *, current: Department | None = None) -> str:
    clean = " ".join(name.split())
    if not clean or len(clean) > 80 or clean.startswith(("<", "#", "@")):
        raise InvalidInput("bad_department_name", value=name)
    existing = session.exec(
        select(Department).where(Department.name_key == name_key(clean))
    ).first()
    if existing is not None and existing is not current:
        raise Conflict("department_exists", name=existing.name)
    return clean


def create_department(
    *,
    session: Session,
    actor: str,
    name: str,
    channel: str | None = None,
    now: datetime | None = None,
) -> Department:
    require_admin(session, actor)
    clean = _check_new_name(session, name)
    department = Department(
        name=clean,
        name_key=name_key(clean),
        channel=check_channel(channel) if channel else None,
        timezone=workspace_setting(session, "timezone", "UTC"),
        locale=workspace_setting(session, "locale", "en"),
        created_at=now or utcnow(),
        updated_at=now or utcnow(),
    )
    session.add(department)
    session.commit()
    return department


def rename_department(*, session: Session, actor: str, name: str, new_name: str) -> Department:
    require_admin(session, actor)
    department = find_department(session, name)
    clean = _check_new_name(session, new_name, current=department)
    department.name, department.name_key = clean, name_key(clean)
    department.updated_at = utcnow()
    session.add(department)
    session.commit()
    return department


def set_channel(*, session: Session, actor: str, name: str, channel: str) -> Department:
    department = find_department(session, name)
    require_admin(session, actor)
    department.channel = check_channel(channel)
    department.updated_at = utcnow()
    session.add(department)
    session.commit()
    return department


def set_option(
    *, session: Session, actor: str, name: str, key: str, value: str
) -> tuple[Department, Any]:
    if key == "stage_weights":
        return set_stage_weights(session=session, actor=actor, name=name, value=value)
    department = find_department(session, name)
    require_admin(session, actor)
    parsed = parse_option(key, value)
    setattr(department, key, parsed)
    department.updated_at = utcnow()
    session.add(department)
    session.commit()
    return department, parsed


def _place_member(
    session: Session, department: Department, user_id: str, role: str, *, replace: bool = False
) -> Member:
    """Put a user in a department; refuses when they are in another one (unless replace)."""
    member = session.get(Member, user_id) or Member(user_id=user_id)
    if member.department_id not in (None, department.id) and not replace:
        other = session.get(Department, member.department_id)
        raise Conflict(
            "member_elsewhere",
            user=user_id,
            department=other.name if other else "?",
            target=department.name,
        )
    if member.department_id not in (None, department.id):
        require_no_leads(session, user_id, session.get(Department, member.department_id))
    member.department_id, member.role, member.updated_at = department.id, role, utcnow()
    session.add(member)
    return member


def require_no_leads(session: Session, user_id: str, department: Department | None) -> None:
    """Refuse to take someone out of their department while they own leads there: an owner is
    a member of the lead's department (the database holds that rule too)."""
    owned = session.exec(
        select(func.count()).select_from(Lead).where(Lead.owner_id == user_id)
    ).one()
    if owned:
        raise Conflict(
            "member_has_leads",
            user=user_id,
            count=owned,
            department=department.name if department else "?",
        )


def add_member(
    *, session: Session, actor: str, name: str, user_id: str, role: str = "rep"
) -> tuple[Department, Member]:
    department = find_department(session, name)
    if role not in ROLES:
        raise InvalidInput("bad_role", value=role, roles=list(ROLES))
    check_user_id(user_id)
    current = session.get(Member, user_id)
    if role == "manager" or (current is not None and current.role == "manager"):
        require_admin(session, actor)  # only admins make or unmake a manager
    else:
        require_manager_or_admin(session, actor, department)
    member = _place_member(session, department, user_id, role)
    session.commit()
    return department, member


def remove_member(
    *, session: Session, actor: str, name: str, user_id: str
) -> tuple[Department, Member]:
    department = find_department(session, name)
    check_user_id(user_id)
    require_manager_or_admin(session, actor, department)
    member = session.get(Member, user_id)
    if member is None or member.department_id != department.id:
        raise NotFound("member_not_in_department", user=user_id, department=department.name)
    if member.role == "manager":
        require_admin(session, actor)
    require_no_leads(session, user_id, department)
    member.department_id, member.role, member.updated_at = None, None, utcnow()
    session.add(member)
    session.commit()
    return department, member


@dataclass(frozen=True)
class DepartmentSummary:
    name: str
    channel: str | None
    timezone: str
    locale: str
    managers: list[str]
    reps: int


def list_departments(session: Session) -> list[DepartmentSummary]:
    counts = dict(
        session.exec(
            select(Member.department_id, func.count())
            .where(Member.role == "rep")
            .group_by(Member.department_id)
        ).all()
    )
    return [
        DepartmentSummary(
            name=d.name,
            channel=d.channel,
            timezone=d.timezone,
            locale=d.locale,
            managers=managers_of(session, d),
            reps=counts.get(d.id, 0),
        )
        for d in session.exec(select(Department).order_by(Department.name))
    ]


# ── stage weights (the forecast) ─────────────────────────────────────────────────────────────

#: Open stages and the share of their amount the forecast counts, unless a department sets its
#: own: a deal in negotiation is three times as likely to close as one just qualified.
STAGE_WEIGHT_DEFAULTS: dict[str, float] = {
    "new": 0.05,
    "contacted": 0.1,
    "qualified": 0.25,
    "proposal": 0.5,
    "negotiation": 0.75,
}
STAGE_WEIGHTS_EXAMPLE = "qualified=0.25 proposal=0.5 negotiation=0.75"
_WEIGHT_PAIR = re.compile(r"([a-z_]+)\s*[=:]\s*([0-9.]+%?)")


def _stage_weights_key(department_id: int) -> str:
    return f"stage_weights:{department_id}"


def parse_stage_weights(value: Any) -> dict[str, float]:
    """Stage weights as the setup file gives them (an inline table) or as typed in Slack
    (``qualified=0.25 proposal=0.5``, commas and ``{ … }`` allowed, ``50%`` means 0.5):
    only open stages, each between 0 and 1. Stages not named keep their default."""
    if isinstance(value, dict):
        pairs = [(str(k).strip().lower(), str(v).strip()) for k, v in value.items()]
    else:
        text_ = str(value).strip().strip("{}").lower().replace(",", " ")
        pairs = _WEIGHT_PAIR.findall(text_)
        leftover = _WEIGHT_PAIR.sub("", text_).strip()
        if leftover or not pairs:
            raise InvalidInput(
                "bad_option", key="stage_weights", value=str(value), expected=STAGE_WEIGHTS_EXAMPLE
            )
    weights: dict[str, float] = {}
    for stage, raw in pairs:
        try:
            number = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            number = -1.0
        if stage not in STAGE_WEIGHT_DEFAULTS or not 0 <= number <= 1:
            raise InvalidInput(
                "bad_option",
                key="stage_weights",
                value=f"{stage}={raw}",
                expected=STAGE_WEIGHTS_EXAMPLE,
            )
        weights[stage] = number
    return weights


def stage_weights(session: Session, department_id: int) -> dict[str, float]:
    """The department's stage weights: its own (a ``setting`` row ``stage_weights:<id>``, so no
    schema change) over the defaults."""
    weights = dict(STAGE_WEIGHT_DEFAULTS)
    row = session.get(Setting, _stage_weights_key(department_id))
    if row is not None:
        for stage, raw in _WEIGHT_PAIR.findall(row.value):
            if stage in weights:
                weights[stage] = float(raw)
    return weights


def store_stage_weights(session: Session, department_id: int, weights: dict[str, float]) -> str:
    """Merge ``weights`` into the department's stored ones (in the caller's transaction, the
    setting row locked when it exists); returns the stored text."""
    key = _stage_weights_key(department_id)
    row = session.exec(select(Setting).where(Setting.key == key).with_for_update()).first()
    merged = stage_weights(session, department_id) | weights
    value = " ".join(f"{stage}={merged[stage]:g}" for stage in STAGE_WEIGHT_DEFAULTS)
    if row is None:
        row = Setting(key=key, value=value)
    row.value = value
    session.add(row)
    return value


def set_stage_weights(
    *, session: Session, actor: str, name: str, value: str
) -> tuple[Department, str]:
    """``/sales dept set <dept> stage_weights qualified=0.3 …`` (admins, like every ``set``)."""
    department = find_department(session, name)
    require_admin(session, actor)
    weights = parse_stage_weights(value)
    assert department.id is not None
    stored = store_stage_weights(session, department.id, weights)
    session.commit()
    return department, stored
