"""Absence (DESIGN.md §9): ``/away`` and the one question routing asks, :func:`is_away`.

Decisions where the design is silent:

- Days are read in the caller's zone (their department's, else the company's), both ends
  included. ``MM-DD`` means the next such day on or after today (for the first day) or on or
  after the first day (for the last day), so ``/away 12-28 01-03`` spans the new year.
- An absence that has already ended cannot be set (nothing would change); a first day in the
  past is kept as given (a rep who forgot to say they were out yesterday).
- One person has one absence at a time: a new ``/away`` replaces (cancels) every absence of
  theirs it overlaps, in one transaction under their member lock; ``/away off`` cancels the
  current and upcoming ones. Cancelled rows stay, with who cancelled them and when, as the
  record of the change (absences are not lead events, so OwnershipEvent does not hold them).
- Protection while away (§9): the extension is applied when the absence is set, as part of
  the same transaction, to every open claim of the person (:func:`_extend_claims`): each
  claim's ``expires_at`` moves later by the absence days that fall between today and its
  expiry day (in the owner's department zone), counting calendar days; days an absence it
  replaces had already added are not added twice. Because the new expiry is stored, ``/lead
  mine``, ``/lead who``, the Home tab and the warnings all show it. Days added are kept when
  the absence is cancelled or shortened (nobody loses a customer for coming back early). A
  claim renewed after ``/away`` (a ``/log``) starts a fresh period and is not extended again;
  the expiry job in turn never returns the lead of an owner who is away that day
  (:func:`hold_until`): it moves the expiry to the day after the absence ends instead.
- The person themselves, the manager of their department, or an admin may set or clear it.
  The cover is anyone but the person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from bot.services.departments import admin_ids, department_of, is_admin, is_manager_of, managers_of
from bot.services.errors import Conflict, InvalidInput, PermissionDenied
from bot.store.locks import lock_member
from bot.store.models import Absence, Lead, Member
from bot.store.prepared import Prepared

_RELATIVE = {"today": 0, "今天": 0, "tomorrow": 1, "明天": 1}
_FULL = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SHORT = re.compile(r"^(\d{1,2})-(\d{1,2})$")
#: The longest absence one ``/away`` sets (a year), so a typo in the year is caught.
MAX_DAYS = 366
NOTE_LIMIT = 400


def looks_like_day(token: str) -> bool:
    """Whether ``token`` is written as a day (it may still be no real date: 02-30)."""
    return token.lower() in _RELATIVE or bool(_FULL.match(token) or _SHORT.match(token))


def parse_day(token: str, after: date) -> date:
    """``YYYY-MM-DD``, ``MM-DD`` (the next one on or after ``after``), ``today``, ``tomorrow``,
    ``今天``, ``明天`` (``today`` being ``after`` for the first day). Raises InvalidInput."""
    word = token.lower()
    try:
        if word in _RELATIVE:
            return after + timedelta(days=_RELATIVE[word])
        if found := _FULL.match(token):
            return date(*(int(part) for part in found.groups()))
        if found := _SHORT.match(token):
            month, day = (int(part) for part in found.groups())
            day_this_year = date(after.year, month, day)
            if day_this_year >= after:
                return day_this_year
            return date(after.year + 1, month, day)
    except ValueError:
        pass
    raise InvalidInput("away.bad_date", token=token)


def _may_set(session: Session, actor: str, user: str) -> bool:
    if actor == user or is_admin(session, actor):
        return True
    department = department_of(session, user)
    return department is not None and is_manager_of(session, actor, department)


def _require_may_set(session: Session, actor: str, user: str) -> None:
    if _may_set(session, actor, user):
        return
    department = department_of(session, user)
    raise PermissionDenied(
        "away.only_manager",
        user=user,
        managers=managers_of(session, department) if department else [],
        admins=admin_ids(session),
    )


def _active(session: Session, user: str, from_day: date) -> list[Absence]:
    """The user's absences not cancelled that end on ``from_day`` or later, soonest first."""
    return list(
        session.exec(
            select(Absence)
            .where(
                Absence.user_id == user,
                col(Absence.cancelled_at).is_(None),
                Absence.last_day >= from_day,
            )
            .order_by(col(Absence.first_day))
        )
    )


@dataclass(frozen=True)
class AwaySet:
    absence: Absence
    #: the absences of the same person this one replaced
    replaced: list[Absence]


