"""SQLModel tables for the whole design.

Conventions: every timestamp is an aware ``datetime`` stored in UTC (SQLModel's UTCDateTime:
aware values in, UTC values out, on SQLite and PostgreSQL alike); local time exists only at the
edges, in each department's IANA timezone. Money is
an integer number of cents. Slack ids (users, channels) are stored as given by Slack.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Now, in UTC, as every table stores it."""
    return datetime.now(UTC)


class Setting(SQLModel, table=True):
    """Workspace-wide settings from the setup file (default timezone, locale)."""

    __tablename__ = "setting"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=400)


class Department(SQLModel, table=True):
    __tablename__ = "department"
    #: the ranges ``departments.parse_option`` checks, held by the database (migration 0004)
    __table_args__ = (
        CheckConstraint("claim_days BETWEEN 1 AND 365", name="ck_department_claim_days"),
        CheckConstraint(
            "warn_days >= 0 AND warn_days < claim_days", name="ck_department_warn_days"
        ),
        CheckConstraint("max_leads_per_rep BETWEEN 0 AND 10000", name="ck_department_max_leads"),
        CheckConstraint("accept_minutes BETWEEN 1 AND 1440", name="ck_department_accept_minutes"),
        CheckConstraint(
            "handoff_after_days BETWEEN 0 AND 365", name="ck_department_handoff_after_days"
        ),
        CheckConstraint(
            "handoff_to_id IS NULL OR handoff_to_id <> id", name="ck_department_handoff_not_self"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    #: case-folded name: department names are unique case-insensitively.
    name_key: str = Field(max_length=80, unique=True)
    channel: str | None = Field(default=None, max_length=32)
    timezone: str = Field(default="UTC", max_length=64)
    locale: str = Field(default="en", max_length=8)
    daily_digest: str | None = Field(default="09:00", max_length=16)
    weekly_digest: str | None = Field(default="fri 17:00", max_length=16)
    meeting: str | None = Field(default=None, max_length=16)
    claim_days: int = 14
    warn_days: int = 3
    max_leads_per_rep: int = 200
    #: public-holiday calendar, ``"CN"`` or ``"US-CA"`` (``bot.workdays``); None: weekends only
    holidays: str | None = Field(default=None, max_length=16)
    #: the department's own days off and working days: ISO dates separated by commas
    extra_holidays: str | None = Field(default=None, sa_type=Text)
    extra_workdays: str | None = Field(default=None, sa_type=Text)
    #: how long an offer waits for its rep, in working minutes (DESIGN §8, migration 0008)
    accept_minutes: int = Field(default=15, sa_column_kwargs={"server_default": "15"})
    #: the working hours the routing clock counts, ``"09:00-18:00"`` (local time)
    work_hours: str = Field(
        default="09:00-18:00", max_length=11, sa_column_kwargs={"server_default": "09:00-18:00"}
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    #: ``[department.territory]`` of the setup file as JSON (migration 0005); None: none
    territory: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: where this department's won customers are handed off to (DESIGN §10, migration 0010);
    #: None: they stay with the rep who won them
    handoff_to_id: int | None = Field(
        default=None, foreign_key="department.id", ondelete="SET NULL"
    )
    #: days from a win to its handoff falling due (0: at once)
    handoff_after_days: int = Field(default=7, sa_column_kwargs={"server_default": "7"})


class Member(SQLModel, table=True):
    """A Slack user known to salesbot: in at most one department, as rep or manager."""

    __tablename__ = "member"
    #: the target of the lead's (owner, department) foreign key
    __table_args__ = (
        UniqueConstraint("user_id", "department_id", name="uq_member_user_department"),
    )
    user_id: str = Field(primary_key=True, max_length=32)
    department_id: int | None = Field(
        default=None, foreign_key="department.id", index=True, ondelete="SET NULL"
    )
    #: "rep" or "manager" within the department; None when in no department.
    role: str | None = Field(default=None, max_length=16)
    is_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Lead(SQLModel, table=True):
    """A customer. Each of its two keys is unique: a claim matching either is the same customer.

    The owner is a member of the lead's department, and a lead has an owner exactly when it
    has a department: the database holds both rules (migration 0002).
    """

    __tablename__ = "lead"
    __table_args__ = (
        Index("ix_lead_owner_expires", "owner_id", "expires_at"),
        Index("ix_lead_department_stage", "department_id", "stage"),
        ForeignKeyConstraint(
            ["owner_id", "department_id"],
            ["member.user_id", "member.department_id"],
            name="fk_lead_owner_member",
        ),
        CheckConstraint(
            "(owner_id IS NULL) = (department_id IS NULL)", name="ck_lead_owner_department"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_key: str = Field(max_length=200, unique=True)
    domain: str | None = Field(default=None, max_length=253, unique=True)
    owner_id: str | None = Field(default=None, max_length=32)
    department_id: int | None = Field(
        default=None, foreign_key="department.id", index=True, ondelete="SET NULL"
    )
    stage: str = Field(default="new", max_length=16)
    amount_cents: int | None = Field(default=None, sa_type=BigInteger)
    lost_reason: str | None = Field(default=None, max_length=400)
    claimed_at: datetime | None = None
    stage_changed_at: datetime | None = None
    last_activity_at: datetime | None = None
    expires_at: datetime | None = Field(default=None, index=True)
    warned_at: datetime | None = None
    #: counts the locked changes of this row (bot.store.locks)
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    #: set when the lead was retired (merged or deleted, migration 0003): it keeps its audit
    #: trail but no list, report or check shows it, and its keys were freed.
    deleted_at: datetime | None = None
    #: the lead a merged lead lives on as
    merged_into_id: int | None = None
    #: territory attributes (migration 0005); None is unknown
    employees: int | None = None
    country: str | None = Field(default=None, max_length=2)
    industry: str | None = Field(default=None, max_length=80)


class OwnershipEvent(SQLModel, table=True):
    """The audit trail: every change of owner, department or stage, in ``id`` order, which is
    the order their transactions committed (each is written inside its lead's lock)."""

    __tablename__ = "ownership_event"
    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: str | None = Field(default=None, max_length=32)
    #: claim, release, transfer, expire, stage, won, lost
    action: str = Field(max_length=16)
    from_owner: str | None = Field(default=None, max_length=32)
    to_owner: str | None = Field(default=None, max_length=32)
    from_department_id: int | None = None
    to_department_id: int | None = None
    from_stage: str | None = Field(default=None, max_length=16)
    to_stage: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=400)


class ClaimConflict(SQLModel, table=True):
    """A claim refused because another rep owns the customer (counted in weekly digests)."""

    __tablename__ = "claim_conflict"
    __table_args__ = (Index("ix_claim_conflict_department_at", "department_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE")
    user_id: str = Field(max_length=32)
    department_id: int | None = None
    owner_department_id: int | None = None
    at: datetime = Field(default_factory=utcnow)


class Activity(SQLModel, table=True):
    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_department_at", "department_id", "occurred_at"),
        Index("ix_activity_user_at", "user_id", "occurred_at"),
        Index("ix_activity_lead", "lead_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32)
    department_id: int | None = Field(
        default=None, foreign_key="department.id", ondelete="SET NULL"
    )
    lead_id: int | None = Field(default=None, foreign_key="lead.id", ondelete="SET NULL")
    #: call, visit, demo, email, meeting, proposal, other
    kind: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text))
    occurred_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    #: this activity's /log created its lead: /log undo removes the lead too (migration 0003)
    #: (a server default only: prepared inserts that leave it out store false, not NULL)
    created_lead: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class Target(SQLModel, table=True):
    """A goal for a department (user_id empty) or a rep, per metric and period kind."""

    __tablename__ = "target"
    __table_args__ = (
        UniqueConstraint("department_id", "user_id", "metric", "period", name="uq_target_scope"),
    )
    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id", index=True, ondelete="CASCADE")
    #: "" for a department target (an empty string keeps the unique constraint effective).
    user_id: str = Field(default="", max_length=32)
    #: revenue (cents), wins, activities, new-leads
    metric: str = Field(max_length=16)
    #: week, month, quarter
    period: str = Field(max_length=8)
    value: int = Field(sa_type=BigInteger)
    set_by: str | None = Field(default=None, max_length=32)
    updated_at: datetime = Field(default_factory=utcnow)


class Kudos(SQLModel, table=True):
    __tablename__ = "kudos"
    __table_args__ = (
        Index("ix_kudos_giver_at", "giver_id", "created_at"),
        Index("ix_kudos_department_at", "department_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    giver_id: str = Field(max_length=32)
    recipient_id: str = Field(max_length=32, index=True)
    department_id: int | None = Field(
        default=None, foreign_key="department.id", ondelete="SET NULL"
    )
    message: str = Field(sa_column=Column(Text, nullable=False))
    value: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow)


class Feedback(SQLModel, table=True):
    """Private coaching from a manager to one rep."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_recipient_at", "recipient_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    author_id: str = Field(max_length=32)
    recipient_id: str = Field(max_length=32)
    message: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class TransferRequest(SQLModel, table=True):
    __tablename__ = "transfer_request"
    #: one pending request per lead
    __table_args__ = (
        Index(
            "uq_transfer_request_pending",
            "lead_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    from_user: str = Field(max_length=32)
    to_user: str = Field(max_length=32)
    requested_by: str = Field(max_length=32)
    #: pending, approved, rejected, cancelled
    status: str = Field(default="pending", max_length=16, index=True)
    decided_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class Outbox(SQLModel, table=True):
    """A post to Slack, keyed ``job:department:period``; the unique key makes it exactly-once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=32)
    #: {"text": ..., "blocks": [...]} and, for a file, {"file": {...}}
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=400)
    created_at: datetime = Field(default_factory=utcnow)
    #: where the message landed (a DM's conversation id) and its ``ts``, once sent: a later
    #: row whose payload holds ``{"update": <key>}`` edits it (migration 0008)
    posted_channel: str | None = Field(default=None, max_length=32)
    posted_ts: str | None = Field(default=None, max_length=32)


class ProcessedEvent(SQLModel, table=True):
    """Events Slack delivered, by event_id: a re-delivery is recognised and skipped."""

    __tablename__ = "processed_event"
    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = Field(default_factory=utcnow, index=True)


class Absence(SQLModel, table=True):
    """``/away``: the person is away from ``first_day`` to ``last_day`` (both included, days in
    their department's zone); ``cover_id`` stands in for them. A new absence replaces (cancels)
    the person's absences it overlaps; cancelled rows stay as the record (migration 0007)."""

    __tablename__ = "absence"
    __table_args__ = (
        CheckConstraint("last_day >= first_day", name="ck_absence_days"),
        CheckConstraint(
            "cover_id IS NULL OR cover_id <> user_id", name="ck_absence_cover_not_self"
        ),
        Index("ix_absence_user_last_day", "user_id", "last_day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32)
    first_day: date
    last_day: date
    cover_id: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=400)
    set_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    cancelled_at: datetime | None = None
    cancelled_by: str | None = Field(default=None, max_length=32)


class Routing(SQLModel, table=True):
    """One lead on its way to an owner through a department's rotation (DESIGN §8, §10).

    ``status``: ``offering`` (an offer is open), ``waiting`` (every available rep passed or
    timed out, or nobody was available: the lead waits in the pool for a manager), then one
    of ``accepted``, ``assigned`` (by a manager), ``claimed`` (someone claimed the customer)
    or ``cancelled`` (the lead was retired). A lead has at most one routing that is not
    settled; the database holds it.
    """

    __tablename__ = "routing"
    __table_args__ = (
        Index(
            "uq_routing_open_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("status IN ('offering', 'waiting')"),
            postgresql_where=text("status IN ('offering', 'waiting')"),
        ),
        Index("ix_routing_department_started", "department_id", "started_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    #: the department whose rotation it goes through; None: no department, straight to the pool
    department_id: int | None = Field(
        default=None, foreign_key="department.id", ondelete="SET NULL"
    )
    #: "new" (intake, /lead new, the shortcut) or "handoff" (§10)
    kind: str = Field(default="new", max_length=16)
    #: where the lead came from: a token's name, "slack", a handoff's department
    source: str = Field(max_length=100)
    status: str = Field(default="offering", max_length=16, index=True)
    started_at: datetime = Field(default_factory=utcnow)
    settled_at: datetime | None = None
    settled_by: str | None = Field(default=None, max_length=32)
    #: who became the owner, and after how many working minutes (speed to lead)
    owner_id: str | None = Field(default=None, max_length=32)
    working_minutes: int | None = None
    #: what came with the lead (contact name, email, phone, note; a handoff's note)
    details: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Offer(SQLModel, table=True):
    """One rep offered one routed lead: ``open`` until ``accepted``, ``passed``, ``timed_out``
    (``due_at`` passed, in working time), ``withdrawn`` (the rep went away, or the lead was
    settled another way). One open offer per routing; the database holds it."""

    __tablename__ = "offer"
    __table_args__ = (
        Index(
            "uq_offer_open_routing",
            "routing_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_offer_status_due", "status", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    routing_id: int = Field(foreign_key="routing.id", index=True, ondelete="CASCADE")
    user_id: str = Field(max_length=32, index=True)
    status: str = Field(default="open", max_length=16)
    offered_at: datetime = Field(default_factory=utcnow)
    due_at: datetime
    settled_at: datetime | None = None


class RotationTurn(SQLModel, table=True):
    """When each rep was last offered a lead in their department's rotation: ``turn`` is the
    department's offer count at that offer, so the rep with the lowest turn (or none) goes
    next. Only written under the department's row lock."""

    __tablename__ = "rotation_turn"
    department_id: int = Field(foreign_key="department.id", primary_key=True, ondelete="CASCADE")
    user_id: str = Field(primary_key=True, max_length=32)
    turn: int = Field(default=0, sa_type=BigInteger)


class ApiToken(SQLModel, table=True):
    """A token for ``POST /api/leads`` (DESIGN §8): only its SHA-256 is kept; ``name`` is the
    default ``source`` of the leads it sends. Revoked tokens keep their row (migration 0009)."""

    __tablename__ = "api_token"
    __table_args__ = (
        UniqueConstraint("name", name="uq_api_token_name"),
        UniqueConstraint("token_hash", name="uq_api_token_hash"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=64)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class Intake(SQLModel, table=True):
    """The answer ``POST /api/leads`` gave for one ``external_id`` of one token: the same
    ``external_id`` again gets it again and creates nothing (migration 0009)."""

    __tablename__ = "intake"
    __table_args__ = (
        UniqueConstraint("token_id", "external_id", name="uq_intake_token_external_id"),
        ForeignKeyConstraint(["token_id"], ["api_token.id"], name="fk_intake_token"),
    )
    id: int | None = Field(default=None, primary_key=True)
    token_id: int
    external_id: str = Field(max_length=100)
    lead_id: int | None = None
    status_code: int
    answer: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Handoff(SQLModel, table=True):
    """A won customer on its way from the department that won it (the hunter's) to the one
    that keeps it (DESIGN §10, migration 0010).

    ``status``: ``due`` (waiting for ``due_at``), ``offered`` (its routing, ``routing_id``, goes
    through the target department's rotation), ``done`` (``to_owner`` accepted or was
    assigned it at ``done_at``) or ``cancelled`` (the deal was reopened or lost, or the lead
    retired). ``note`` is the hunter's handoff note: ``key_contacts``, ``commitments``,
    ``risks``, ``next_step``. A lead has at most one open (due or offered) handoff; the
    database holds it."""

    __tablename__ = "handoff"
    __table_args__ = (
        Index(
            "uq_handoff_open_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("status IN ('due', 'offered')"),
            postgresql_where=text("status IN ('due', 'offered')"),
        ),
        Index("ix_handoff_status_due", "status", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    from_department_id: int | None = Field(
        default=None, foreign_key="department.id", ondelete="SET NULL"
    )
    from_owner: str | None = Field(default=None, max_length=32)
    to_department_id: int | None = Field(
        default=None, foreign_key="department.id", ondelete="SET NULL"
    )
    won_at: datetime
    due_at: datetime
    note: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default="due", max_length=16)
    routing_id: int | None = Field(default=None, foreign_key="routing.id", ondelete="SET NULL")
    done_at: datetime | None = None
    to_owner: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
