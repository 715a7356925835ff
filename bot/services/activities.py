"""Logging sales activities (DESIGN §4 ``/log``).

* The caller must be in a department. The customer is found by either key (longest leading
  run of words that names a known lead; the rest is the note). For a customer not known yet
  the first word is the company (quote a name of several words: ``/log call "Acme Corp" …``)
  or everything before `` - `` / ``:``. An unknown customer is never created silently (a typo
  or a note run into the name would become a fake customer others can claim): the reply
  proposes it with a button "Add <company> as a new lead and log" that carries the kind, the
  company, the note and the day, and :func:`claim_and_log` then claims it for the caller and
  logs in one transaction. The modal's "New: …" option is that explicit choice already.
* A note is at most :data:`MAX_NOTE` characters: a longer one is refused with the limit,
  never cut. A note typed in the command reads as the user typed it (Slack's ``&amp;``,
  ``<@U…|name>`` and ``<http://x|x>`` are turned back, as ``/kudos`` does), so the reply, the
  digest and the CSV export show the words, not Slack's markup.
* Every activity on a lead, by anyone, sets the lead's last-activity time.
* A customer owned by another department is refused, naming the owner. One owned by a
  teammate in the caller's department is logged (helping on a deal is normal) but only the
  owner's own activity renews the claim.
* ``undo`` removes the caller's most recent activity if it was logged less than 10 minutes
  ago, and puts the claim's protection back to what the remaining activities give. When that
  log created the lead (the Add button or the modal's "New: …"), the lead goes too, if
  nobody has touched it since: it is still the caller's, unchanged (no locked change since,
  see :mod:`bot.store.locks`), with no other activity, request or refused claim on it.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert
from sqlmodel import Session, col, select

from bot.services import leads
from bot.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from bot.services.names import Company, looks_like_domain, split_company
from bot.services.text import free_text
from bot.store.locks import lock_lead
from bot.store.models import (
    Activity,
    ClaimConflict,
    Department,
    Lead,
    OwnershipEvent,
    TransferRequest,
)
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
#: Slack keeps at most this many characters of a button's value.
MAX_BUTTON_VALUE = 2000
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


def checked_note(note: str | None) -> str | None:
    """The note as stored: stripped, None when empty; refused (never cut) when too long."""
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput("log.note_too_long", limit=MAX_NOTE, length=len(note), block="note")
    return note or None


@dataclass(frozen=True)
class NewCustomer:
    """``/log`` named a customer nobody has yet: what the Add button carries."""

    kind: str
    company: Company
    note: str | None
    on: date | None

    @property
    def value(self) -> str:
        """The button's value: JSON without ``|`` (the marker's separator) or a newline."""
        data = {"k": self.kind, "c": self.company.name, "n": self.note, "d": None}
        if self.company.domain:
            data["c"] = f"{self.company.name} {self.company.domain}"
        if self.on is not None:
            data["d"] = self.on.isoformat()
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("|", "\\u007c")

    @staticmethod
    def parse(value: str) -> NewCustomer:
        try:
            data = json.loads(value)
            company = leads.company_of(str(data["c"]).split())
            on = date.fromisoformat(data["d"]) if data.get("d") else None
            return NewCustomer(kind=str(data["k"]), company=company, note=data.get("n"), on=on)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InvalidInput("log.usage") from None


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
        if lead is None or lead.deleted_at is not None:
            raise NotFound("lead.not_found", name=str(lead_id), suggestions=[], block="company")
        return lead, None
    if company is not None:
        named = leads.company_of(company.split(), block="company", session=session)
        return leads.row_by_keys(session, named) or named, None
    if not words:
        raise InvalidInput("log.usage", block="company")
    found, typed_note = _split(session, words)
    return found, free_text(typed_note)


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
) -> Logged | NewCustomer:
    """Record one activity on a customer given as ``words`` (what followed the kind in the
    command: company then note), as ``company`` (a whole name, from the modal) or as
    ``lead_id``. A customer nobody has yet is not created: the answer is a
    :class:`NewCustomer` to propose (the command) or, from the modal, where "New: …" was
    chosen, it is claimed and logged at once (:func:`claim_and_log`).

    /log is the command reps type most: the lead is read as a row, the activity is one plain
    INSERT and the renewal one UPDATE, with no ORM object loaded or flushed.
    """
    _member, department = leads.require_department(session, actor)
    kind = kind_of(kind)
    lead, typed_note = _lead_of(session, words=words, company=company, lead_id=lead_id, now=now)
    note = checked_note(note or typed_note)
    if isinstance(lead, Company):
        if company is not None:
            try:
                return claim_and_log(
                    session, actor=actor, kind=kind, company=lead, note=note, on=on, now=now
                )
            except ServiceError as error:  # the modal shows it on the company (the rep's cap)
                error.block = error.block or "company"
                raise
        _occurred_at(on, department, now)
        new = NewCustomer(kind=kind, company=lead, note=note, on=on)
        if len(new.value) > MAX_BUTTON_VALUE:
            raise InvalidInput("log.new_too_long", company=lead.name, kind=kind)
        return new
    if lead.owner_id and lead.owner_id != actor and lead.department_id != department.id:
        raise Conflict(
            "log.owned_elsewhere",
            lead=lead.name,
            owner=lead.owner_id,
            department=lead.department_name,
            block="company",
        )
    occurred = _occurred_at(on, department, now)
    activity = _insert_activity(
        session, actor, department.id, lead.id, kind, note, occurred, now, created_lead=False
    )
    lead, renewed = leads.renew(session, lead, actor, occurred)
    session.commit()
    return Logged(
        activity=activity,
        lead=leads.LeadView(lead=lead, department_name=lead.department_name),
        renewed=renewed,
    )


def claim_and_log(
    session: Session,
    *,
    actor: str,
    kind: str,
    company: Company,
    note: str | None,
    on: date | None,
    now: datetime,
) -> Logged:
    """The Add button (and the modal's "New: …"): claim the new customer for the caller and
    log the activity, in one transaction: :func:`leads.claim` (the one claim path: the
    caller's member lock, the cap, the territory) writes the activity before it commits. If
    the customer appeared meanwhile (someone claimed it, or it is in the pool), nothing is
    created: the activity is logged on that lead as ``/log`` would, with its refusal when it
    belongs to another department. (When it appeared between this look-up and the claim,
    the claim sees it first: a lead of the pool is claimed, then logged on; an owned one is
    counted as a refused claim, as the caller did try to claim it, then logged on.)"""
    kind = kind_of(kind)
    note = checked_note(note)
    _member, department = leads.require_department(session, actor)
    occurred = _occurred_at(on, department, now)
    if leads.by_keys(session, company) is None:
        written: list[NewActivity] = []

        def write_activity(session: Session, lead: Lead) -> None:
            claimant = session.get(Department, lead.department_id)
            assert claimant is not None  # the claim's department, read in its lock
            lead.last_activity_at = occurred
            lead.expires_at = leads.expiry(claimant.claim_days, max(now, occurred))
            session.add(lead)
            written.append(
                _insert_activity(
                    session,
                    actor,
                    claimant.id,
                    lead.id,
                    kind,
                    note,
                    occurred,
                    now,
                    created_lead=True,
                )
            )

        words = [company.name, *([company.domain] if company.domain else [])]
        try:
            claimed = leads.claim(
                session,
                actor=actor,
                words=words,
                now=now,
                company=company,
                before_commit=write_activity,
            )
        except Conflict as refused:  # it appeared meanwhile, owned: log on it instead
            if refused.template not in ("lead.owned", "lead.already_yours"):
                raise
        else:
            if written:
                session.refresh(claimed.lead)
                return Logged(
                    activity=written[0],
                    lead=leads.LeadView(lead=claimed.lead, department_name=claimed.department.name),
                    renewed=True,
                )
    session.commit()
    logged = log(
        session,
        actor=actor,
        kind=kind,
        company=f"{company.name} {company.domain or ''}".strip(),
        note=note,
        on=on,
        now=now,
    )
    assert isinstance(logged, Logged)  # the customer exists now
    return logged


def problems(
    session: Session,
    *,
    actor: str,
    kind: str | None,
    company: str | None,
    lead_id: int | None,
    note: str | None,
    on: date | None,
    now: datetime,
) -> list[ServiceError]:
    """Everything wrong with a modal submission, one error per field (``block``), so the
    modal shows them all at once instead of the first. Nothing is written."""
    _member, department = leads.require_department(session, actor)
    found: list[ServiceError] = []

    def check(block: str, test) -> None:  # type: ignore[no-untyped-def]
        try:
            test()
        except ServiceError as error:
            error.block = error.block or block
            found.append(error)

    def check_company() -> None:
        lead, _note = _lead_of(session, words=None, company=company, lead_id=lead_id, now=now)
        if isinstance(lead, Company):
            return
        if lead.owner_id and lead.owner_id != actor and lead.department_id != department.id:
            raise Conflict(
                "log.owned_elsewhere",
                lead=lead.name,
                owner=lead.owner_id,
                department=lead.department_name,
                block="company",
            )

    if kind:
        check("kind", lambda: kind_of(kind))
    if company or lead_id is not None:
        check("company", check_company)
    check("note", lambda: checked_note(note))
    check("date", lambda: _occurred_at(on, department, now))
    return found


_INSERT_ACTIVITY = PreparedWrite(
    insert(Activity.__table__).values({key: bindparam(key) for key in NewActivity._fields})
)


def _insert_activity(
    session: Session,
    actor: str,
    department_id: int,
    lead_id: int,
    kind: str,
    note: str | None,
    occurred: datetime,
    now: datetime,
    *,
    created_lead: bool,
) -> NewActivity:
    """Write one activity (one prepared insert) and return what was written."""
    activity = NewActivity(
        user_id=actor,
        department_id=department_id,
        lead_id=lead_id,
        kind=kind,
        note=note,
        occurred_at=occurred,
        created_at=now,
        created_lead=created_lead,
    )
    _INSERT_ACTIVITY.run(session.connection(), **activity._asdict())
    return activity


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
    #: the lead was created by that log, untouched since, and removed with it
    lead_removed: bool = False


def _untouched_since_created(session: Session, lead: Lead, actor: str) -> bool:
    """Nobody but the log that created ``lead`` has touched it: still the caller's and open,
    one locked change only (ours, now), its claim the only line of its history, and no other
    activity, request or refused claim on it."""
    if lead.owner_id != actor or lead.deleted_at is not None or lead.version != 1:
        return False
    for model in (Activity, ClaimConflict, TransferRequest):
        if session.exec(
            select(func.count()).select_from(model).where(model.lead_id == lead.id)
        ).one():
            return False
    events = session.exec(
        select(OwnershipEvent.action).where(OwnershipEvent.lead_id == lead.id)
    ).all()
    return list(events) == ["claim"]


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
    if lead is not None and last.created_lead and _untouched_since_created(session, lead, actor):
        session.execute(delete(OwnershipEvent).where(col(OwnershipEvent.lead_id) == lead.id))
        session.execute(delete(Lead).where(col(Lead.id) == lead.id))
        session.commit()
        return Undone(activity=last, lead=lead, lead_removed=True)
    if lead is not None:
        # Any activity sets the last-activity time: it is what the remaining ones give.
        lead.last_activity_at = session.exec(
            select(func.max(Activity.occurred_at)).where(Activity.lead_id == lead.id)
        ).one()
    if lead is not None and lead.owner_id == actor and lead.stage != "won":
        remaining = session.exec(
            select(func.max(Activity.occurred_at)).where(
                Activity.lead_id == lead.id, Activity.user_id == actor
            )
        ).one()
        department = session.get(Department, lead.department_id) if lead.department_id else None
        if department is not None and lead.claimed_at is not None:
            since = max(lead.claimed_at, remaining) if remaining else lead.claimed_at
            lead.expires_at = leads.expiry(department.claim_days, since)
    if lead is not None:
        session.add(lead)
    session.commit()
    return Undone(activity=last, lead=lead)


def suggestions(session: Session, *, actor: str, query: str, limit: int = 20) -> list[Lead]:
    """The caller's leads whose name starts like ``query`` (the modal's type-ahead)."""
    statement = select(Lead).where(Lead.owner_id == actor, col(Lead.deleted_at).is_(None))
    words = query.split()
    company = split_company(words) if words else None
    if company is not None:
        statement = statement.where(col(Lead.name_key).startswith(company.key))
    return list(session.exec(statement.order_by(col(Lead.name_key)).limit(limit)).all())