def set_away(
    *,
    session: Session,
    actor: str,
    user: str,
    first: date,
    last: date,
    cover: str | None,
    note: str | None,
    today: date,
    now: datetime,
) -> AwaySet:
    """Record that ``user`` is away from ``first`` to ``last``; replaces overlapping ones."""
    _require_may_set(session, actor, user)
    if last < first:
        raise InvalidInput("away.backwards", first=first, last=last)
    if last < today:
        raise InvalidInput("away.past", last=last)
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput("away.too_long", first=first, last=last, limit=MAX_DAYS)
    if cover == user:
        raise InvalidInput("away.cover_self", user=user)
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_LIMIT:
        raise InvalidInput("away.note_too_long", limit=NOTE_LIMIT)
    lock_member(session, user)
    replaced = [
        a for a in _active(session, user, first) if a.first_day <= last and a.last_day >= first
    ]
    for old in replaced:
        old.cancelled_at = now
        old.cancelled_by = actor
        session.add(old)
    absence = Absence(
        user_id=user,
        first_day=first,
        last_day=last,
        cover_id=cover,
        note=note,
        set_by=actor,
        created_at=now,
    )
    session.add(absence)
    _extend_claims(session, user, absence, replaced, today)
    session.commit()
    return AwaySet(absence, replaced)


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def _extend_claims(
    session: Session, user: str, absence: Absence, replaced: list[Absence], today: date
) -> None:
    """Move each open claim of ``user`` later by the new absence days inside its protection
    (today to its expiry day), less the days the replaced absences already added."""
    department = department_of(session, user)
    zone = ZoneInfo(department.timezone if department else "UTC")
    already: set[date] = set()
    for old in replaced:
        already |= _days(old.first_day, old.last_day)
    away_days = _days(absence.first_day, absence.last_day) - already
    claims = session.exec(
        select(Lead).where(
            Lead.owner_id == user,
            Lead.stage != "won",
            col(Lead.expires_at).is_not(None),
            col(Lead.deleted_at).is_(None),
        )
    ).all()
    for lead in claims:
        expires = lead.expires_at
        assert expires is not None
        last_day = expires.astimezone(zone).date()
        inside = sum(1 for day in away_days if today <= day <= last_day)
        if not inside:
            continue
        # conditional: a claim renewed, released or moved meanwhile is left as it now is
        session.execute(
            update(Lead)
            .where(
                col(Lead.id) == lead.id,
                Lead.owner_id == user,
                col(Lead.expires_at) == expires,
            )
            .values(expires_at=expires + timedelta(days=inside), warned_at=None)
        )


def hold_until(session: Session, user: str, now: datetime, zone: str) -> datetime | None:
    """When the owner ``user`` is away on ``now``'s day (in ``zone``): the instant their
    claims may expire at the earliest, the start of the day after the absence ends;
    else None. The expiry job uses it so that no claim runs out while its owner is away."""
    tz = ZoneInfo(zone)
    away = absence_on(session, user, now.astimezone(tz).date())
    if away is None:
        return None
    back = away.last_day + timedelta(days=1)
    return datetime(back.year, back.month, back.day, tzinfo=tz)


def clear_away(
    *, session: Session, actor: str, user: str, today: date, now: datetime
) -> list[Absence]:
    """``/away off``: cancel the user's current and upcoming absences (refused when none)."""
    _require_may_set(session, actor, user)
    lock_member(session, user)
    cleared = _active(session, user, today)
    if not cleared:
        raise Conflict("away.nothing_to_clear", user=user, own=actor == user)
    for absence in cleared:
        absence.cancelled_at = now
        absence.cancelled_by = actor
        session.add(absence)
    session.commit()
    return cleared


def upcoming(session: Session, user: str, today: date) -> list[Absence]:
    """The user's current and upcoming absences, soonest first (``/away`` with no words)."""
    return _active(session, user, today)


_ABSENCES = Absence.__table__
#: Every page that names an owner asks whether they are away (``/lead who``, the Home tab), so
#: this is one prepared read; its row has the columns of :class:`Absence`.
_ABSENCE_ON = Prepared(
    select(*_ABSENCES.columns)
    .where(
        _ABSENCES.c.user_id == bindparam("user_id"),
        _ABSENCES.c.cancelled_at.is_(None),
        _ABSENCES.c.first_day <= bindparam("day"),
        _ABSENCES.c.last_day >= bindparam("day"),
    )
    .limit(1)
)


def absence_on(session: Session, user: str, day: date) -> Any | None:
    """The user's absence covering ``day``, if any (a row with :class:`Absence`'s columns)."""
    return _ABSENCE_ON.first(session.connection(), user_id=user, day=day)


def is_away(session: Session, user: str, day: date) -> bool:
    """Whether ``user`` is away on ``day`` (a day in their department's zone). Routing and
    offers (§8) use this to skip an away rep; it counts calendar days, not working days."""
    return absence_on(session, user, day) is not None


_MEMBERS = Member.__table__
#: Digests and agendas list who is away: one prepared read; rows have :class:`Absence`'s columns.
_AWAY_BETWEEN = Prepared(
    select(*_ABSENCES.columns)
    .join(_MEMBERS, _MEMBERS.c.user_id == _ABSENCES.c.user_id)
    .where(
        _MEMBERS.c.department_id == bindparam("department_id"),
        _ABSENCES.c.cancelled_at.is_(None),
        _ABSENCES.c.first_day <= bindparam("last"),
        _ABSENCES.c.last_day >= bindparam("first"),
    )
    .order_by(_ABSENCES.c.first_day, _ABSENCES.c.user_id)
)


def away_between(session: Session, department_id: int, first: date, last: date) -> list[Any]:
    """The absences of the department's members overlapping ``first``..``last`` (days in its
    zone), by first day then person: the "away" lines of digests and agendas (rows with
    :class:`Absence`'s columns)."""
    return _AWAY_BETWEEN.rows(
        session.connection(), department_id=department_id, first=first, last=last
    )
