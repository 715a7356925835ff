"""Logging sales activities (DESIGN §4 ``/log``).

* The caller must be in a department. The customer is found by either key (longest leading
  run of words that names a known lead; the rest is the note). For a customer not known yet
  the first word is the company (quote a name of several words: ``/log call "Acme Corp" …``)
  or everything before `` - `` / ``:``; the customer is then created in the pool so the reply
  can offer a Claim button.
* A customer owned by another department is refused, naming the owner. One owned by a
  teammate in the caller's department is logged (helping on a deal is normal) but only the
  owner's own activity renews the claim.
* ``undo`` removes the caller's most recent activity if it was logged less than 10 minutes
  ago, and puts the claim's protection back to what the remaining activities give.
"""

from __future__ import annotations

import re
from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services import leads
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.names import Company, looks_like_domain, split_company
from bot.store.locks import lock_lead
from bot.store.models import Activity, Department, Lead
from bot.store.prepared import PreparedWrite

KINDS = ("call", "visit", "demo", "email", "meeting", "proposal", "other")
CHINESE_KINDS = {
    "电话": "call",
    "拜访": "visit",
    "演示": "demo",
    "邮件": "email",
    "会议": "meeting",
    "方案": "proposal",
    "其他": "other",
}
UNDO_WINDOW = timedelta(minutes=10)
MAX_NOTE = 2000
MAX_BACKDATE = timedelta(days=90)
_SEPARATOR = re.compile(r"\s+[-–—:：]\s*|[:：]\s*")


def kind_of(word: str) -> str:
    folded = word.strip().casefold()
    kind = CHINESE_KINDS.get(folded, folded)
    if kind not in KINDS:
        raise InvalidInput("log.bad_kind", given=word, kinds=KINDS, block="kind")
    return kind


#: A logged activity as the reply shows it: the values inserted (the id is not read back).
NewActivity = namedtuple(  # type: ignore[misc]
    "NewActivity", [column.key for column in Activity.__table__.columns if column.key != "id"]
)


@dataclass(frozen=True)
class Logged:
    activity: NewActivity
    lead: leads.LeadView
    renewed: bool


def _split(session: Session, words: list[str]) -> tuple[Any, str]:
    """The known lead (a row) or, when it is new, the company as typed; and the note."""
    found = leads.lookup_row(session, words)
    if found is not None:
        lead, rest = found
        return lead, " ".join(rest)
    parts = _SEPARATOR.split(" ".join(words), maxsplit=1)
    if len(parts) == 2 and parts[0].strip():
        head, note = parts[0].split(), parts[1]
    elif len(words) > 1 and looks_like_domain(words[1]):
        head, note = words[:2], " ".join(words[2:])
    else:
        head, note = words[:1], " ".join(words[1:])
    return leads.company_of(head, session=session), note


