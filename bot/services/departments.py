"""Departments, members and roles, and the permission checks every service uses.

Roles: an *admin* (workspace-wide, from the setup file or another admin) may do anything; a
*manager* manages one department; a *rep* sells in one department. A user is in at most one
department. Admins come from the setup file's ``admins`` list; ``/sales dept add … manager``
by an admin makes managers, and a manager may add and remove the reps of their department.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import bindparam, func, literal, text, union_all, update
from sqlmodel import Session, select

from bot import workdays
from bot.render import LOCALES
from bot.schedule import parse_time, parse_weekly
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.store.locks import lock_lead, lock_member
from bot.store.models import Department, Lead, Member, OwnershipEvent, Setting, utcnow
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
    "holidays": "CN | US-CA | off",
    "extra_holidays": "2026-12-24,2026-12-31 | off",
    "extra_workdays": "2026-12-26 | off",
    "accept_minutes": "15",
    "work_hours": "09:00-18:00",
    "handoff_to": "Accounts | off",
    "handoff_after_days": "7",
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


def lock_department(session: Session, department: Department) -> Department:
    """Lock the department's row until the transaction ends (an ``UPDATE`` of it, as in
    :mod:`bot.store.locks`) and return it as committed now, so that a change checks its rules
    (``warn_days`` below ``claim_days``) against the other settings as they are."""
    session.execute(
        update(Department)
        .where(Department.id == department.id)
        .values(updated_at=Department.updated_at)
    )
    return session.exec(
        select(Department)
        .where(Department.id == department.id)
        .execution_options(populate_existing=True)
    ).one()


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


def _setting(key: str) -> Any:
    return select(Setting.value).where(Setting.key == key).scalar_subquery()


#: The locale and time zone a user reads in: their department's, else the company defaults
#: (the setup file's top-level ``locale`` and ``timezone``); built once, run per request.
_READER_QUERY = Prepared(
    union_all(
        select(
            Department.locale.label("locale"),
            Department.timezone.label("zone"),
            _setting("currency").label("currency"),
            literal(0).label("rank"),
        )
        .join(Member, Member.department_id == Department.id)
        .where(Member.user_id == bindparam("user_id")),
        select(
            _setting("locale").label("locale"),
            _setting("timezone").label("zone"),
            _setting("currency").label("currency"),
            literal(1).label("rank"),
        ),
    )
    .order_by(text("rank"))
    .limit(1)
)


def reader_for(
    session: Session, user_id: str | None, default_locale: str = "en", default_zone: str = "UTC"
) -> tuple[str, str]:
    """(locale, time zone) a user reads in: their department's, else the company's, else the
    defaults given. Runs on every request, so it is one prepared read (no ORM objects)."""
    locale, zone, _ = reader_and_currency(session, user_id, default_locale, default_zone)
    return locale, zone


def reader_and_currency(
    session: Session, user_id: str | None, default_locale: str = "en", default_zone: str = "UTC"
) -> tuple[str, str, str | None]:
    """:func:`reader_for` and the company's currency (None: the default), in the same one
    read: what every request needs before it renders anything."""
    found = _READER_QUERY.first(session.connection(), user_id=user_id or "")
    if found is None:
        return default_locale, default_zone, None
    return found.locale or default_locale, found.zone or default_zone, found.currency


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


def holiday_calendar(
    department: Department, now: datetime | None, locale: str
) -> list[workdays.Day]:
    """For ``/sales dept show``: the next 90 days (from the department's local today) that
    are not plain Monday–Friday: public holidays and extra days off on weekdays, and working
    weekend days (official make-up days such as China's 调休, ``extra_workdays``)."""
    today = (now or utcnow()).astimezone(ZoneInfo(department.timezone)).date()
    return workdays.upcoming(department, today, locale=locale)


# ── validation shared by Slack commands and the setup file ───────────────────────────────────


#: Whole-number settings: (lowest, highest) allowed. ``warn_days`` is further below
#: ``claim_days``; ``max_leads_per_rep`` 0 means no cap.
RANGES: dict[str, tuple[int, int]] = {
    "claim_days": (1, 365),
    "warn_days": (0, 364),
    "max_leads_per_rep": (0, 10_000),
    "accept_minutes": (1, 1440),
    "handoff_after_days": (0, 365),
}


@cache
def _timezones() -> frozenset[str]:
    """The IANA names this system knows (``America`` alone is a folder, not a zone)."""
    return frozenset(available_timezones())


def parse_option(key: str, value: Any, *, current: dict[str, Any] | None = None) -> Any:
    """Check one department setting; returns the value to store or raises InvalidInput.

    The one check for `/sales dept set` and the setup file alike. ``current`` holds the
    department's other settings as they will be (``claim_days``, ``warn_days``), so that
    ``warn_days`` stays below ``claim_days`` whichever of the two changes. The refusal
    (``bad_option``) names the setting, the allowed range (``low``/``high``) and an example.
    """
    if key not in OPTIONS:
        raise InvalidInput("unknown_option", key=key, options=list(OPTIONS))
    text = str(value).strip()
    low, high = RANGES.get(key, (None, None))
    try:
        if isinstance(value, bool):
            raise ValueError(text)
        if key == "timezone":
            if text not in _timezones():
                raise ValueError(text)
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
        if key == "holidays":  # a calendar of the holidays package (bot.workdays)
            return workdays.parse_calendar(text)
        if key in ("extra_holidays", "extra_workdays"):  # ISO dates; a list in the file
            return workdays.parse_dates(value)
        if key == "work_hours":  # the routing clock's hours (bot.workdays)
            return workdays.parse_work_hours(text)
        if key == "handoff_to":  # a department's name (checked against the others by callers)
            clean = " ".join(text.split())
            if not isinstance(value, str) or not clean or len(clean) > 80:
                raise ValueError(text)
            return None if clean.lower() in ("off", "none") else clean
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(text)
        number = int(value) if isinstance(value, (int, float)) else int(text, 10)
        if not low <= number <= high:  # type: ignore[operator]
            raise ValueError(text)
        # Within its own range; now beside the other one (the refusal names the narrower range).
        other = (current or {}).get("claim_days" if key == "warn_days" else "warn_days")
        if key == "warn_days" and isinstance(other, int) and number >= other:
            high = max(low, other - 1)
            raise ValueError(text)
        if key == "claim_days" and isinstance(other, int) and number <= other:
            low = min(high, other + 1)
            raise ValueError(text)
        return number
    except (ValueError, OverflowError, ZoneInfoNotFoundError):
        raise InvalidInput(
            "bad_option", key=key, value=text, expected=OPTIONS[key], low=low, high=high
        ) from None


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
    department = lock_department(session, department)
    current = {"claim_days": department.claim_days, "warn_days": department.warn_days}
    parsed = parse_option(key, value, current=current)
    if key == "handoff_to":
        target = handoff_target(session, department, parsed)
        department.handoff_to_id = target.id if target is not None else None
        parsed = target.name if target is not None else None
    else:
        setattr(department, key, parsed)
    department.updated_at = utcnow()
    session.add(department)
    session.commit()
    return department, parsed


def handoff_target(session: Session, department: Department, name: str | None) -> Department | None:
    """The department ``handoff_to`` names (None for ``off``): it must exist and not be the
    department itself (a department cannot hand its customers to itself)."""
    if name is None:
        return None
    target = find_department(session, name)
    if target.id == department.id:
        raise InvalidInput("handoff.to_itself", department=department.name)
    return target


def handoff_to_name(session: Session, department: Department) -> str | None:
    """The name of the department this one hands its won customers to, for ``show``."""
    if department.handoff_to_id is None:
        return None
    target = session.get(Department, department.handoff_to_id)
    return target.name if target is not None else None


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


def open_lead_count(session: Session, user_id: str) -> int:
    """How many leads the user owns (won ones included: a won lead stays with its owner, and
    the database keeps every owner a member of the lead's department)."""
    return session.exec(
        select(func.count()).select_from(Lead).where(Lead.owner_id == user_id)
    ).one()


def require_no_leads(
    session: Session, user_id: str, department: Department | None, *, move: bool = False
) -> None:
    """Refuse to take someone out of their department while they own leads there: an owner is
    a member of the lead's department (the database holds that rule too). The refusal says how
    to say what happens to the leads (``leads to @someone`` or ``leads to pool``)."""
    owned = open_lead_count(session, user_id)
    if owned:
        raise Conflict(
            "member_has_leads",
            user=user_id,
            count=owned,
            department=department.name if department else "?",
            move=move,
        )


#: Where a leaving member's leads go: another member of their department, or the pool.
POOL = "pool"
#: For a move: the leads move with the member to their new department.
KEEP = "keep"


def _lock_members(session: Session, *user_ids: str) -> None:
    """Lock member rows in one order (by id), so two hand-overs never wait in a circle."""
    for user_id in sorted(set(user_ids)):
        lock_member(session, user_id)


def _hand_over_leads(
    session: Session,
    *,
    actor: str,
    member: Member,
    leads_to: str | None,
    department: Department,
    new_department: Department | None = None,
) -> int:
    """Before ``member`` leaves ``department``: every lead they own goes to ``leads_to`` (a
    member of ``department``), to the pool, or with them (:data:`KEEP`, a move only). Runs in
    the caller's transaction: each lead is locked and its owner re-checked, and each change is
    an ownership event (the audit line ``/lead history`` shows). Returns how many moved.

    A lead handed to another member is a fresh claim for them (like ``/lead transfer``; a
    won lead does not expire) and is not counted against their ``max_leads_per_rep``: the
    manager or admin chose to hand it over. A kept lead keeps its expiry.
    """
    owned = list(
        session.exec(select(Lead.id).where(Lead.owner_id == member.user_id).order_by(Lead.id))
    )
    if not owned:
        return 0
    if leads_to is None:
        require_no_leads(session, member.user_id, department, move=new_department is not None)
    if leads_to not in (POOL, KEEP):
        check_user_id(leads_to)
        heir = session.exec(
            select(Member)
            .where(Member.user_id == leads_to)
            .execution_options(populate_existing=True)
        ).first()
        if leads_to == member.user_id or heir is None or heir.department_id != department.id:
            raise InvalidInput("heir_not_in_department", user=leads_to, department=department.name)
    if leads_to == KEEP and new_department is None:
        raise InvalidInput("dept_usage", action="remove")
    now = utcnow()
    moved: list[Lead] = []
    for lead_id in owned:
        lead = lock_lead(session, lead_id)
        if lead is None or lead.owner_id != member.user_id:
            continue  # changed hands meanwhile
        event = OwnershipEvent(
            lead_id=lead.id,
            actor_id=actor,
            at=now,
            from_owner=lead.owner_id,
            from_department_id=lead.department_id,
            action="release" if leads_to == POOL else "transfer",
        )
        if leads_to == POOL:
            lead.owner_id = lead.department_id = None
            lead.expires_at = lead.warned_at = None
        elif leads_to == KEEP:
            event.to_owner, event.to_department_id = member.user_id, new_department.id
            lead.owner_id = lead.department_id = None  # back once the member has moved
            moved.append(lead)
        else:
            event.to_owner, event.to_department_id = leads_to, department.id
            lead.owner_id = leads_to
            lead.claimed_at = now
            lead.expires_at = (
                None if lead.stage == "won" else now + timedelta(days=department.claim_days)
            )
            lead.warned_at = None
        lead.updated_at = now
        session.add(lead)
        session.add(event)
    session.flush()
    if moved:
        # The member's new department is written first; the kept leads follow in the same
        # transaction (the owner/department foreign key is checked per statement).
        member.department_id = new_department.id
        session.add(member)
        session.flush()
        for lead in moved:
            lead.owner_id, lead.department_id = member.user_id, new_department.id
            session.add(lead)
        session.flush()
    return len(owned)


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
    *, session: Session, actor: str, name: str, user_id: str, leads_to: str | None = None
) -> tuple[Department, Member, int]:
    """Take a member out of their department (returns it, the member, and how many leads
    were handed over). When they own leads, the caller says where the
    leads go (``leads_to``: another member of the department, or :data:`POOL`); without it
    the removal is refused and nothing changes. One transaction: the member row is locked, and
    their leads are handed over lead by lead (:func:`_hand_over_leads`)."""
    department = find_department(session, name)
    check_user_id(user_id)
    require_manager_or_admin(session, actor, department)
    _lock_members(session, user_id, *([leads_to] if leads_to not in (None, POOL, KEEP) else []))
    member = session.exec(
        select(Member).where(Member.user_id == user_id).execution_options(populate_existing=True)
    ).first()
    if member is None or member.department_id != department.id:
        session.rollback()
        raise NotFound("member_not_in_department", user=user_id, department=department.name)
    if member.role == "manager" and not is_admin(session, actor):
        session.rollback()
        require_admin(session, actor)
    try:
        handed = _hand_over_leads(
            session, actor=actor, member=member, leads_to=leads_to, department=department
        )
    except Exception:
        session.rollback()
        raise
    member.department_id, member.role, member.updated_at = None, None, utcnow()
    session.add(member)
    session.commit()
    return department, member, handed


def move_member(
    *, session: Session, actor: str, user_id: str, name: str, leads_to: str | None = None
) -> tuple[Department, Department | None, Member, int]:
    """``/sales dept move @user <department> [leads to @user|pool|keep]`` (admins): a member
    changes department in one step, keeping their role (someone in no department yet joins as
    a rep). When they own leads the caller says where the leads go: another member of their
    old department, the pool, or :data:`KEEP` (``leads to`` the member themself also means
    keep): the leads move with them to the new department, their expiry unchanged. Returns
    (new department, old department, member, leads handed over)."""
    target = find_department(session, name)
    check_user_id(user_id)
    require_admin(session, actor)
    if leads_to == user_id:
        leads_to = KEEP
    _lock_members(session, user_id, *([leads_to] if leads_to not in (None, POOL, KEEP) else []))
    member = session.exec(
        select(Member).where(Member.user_id == user_id).execution_options(populate_existing=True)
    ).first() or Member(user_id=user_id)
    old = session.get(Department, member.department_id) if member.department_id else None
    if old is not None and old.id == target.id:
        session.rollback()
        raise Conflict("already_in_department", user=user_id, department=target.name)
    handed = 0
    try:
        if old is not None:
            handed = _hand_over_leads(
                session,
                actor=actor,
                member=member,
                leads_to=leads_to,
                department=old,
                new_department=target,
            )
    except Exception:
        session.rollback()
        raise
    member.department_id, member.role = target.id, member.role or "rep"
    member.updated_at = utcnow()
    session.add(member)
    session.commit()
    return target, old, member, handed


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
