"""Row locks: every change of shared state locks the row it read, then reads it again.

A change of a lead (claim, release, transfer, approval, stage, renewal, undo) is one
transaction that first locks the lead's row, reads it as committed now and re-checks its rules
on that reading; a rep's cap and a giver's kudos allowance are counted inside a lock of their
member row. The lock is an ``UPDATE`` of the row, the same statement on both databases:

* on PostgreSQL it takes the row lock (``FOR NO KEY UPDATE``, which leaves foreign-key checks
  of other rows free) until the transaction ends, and the read after it sees every change
  committed before;
* on SQLite it is the transaction's first write, which takes the database's one write lock,
  across threads (:mod:`bot.store.db`) and processes (``busy_timeout``); pysqlite runs the reads
  before it outside any transaction, so the read after it is current too.

Locks are taken member first, then lead, and at most one of each, so two transactions never
wait for each other in a circle. The lead's ``version`` counts its locked changes; the
ownership events a locked change writes get ids in the order their transactions commit, which
is the order ``/lead history`` shows.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from bot.store.models import Lead, Member, utcnow

_LEADS, _MEMBERS = Lead.__table__, Member.__table__
_TOUCH_LEAD = (
    update(_LEADS).where(_LEADS.c.id == bindparam("lead_id")).values(version=_LEADS.c.version + 1)
)
_TOUCH_MEMBER = (
    update(_MEMBERS)
    .where(_MEMBERS.c.user_id == bindparam("member"))
    .values(updated_at=_MEMBERS.c.updated_at)
)


def lock_lead(session: Session, lead_id: int) -> Lead | None:
    """Lock the lead until the transaction ends and return it as committed now (the session's
    object for it, refreshed), or None when it no longer exists."""
    session.execute(_TOUCH_LEAD, {"lead_id": lead_id})
    return session.exec(
        select(Lead).where(Lead.id == lead_id).execution_options(populate_existing=True)
    ).first()


def lock_member(session: Session, user_id: str) -> None:
    """Lock the user's member row until the transaction ends; a user salesbot has not met yet
    gets one, in no department (``/kudos`` from a guest counts against an allowance too)."""
    if session.execute(_TOUCH_MEMBER, {"member": user_id}).rowcount:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    session.execute(
        dialect.insert(_MEMBERS)
        .values(user_id=user_id, is_admin=False, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    session.execute(_TOUCH_MEMBER, {"member": user_id})