def _pool_lead(session: Session, company: Company, now: datetime) -> Any:
    """The customer as a row: an unowned lead created in the pool when new."""
    session.add(
        Lead(
            name=company.name,
            name_key=company.key,
            domain=company.domain,
            stage="new",
            created_at=now,
            updated_at=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:  # created meanwhile by someone else: theirs is the one
        session.rollback()
        found = leads.row_by_keys(session, company)
        if found is None:
            raise
        return found
    return leads.row_by_keys(session, company)


def _lead_of(
    session: Session,
    *,
    words: list[str] | None,
    company: str | None,
    lead_id: int | None,
    now: datetime,
) -> tuple[Any, str | None]:
    """The lead an activity is about, as a row, and the note typed after its name."""
    if lead_id is not None:
        lead = leads.row_by_id(session, lead_id)
        if lead is None:
            raise NotFound("lead.not_found", name=str(lead_id), suggestions=[], block="company")
        return lead, None
    if company is not None:
        named = leads.company_of(company.split(), block="company", session=session)
        return leads.row_by_keys(session, named) or _pool_lead(session, named, now), None
    if not words:
        raise InvalidInput("log.usage", block="company")
    found, typed_note = _split(session, words)
    if isinstance(found, Company):
        found = _pool_lead(session, found, now)
    return found, typed_note


def log(
    session: Session,
    *,
    actor: str,
    kind: str,
    words: list[str] | None = None,
    company: str | None = None,
    lead_id: int | None = None,
    note: str | None = None,
    on: date | None = None,
    now: datetime,
) -> Logged:
    """Record one activity on a customer given as ``words`` (what followed the kind in the
    command: company then note), as ``company`` (a whole name, from the modal) or as
    ``lead_id``.

    /log is the command reps type most: the lead is read as a row, the activity is one plain
    INSERT and the renewal one UPDATE, with no ORM object loaded or flushed.
    """
    _member, department = leads.require_department(session, actor)
    kind = kind_of(kind)
    lead, typed_note = _lead_of(session, words=words, company=company, lead_id=lead_id, now=now)
    note = note or typed_note
    if lead.owner_id and lead.owner_id != actor and lead.department_id != department.id:
        raise Conflict(
            "log.owned_elsewhere",
            lead=lead.name,
            owner=lead.owner_id,
            department=lead.department_name,
            block="company",
        )
    occurred = _occurred_at(on, department, now)
    activity = NewActivity(
        user_id=actor,
        department_id=department.id,
        lead_id=lead.id,
        kind=kind,
        note=(note or "").strip()[:MAX_NOTE] or None,
        occurred_at=occurred,
        created_at=now,
    )
    _INSERT_ACTIVITY.run(session.connection(), **activity._asdict())
    lead, renewed = leads.renew(session, lead, actor, occurred)
    session.commit()
    return Logged(
        activity=activity,
        lead=leads.LeadView(lead=lead, department_name=lead.department_name),
        renewed=renewed,
    )


_INSERT_ACTIVITY = PreparedWrite(
    insert(Activity.__table__).values({key: bindparam(key) for key in NewActivity._fields})
)


def _occurred_at(on: date | None, department: Department, now: datetime) -> datetime:
    """Now, or noon of the chosen day in the department's zone (never in the future)."""
    if on is None:
        return now
    zone = ZoneInfo(department.timezone)
    today = now.astimezone(zone).date()
    if on > today:
        raise InvalidInput("log.future_date", given=on, block="date")
    if on < today - MAX_BACKDATE:
        raise InvalidInput("log.old_date", given=on, days=MAX_BACKDATE.days, block="date")
    if on == today:
        return now
    return datetime.combine(on, time(12), tzinfo=zone).astimezone(now.tzinfo)


@dataclass(frozen=True)
class Undone:
    activity: Activity
    lead: Lead | None


def undo(session: Session, *, actor: str, now: datetime) -> Undone:
    last = session.exec(
        select(Activity)
        .where(Activity.user_id == actor)
        .order_by(col(Activity.created_at).desc(), col(Activity.id).desc())
        .limit(1)
    ).first()
    if last is None or last.created_at < now - UNDO_WINDOW:
        raise Conflict("log.nothing_to_undo", minutes=int(UNDO_WINDOW.total_seconds() // 60))
    # The lead is locked first, and read as committed now: its owner may have changed.
    lead = lock_lead(session, last.lead_id) if last.lead_id else None
    session.delete(last)
    session.flush()
    if lead is not None and lead.owner_id == actor and lead.stage != "won":
        remaining = session.exec(
            select(func.max(Activity.occurred_at)).where(
                Activity.lead_id == lead.id, Activity.user_id == actor
            )
        ).one()
        department = session.get(Department, lead.department_id) if lead.department_id else None
        lead.last_activity_at = remaining
        if department is not None and lead.claimed_at is not None:
            since = max(lead.claimed_at, remaining) if remaining else lead.claimed_at
            lead.expires_at = leads.expiry(department.claim_days, since)
        session.add(lead)
    session.commit()
    return Undone(activity=last, lead=lead)


def suggestions(session: Session, *, actor: str, query: str, limit: int = 20) -> list[Lead]:
    """The caller's leads whose name starts like ``query`` (the modal's type-ahead)."""
    statement = select(Lead).where(Lead.owner_id == actor)
    words = query.split()
    company = split_company(words) if words else None
    if company is not None:
        statement = statement.where(col(Lead.name_key).startswith(company.key))
    return list(session.exec(statement.order_by(col(Lead.name_key)).limit(limit)).all())
