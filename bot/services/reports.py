"""What digests, agendas and reports say: set-based aggregates over one department's history.

Every figure here is one SQL statement with ``GROUP BY`` (or ``COUNT``/``SUM``) bounded by an
indexed time window, and every list is a ``LIMIT`` query plus a count, so building a digest
costs the same whether the store holds a thousand activities or a million. Nothing here loops
over history in Python.

The functions return plain dataclasses; the templates turn them into words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    union_all,
)
from sqlmodel import Session, col, select

from bot import workdays
from bot.periods import (
    MAX_SPAN_DAYS,
    PERIODS,
    BadSpan,
    Period,
    local_date,
    looks_like_span,
    period,
    span,
    window,
)
from bot.services import handoffs, targets
from bot.services.departments import (
    STAGE_WEIGHT_DEFAULTS,
    department_of,
    find_department,
    stage_weights,
)
from bot.services.errors import InvalidInput, NotFound
from bot.store.models import (
    Activity,
    ClaimConflict,
    Department,
    Kudos,
    Lead,
    Member,
    Offer,
    OwnershipEvent,
    Routing,
    Target,
    TransferRequest,
)

KINDS = ("call", "visit", "demo", "email", "meeting", "proposal", "other")
#: Stages a deal can be stuck in (new leads are stale, not stuck; won and lost are closed).
OPEN_STAGES = ("contacted", "qualified", "proposal", "negotiation")
CLOSED_STAGES = ("won", "lost")
#: How many items a list shows before "and N more".
LIST_LIMIT = 10
#: How many reps a per-rep table shows before "and N more".
REP_LIMIT = 20
STALE_AFTER = timedelta(days=7)
STUCK_AFTER = timedelta(days=7)
REPORT_PERIODS = ("today", "yesterday", "week", "last-week", "month", "quarter")
#: Words people type for a period, in any command that takes one: a word from here that is
#: not a choice of that command is answered with the choices, not taken for a department.
PERIOD_WORDS = frozenset(
    {
        *PERIODS,
        *("daily", "weekly", "monthly", "quarterly", "yearly", "annual", "annually"),
        *("day", "year", "tomorrow", "fortnight", "all", "ytd", "mtd", "qtd"),
        *("this-week", "this-month", "this-quarter", "this-year", "last-month"),
        *("last-quarter", "last-year", "lastweek", "lastmonth", "last_week", "last_month"),
        *("上月", "上季度", "今年", "去年", "月报"),
    }
)
#: The period words of the zh-CN templates, taken as typed by Chinese-speaking users.
PERIOD_ALIASES = {
    "今天": "today",
    "昨天": "yesterday",
    "本周": "week",
    "上周": "last-week",
    "本月": "month",
    "本季度": "quarter",
    "日报": "daily",
    "周报": "weekly",
}


# ── shapes ───────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Listing:
    """The first items of a list and how many there are in all."""

    items: list[Any]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.items))


@dataclass(frozen=True)
class RepLine:
    user_id: str
    total: int
    kinds: dict[str, int]
    wins: int = 0
    revenue_cents: int = 0


@dataclass(frozen=True)
class RepTable:
    """Activities per rep, busiest first; ``totals`` are the department's counts by kind."""

    reps: list[RepLine]
    rep_count: int
    totals: dict[str, int]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.rep_count - len(self.reps))


@dataclass(frozen=True)
class LeadLine:
    name: str
    owner_id: str | None
    stage: str
    at: datetime | None = None
    amount_cents: int | None = None
    from_stage: str | None = None
    days: int | None = None


@dataclass(frozen=True)
class KudosLine:
    giver_id: str
    recipient_id: str
    message: str
    value: str | None


@dataclass(frozen=True)
class ConflictLine:
    lead: str
    user_id: str
    department: str
    owner_department: str
    at: datetime


@dataclass(frozen=True)
class TransferLine:
    lead: str
    from_user: str
    to_user: str
    requested_by: str
    created_at: datetime


@dataclass(frozen=True)
class Wins:
    listing: Listing
    revenue_cents: int


@dataclass(frozen=True)
class PipelineStage:
    """Open leads in one stage: how many, their amounts, the weight and the weighted sum."""

    stage: str
    count: int
    amount_cents: int
    weight: float
    forecast_cents: int


@dataclass(frozen=True)
class Pipeline:
    """The department's open pipeline by stage (in stage order, empty stages left out) and
    its forecast: each stage's open amounts times the department's stage weight."""

    stages: list[PipelineStage]

    @property
    def count(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def amount_cents(self) -> int:
        return sum(s.amount_cents for s in self.stages)

    @property
    def forecast_cents(self) -> int:
        return sum(s.forecast_cents for s in self.stages)


@dataclass(frozen=True)
class LostLine:
    """A deal lost in the period: who owned it, its amount if any, and the reason given."""

    name: str
    owner_id: str | None
    amount_cents: int | None
    reason: str | None
    at: datetime


_NO_PIPELINE = Pipeline([])
_NO_LOST = Listing([], 0)


@dataclass(frozen=True)
class RepSpeed:
    """One rep's speed to lead in a period: how many routed leads they took, and the median
    of the working minutes each waited from intake until they took it."""

    user_id: str
    count: int
    median: int


@dataclass(frozen=True)
class SlowLead:
    name: str
    owner_id: str
    minutes: int


@dataclass(frozen=True)
class Speed:
    """Speed to lead (DESIGN §8) of the routed leads that got an owner in a period: working
    minutes from intake to acceptance (``Routing.working_minutes``). The median is rounded to
    a whole minute (halves up); ``slowest`` is the lead that waited longest (the first settled
    of equals), when the post lists it."""

    count: int
    median: int
    reps: list[RepSpeed]
    slowest: SlowLead | None = None


@dataclass(frozen=True)
class WaitingLead:
    """A routed lead nobody took yet, waiting longer than the department's ``accept_minutes``
    of working time: offered to a rep now, or (``offered_to`` None) waiting for a manager."""

    name: str
    source: str
    offered_to: str | None
    started_at: datetime
    minutes: int


@dataclass(frozen=True)
class DailyDigest:
    department: Department
    covered: Period
    activity: RepTable
    claims: Listing
    stage_moves: Listing
    wins: Wins
    expiring: Listing
    kudos: Listing
    targets: list[Any] = field(default_factory=list)
    #: speed to lead of the leads settled in the window; None when there were none
    speed: Speed | None = None


@dataclass(frozen=True)
class WeeklyDigest:
    department: Department
    covered: Period
    activity: RepTable
    wins: Wins
    claims: int
    stale: Listing
    pool: int
    conflicts: int
    targets: list[Any] = field(default_factory=list)
    pipeline: Pipeline = _NO_PIPELINE
    lost: Listing = _NO_LOST
    #: speed to lead of the week's leads, per rep; None when there were none
    speed: Speed | None = None


@dataclass(frozen=True)
class Agenda:
    department: Department
    meeting_at: datetime
    since: datetime
    wins: Wins
    stuck: Listing
    expiring: Listing
    conflicts: Listing
    transfers: Listing
    kudos: Listing
    carried_over: Listing
    targets: list[Any] = field(default_factory=list)
    pipeline: Pipeline = _NO_PIPELINE
    lost: Listing = _NO_LOST
    #: claims made outside their territory under ``territory_policy = "warn"`` (DESIGN §7)
    out_of_territory: Listing = _NO_LOST
    #: routed leads still waiting for an owner beyond the department's ``accept_minutes``
    waiting: Listing = _NO_LOST
    #: handoffs from or to the department waiting, and done since the last meeting (§10)
    handoffs: Any = None


@dataclass(frozen=True)
class Report:
    department: Department
    covered: Period
    activity: RepTable
    wins: Wins
    claims: int
    pipeline: Pipeline = _NO_PIPELINE


# ── periods the posts cover ──────────────────────────────────────────────────────────────────


def daily_window(now: datetime, tz: str, department: workdays.HasCalendar | None = None) -> Period:
    """The days a daily digest posted at ``now`` covers: every day since the previous working
    day (``bot.workdays``), that one included. Daily digests go out on working days only, so
    Monday's covers Friday to Sunday and the first digest after a holiday week the whole
    break: nothing goes unreported. Without a department: Monday to Friday."""
    today = local_date(now, tz)
    if department is None:
        back = 3 if today.weekday() == 0 else 1
        return window(today - timedelta(days=back), today, tz, "yesterday")
    first = workdays.previous_working_day(department, today)
    return window(first, today, tz, "yesterday")


def weekly_window(now: datetime, tz: str) -> Period:
    """The week a weekly digest posted at ``now`` covers: this week, or last week when it is
    posted on a Monday (a Monday digest reviews the week just ended)."""
    name = "last-week" if local_date(now, tz).weekday() == 0 else "week"
    return period(name, now, tz)


def is_workday(now: datetime, tz: str, department: workdays.HasCalendar | None = None) -> bool:
    """Is the local day of ``now`` a working day (of ``department``'s calendar, if given)."""
    if department is None:
        return local_date(now, tz).weekday() < 5
    return workdays.is_working_day(department, local_date(now, tz))


# ── aggregates ───────────────────────────────────────────────────────────────────────────────
#
# Statements are built once, with bound parameters, and run on the session's connection: a
# post costs its SQL and little else. All of a post's figures and lists are one round trip, a
# ``UNION ALL`` of ``_Section``s (``_sections``): every part selects the same columns
# (``_columns``); a list is cut at ``LIST_LIMIT`` and carries its full length as
# ``count(*) OVER ()``, so a list and its "and N more" come in the same rows; a count is one
# row; a grouped part (activities per rep and kind, wins per owner, the department's targets)
# is a row per group or target, never a row per activity.

_D, _S, _E = bindparam("d"), bindparam("s"), bindparam("e")
_TIME = OwnershipEvent.__table__.c.at.type  # the aware-UTC type every timestamp column has

#: Whom a win is credited to: the owner and department at the time of the win, which its
#: ``won`` event records (DESIGN §10: a customer handed off to another department stays the
#: hunter's win); a won event written before it recorded them falls back to the lead's own.
_WON_BY = func.coalesce(OwnershipEvent.from_owner, Lead.owner_id)
_WON_IN = func.coalesce(OwnershipEvent.from_department_id, Lead.department_id)

_WON_IN_WINDOW = and_(
    OwnershipEvent.action == "won",
    OwnershipEvent.at >= _S,
    OwnershipEvent.at < _E,
    _WON_IN == _D,
)

_COLUMNS = (
    ("text", String),
    ("user_id", String),
    ("other_id", String),
    ("label", String),
    ("from_label", String),
    ("amount", BigInteger),
    ("at", _TIME),
)


def _columns(**given: Any) -> list[Any]:
    """The columns every list selects, in one order and type, so that lists share a ``UNION
    ALL``: ``text`` (a name or message), ``user_id`` and ``other_id`` (Slack users),
    ``label`` and ``from_label`` (stages, a kudos value), ``amount`` (cents) and ``at``;
    what a list lacks is a typed NULL."""
    assert set(given) <= {name for name, _ in _COLUMNS}, given
    return [
        (given[name] if name in given else cast(null(), kind)).label(name)
        for name, kind in _COLUMNS
    ]


def _by_time(line: tuple[Any, ...]) -> Any:
    return line[-1]  # ``at``


def _biggest_first(line: tuple[Any, ...]) -> Any:
    *_, amount, at = line
    return (amount is None, -(amount or 0), at)


@dataclass(frozen=True)
class _Section:
    """One list of a post, one count (``count=True``: the statement's ``count(*)``) or one
    grouped part (``grouped=True``: every row of the statement, its last column a count).

    A list is the statement's rows in ``order``, cut at ``LIST_LIMIT``, with the full length.
    ``key`` puts the rows back in that order in Python: SQL does not promise that a ``UNION
    ALL`` keeps the order of its parts, and numbering the rows in SQL costs a second sort.
    """

    name: str
    statement: Any
    order: tuple[Any, ...] = ()
    key: Callable[[tuple[Any, ...]], Any] = _by_time
    count: bool = False
    #: every row of a ``GROUP BY`` whose last column is its ``count(*)``
    grouped: bool = False

    def select(self, index: int) -> Any:
        """This section's part of the ``UNION ALL``: its index, the list columns (NULL for a
        count) and the total (a group's count)."""
        section = literal_column(str(index)).label("section")
        if self.grouped:
            return self.statement.with_only_columns(section, *self.statement.selected_columns)
        if self.count:
            return self.statement.with_only_columns(
                section, *_columns(), func.count().label("total")
            )
        # ORDER BY and LIMIT make a list a subquery: a UNION ALL member cannot have them
        listed = (
            self.statement.add_columns(func.count().over().label("total"))
            .order_by(*self.order)
            .limit(LIST_LIMIT)
        )
        return select(section, *listed.subquery().c)


@cache
def _union(sections: tuple[_Section, ...]) -> Any:
    return union_all(*(section.select(n) for n, section in enumerate(sections)))


def _sections(session: Session, sections: tuple[_Section, ...], **params: Any) -> dict[str, Any]:
    """Run ``sections`` in one round trip: name → (rows of ``_COLUMNS`` in order, total),
    name → count, or (grouped) name → rows of ``_COLUMNS`` and the group's count."""
    found: dict[int, tuple[list[Any], int]] = {}
    for index, *line, total in _rows(session, _union(sections), **params):
        rows, _ = found.setdefault(index, ([], total))
        rows.append((*line, total) if sections[index].grouped else tuple(line))
    result: dict[str, Any] = {}
    for index, section in enumerate(sections):
        rows, total = found.get(index, ([], 0))
        if section.count:
            result[section.name] = total
        elif section.grouped:
            result[section.name] = rows
        else:
            result[section.name] = (sorted(rows, key=section.key), total)
    return result


_BY_REP_KIND = _Section(
    "by_rep_kind",
    select(*_columns(user_id=Activity.user_id, label=Activity.kind), func.count().label("total"))
    .where(Activity.department_id == _D, Activity.occurred_at >= _S, Activity.occurred_at < _E)
    .group_by(Activity.user_id, Activity.kind),
    grouped=True,
)

_WON_BY_OWNER = _Section(
    "won_by_owner",
    select(
        *_columns(user_id=_WON_BY, amount=func.coalesce(func.sum(Lead.amount_cents), 0)),
        func.count().label("total"),
    )
    .join(OwnershipEvent, OwnershipEvent.lead_id == Lead.id)
    .where(_WON_IN_WINDOW)
    .group_by(_WON_BY),
    grouped=True,
)


#: Open leads. Plain comparisons rather than ``NOT IN (…)``: an expanding IN makes SQLAlchemy
#: re-render the whole statement on every run.
_NOT_CLOSED = and_(*(Lead.stage != stage for stage in CLOSED_STAGES))

_LIVE = Lead.__table__.alias("live_lead")
_CLAIMED_IN_WINDOW = and_(
    OwnershipEvent.action == "claim",
    OwnershipEvent.to_department_id == _D,
    OwnershipEvent.at >= _S,
    OwnershipEvent.at < _E,
    # a lead merged or deleted since (a duplicate, a mistake) was no new lead
    exists().where(_LIVE.c.id == OwnershipEvent.lead_id, _LIVE.c.deleted_at.is_(None)),
)

_WINS = _Section(
    "wins",
    select(
        *_columns(text=Lead.name, user_id=_WON_BY, amount=Lead.amount_cents, at=OwnershipEvent.at)
    )
    .join(OwnershipEvent, OwnershipEvent.lead_id == Lead.id)
    .where(_WON_IN_WINDOW),
    (Lead.amount_cents.desc().nulls_last(), OwnershipEvent.at, Lead.id),
    key=_biggest_first,
)

_CLAIMS = _Section(
    "claims",
    select(
        *_columns(
            text=Lead.name, user_id=OwnershipEvent.to_owner, label=Lead.stage, at=OwnershipEvent.at
        )
    )
    .join(Lead, Lead.id == OwnershipEvent.lead_id)
    .where(_CLAIMED_IN_WINDOW),
    (OwnershipEvent.at, OwnershipEvent.id),
)

_CLAIM_COUNT = _Section("claims", select(OwnershipEvent.id).where(_CLAIMED_IN_WINDOW), count=True)

_STAGE_MOVES = _Section(
    "stage_moves",
    select(
        *_columns(
            text=Lead.name,
            user_id=Lead.owner_id,
            label=OwnershipEvent.to_stage,
            from_label=OwnershipEvent.from_stage,
            at=OwnershipEvent.at,
        )
    )
    .join(OwnershipEvent, OwnershipEvent.lead_id == Lead.id)
    .where(
        OwnershipEvent.action == "stage",
        OwnershipEvent.at >= _S,
        OwnershipEvent.at < _E,
        Lead.department_id == _D,
    ),
    (OwnershipEvent.at, OwnershipEvent.id),
)

_EXPIRING = _Section(
    "expiring",
    select(
        *_columns(text=Lead.name, user_id=Lead.owner_id, label=Lead.stage, at=Lead.expires_at)
    ).where(
        Lead.department_id == _D,
        Lead.owner_id.is_not(None),
        _NOT_CLOSED,
        Lead.expires_at >= bindparam("now"),
        Lead.expires_at < bindparam("horizon"),
    ),
    (Lead.expires_at, Lead.id),
)

_LAST_TOUCH = func.coalesce(Lead.last_activity_at, Lead.claimed_at)

_STALE = _Section(
    "stale",
    select(
        *_columns(text=Lead.name, user_id=Lead.owner_id, label=Lead.stage, at=_LAST_TOUCH)
    ).where(
        Lead.department_id == _D,
        Lead.owner_id.is_not(None),
        _NOT_CLOSED,
        _LAST_TOUCH < bindparam("cutoff"),  # noqa: SIM300 (a computed column, not a constant)
    ),
    (_LAST_TOUCH, Lead.id),
)


def _stuck(name: str) -> _Section:
    """Open deals whose stage last changed in ``[<name>_after, <name>_before)``."""
    return _Section(
        name,
        select(
            *_columns(
                text=Lead.name,
                user_id=Lead.owner_id,
                label=Lead.stage,
                amount=Lead.amount_cents,
                at=Lead.stage_changed_at,
            )
        ).where(
            Lead.department_id == _D,
            Lead.stage.in_(OPEN_STAGES),
            Lead.stage_changed_at < bindparam(f"{name}_before"),
            Lead.stage_changed_at >= bindparam(f"{name}_after"),
        ),
        (Lead.stage_changed_at, Lead.id),
    )


_KUDOS = _Section(
    "kudos",
    select(
        *_columns(
            text=Kudos.message,
            user_id=Kudos.giver_id,
            other_id=Kudos.recipient_id,
            label=Kudos.value,
            at=Kudos.created_at,
        )
    ).where(Kudos.department_id == _D, Kudos.created_at >= _S, Kudos.created_at < _E),
    (Kudos.created_at, Kudos.id),
)

_POOL = _Section(
    "pool", select(Lead.id).where(Lead.owner_id.is_(None), Lead.deleted_at.is_(None)), count=True
)

_CONFLICT_SCOPE = and_(
    or_(ClaimConflict.department_id == _D, ClaimConflict.owner_department_id == _D),
    ClaimConflict.at >= _S,
    ClaimConflict.at < _E,
)

_CONFLICT_COUNT = _Section("conflicts", select(ClaimConflict.id).where(_CONFLICT_SCOPE), count=True)

_TARGETS = _Section(
    "targets",
    select(
        *_columns(
            user_id=Target.user_id,
            label=Target.metric,
            from_label=Target.period,
            amount=Target.value,
        ),
        literal_column("1").label("total"),
    ).where(Target.department_id == _D),
    grouped=True,
)

#: The open pipeline: one row per open stage (count and sum of amounts), whatever the history.
_PIPELINE = _Section(
    "pipeline",
    select(
        *_columns(label=Lead.stage, amount=func.coalesce(func.sum(Lead.amount_cents), 0)),
        func.count().label("total"),
    )
    .where(Lead.department_id == _D, _NOT_CLOSED)
    .group_by(Lead.stage),
    grouped=True,
)

#: Deals the department lost in the window (a lost lead goes back to the pool, so the
#: department and owner are the ones the ``lost`` event recorded).
_LOST = _Section(
    "lost",
    select(
        *_columns(
            text=Lead.name,
            user_id=OwnershipEvent.from_owner,
            label=OwnershipEvent.reason,
            amount=Lead.amount_cents,
            at=OwnershipEvent.at,
        )
    )
    .join(Lead, Lead.id == OwnershipEvent.lead_id)
    .where(
        OwnershipEvent.action == "lost",
        OwnershipEvent.from_department_id == _D,
        OwnershipEvent.at >= _S,
        OwnershipEvent.at < _E,
    ),
    (OwnershipEvent.at, OwnershipEvent.id),
)

#: Speed to lead (DESIGN §8): new leads routed through the department's rotation that got an
#: owner (accepted, assigned by a manager, or claimed) in the window. Handoffs (§10) are not
#: intake, so they are left out. ``speed_from`` bounds the intake time so the statement reads
#: a bounded range of ``ix_routing_department_started`` whatever the history: a lead that
#: came in more than :data:`SPEED_LOOKBACK` before the window is no longer counted.
_SPEED_IN_WINDOW = and_(
    Routing.department_id == _D,
    Routing.kind == "new",
    Routing.started_at >= bindparam("speed_from"),
    Routing.owner_id.is_not(None),
    Routing.working_minutes.is_not(None),
    Routing.settled_at >= _S,
    Routing.settled_at < _E,
)

#: one row per rep and number of working minutes, with how many leads took exactly that long
_SPEED = _Section(
    "speed",
    select(
        *_columns(user_id=Routing.owner_id, amount=cast(Routing.working_minutes, BigInteger)),
        func.count().label("total"),
    )
    .where(_SPEED_IN_WINDOW)
    .group_by(Routing.owner_id, Routing.working_minutes),
    grouped=True,
)

_SLOWEST = _Section(
    "slowest",
    select(
        *_columns(
            text=Lead.name,
            user_id=Routing.owner_id,
            amount=cast(Routing.working_minutes, BigInteger),
            at=Routing.settled_at,
        )
    )
    .join(Lead, Lead.id == Routing.lead_id)
    .where(_SPEED_IN_WINDOW),
    (Routing.working_minutes.desc(), Routing.settled_at, Routing.id),
    key=_biggest_first,
)

#: How long before a post's window a lead may have come in and still count in its speed to lead
SPEED_LOOKBACK = timedelta(days=60)

#: The sections of each post: one statement each. ``/sales report`` shows no targets.
_FIGURES = (_BY_REP_KIND, _WON_BY_OWNER)
DAILY = (*_FIGURES, _TARGETS, _CLAIMS, _STAGE_MOVES, _WINS, _EXPIRING, _KUDOS, _SPEED, _SLOWEST)
WEEKLY = (
    *_FIGURES,
    _TARGETS,
    _WINS,
    _STALE,
    _CLAIM_COUNT,
    _POOL,
    _CONFLICT_COUNT,
    _PIPELINE,
    _LOST,
    _SPEED,
)
AGENDA = (
    _WON_BY_OWNER,
    _TARGETS,
    _WINS,
    _stuck("stuck"),
    _stuck("carried_over"),
    _EXPIRING,
    _KUDOS,
    _PIPELINE,
    _LOST,
)
REPORT = (*_FIGURES, _WINS, _CLAIM_COUNT, _PIPELINE)

_CROSS_CONFLICTS = (
    select(
        Lead.name,
        ClaimConflict.user_id,
        ClaimConflict.department_id,
        ClaimConflict.owner_department_id,
        ClaimConflict.at,
        func.count().over(),
    )
    .join(Lead, Lead.id == ClaimConflict.lead_id)
    .where(_CONFLICT_SCOPE, ClaimConflict.department_id != ClaimConflict.owner_department_id)
    .order_by(ClaimConflict.at.desc())
    .limit(LIST_LIMIT)
)

_PENDING_TRANSFERS = (
    select(
        Lead.name,
        TransferRequest.from_user,
        TransferRequest.to_user,
        TransferRequest.requested_by,
        TransferRequest.created_at,
        func.count().over(),
    )
    .join(Lead, Lead.id == TransferRequest.lead_id)
    .where(
        TransferRequest.status == "pending",
        # a request whose lead has since moved on (released, lost, transferred) is settled
        Lead.owner_id == TransferRequest.from_user,
        TransferRequest.created_at < bindparam("before"),
        or_(
            Lead.department_id == _D,
            TransferRequest.to_user.in_(select(Member.user_id).where(Member.department_id == _D)),
        ),
    )
    .order_by(TransferRequest.created_at)
    .limit(LIST_LIMIT)
)

#: Far enough in the past or future to mean "no bound" in a window.
_EVER = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = datetime(9999, 1, 1, tzinfo=UTC)


def _rows(session: Session, statement: Any, **params: Any) -> list[Any]:
    return list(session.connection().execute(statement, params).all())


def _listing(rows: list[Any], make: Any) -> Listing:
    """Rows whose last column is ``count(*) OVER ()`` → a Listing."""
    return Listing([make(*row[:-1]) for row in rows], rows[0][-1] if rows else 0)


WinsByOwner = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class RepFigures:
    """Activities per rep and kind, and wins (count, cents) per owner, in one window."""

    kinds: dict[str, dict[str, int]]
    won: WinsByOwner


def rep_figures(found: dict[str, Any]) -> RepFigures:
    """The per-rep figures out of a post's ``_FIGURES`` sections (the agenda reads only the
    wins: it has no activity table)."""
    kinds: dict[str, dict[str, int]] = {}
    for _t, user_id, _o, kind, _f, _a, _at, count in found.get("by_rep_kind", []):
        kinds.setdefault(user_id, {})[kind] = count
    won: WinsByOwner = {
        user_id: (count, int(cents))
        for _t, user_id, _o, _l, _f, cents, _at, count in found["won_by_owner"]
        if user_id  # a won lead someone has since released has no owner to credit
    }
    return RepFigures(kinds, won)


def activity_table(figures: RepFigures, limit: int = REP_LIMIT) -> RepTable:
    """The per-rep table, busiest first, wins and revenue beside each rep."""
    totals: dict[str, int] = {}
    for kinds in figures.kinds.values():
        for kind, count in kinds.items():
            totals[kind] = totals.get(kind, 0) + count
    won = figures.won
    reps = [
        RepLine(
            user_id=user,
            total=sum(kinds.values()),
            kinds=_ordered(kinds),
            wins=won.get(user, (0, 0))[0],
            revenue_cents=won.get(user, (0, 0))[1],
        )
        for user, kinds in figures.kinds.items()
    ]
    reps += [
        RepLine(user, 0, {}, n, cents)
        for user, (n, cents) in won.items()
        if user not in figures.kinds
    ]
    reps.sort(key=lambda r: (-r.total, -r.revenue_cents, r.user_id))
    return RepTable(
        reps=reps[:limit], rep_count=len(reps), totals=_ordered(totals), total=sum(totals.values())
    )


def _ordered(kinds: dict[str, int]) -> dict[str, int]:
    return {k: kinds[k] for k in (*KINDS, *sorted(set(kinds) - set(KINDS))) if kinds.get(k)}


def _wins(section: tuple[list[Any], int], won: WinsByOwner) -> Wins:
    """The biggest wins with the count and total of them all."""
    rows, _ = section
    items = [
        LeadLine(name=t, owner_id=u, stage="won", amount_cents=a, at=at)
        for t, u, _o, _l, _f, a, at in rows
    ]
    total = sum(n for n, _ in won.values())
    revenue = sum(cents for _, cents in won.values())
    return Wins(listing=Listing(items, max(total, len(items))), revenue_cents=revenue)


def _leads(section: tuple[list[Any], int], now: datetime | None = None) -> Listing:
    """A list of leads; with ``now``, each line says how many days ago its ``at`` was."""
    rows, total = section
    items = [
        LeadLine(
            name=t,
            owner_id=u,
            stage=label or "",
            from_stage=f,
            amount_cents=a,
            at=at,
            days=None if now is None else _days(now, at),
        )
        for t, u, _o, label, f, a, at in rows
    ]
    return Listing(items, total)


def _kudos(section: tuple[list[Any], int]) -> Listing:
    rows, total = section
    return Listing([KudosLine(u, o, t, label) for t, u, o, label, _f, _a, _at in rows], total)


def pipeline(session: Session, department_id: int, found: dict[str, Any] | None = None) -> Pipeline:
    """The pipeline and forecast of ``/sales report``, the weekly digest and the agenda.

    Its figures are one aggregate statement (``_PIPELINE``: a row per open stage), run with the
    post's other sections when ``found`` holds them, else on its own; the weights are the
    department's (see :func:`bot.services.departments.stage_weights`)."""
    rows = (
        found["pipeline"]
        if found is not None
        else _sections(session, (_PIPELINE,), d=department_id)["pipeline"]
    )
    weights = stage_weights(session, department_id)
    by_stage = {label: (count, int(cents)) for _t, _u, _o, label, _f, cents, _at, count in rows}
    order = [*STAGE_WEIGHT_DEFAULTS, *sorted(set(by_stage) - set(STAGE_WEIGHT_DEFAULTS))]
    stages = [
        PipelineStage(
            stage,
            by_stage[stage][0],
            by_stage[stage][1],
            weights.get(stage, 0.0),
            round(by_stage[stage][1] * weights.get(stage, 0.0)),
        )
        for stage in order
        if stage in by_stage
    ]
    return Pipeline(stages)


def _lost(section: tuple[list[Any], int]) -> Listing:
    rows, total = section
    return Listing([LostLine(t, u, a, reason, at) for t, u, _o, reason, _f, a, at in rows], total)


def cross_department_conflicts(
    session: Session, department_id: int, start: datetime, end: datetime
) -> Listing:
    rows = _rows(session, _CROSS_CONFLICTS, d=department_id, s=start, e=end)
    names = _department_names(session, {d for row in rows for d in row[2:4] if d is not None})
    return _listing(
        rows,
        lambda lead, user, dept, owner_dept, at: ConflictLine(
            lead, user, names.get(dept, "—"), names.get(owner_dept, "—"), at
        ),
    )


def pending_transfers(
    session: Session, department_id: int, *, created_before: datetime | None = None
) -> Listing:
    """Transfer requests waiting for a decision that concern the department (its lead, or one
    of its members as the target): only pending ones whose lead still belongs to the rep who
    asked, so requests settled by a decision, a release, a loss or a direct transfer never
    come back on an agenda."""
    rows = _rows(session, _PENDING_TRANSFERS, d=department_id, before=created_before or _NEVER)
    return _listing(rows, TransferLine)


def _department_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {dept_id: name for dept_id, name in rows.all()}


def _days(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(0, (now - then).days)


def target_progress(
    session: Session, department: Department, now: datetime, found: dict[str, Any]
) -> list[Any]:
    """The department's targets (its own first, then its reps') for the periods containing
    ``now``, at most ``LIST_LIMIT + 2`` of them; empty when none are set. The targets come
    with the post's other sections (``_TARGETS``); their actuals, when there are any, cost
    one more statement."""
    rows = [
        targets.TargetRow(user_id or "", metric, period, int(value))
        for _t, user_id, _o, metric, period, value, _at, _n in found["targets"]
    ]
    return targets.progress(session, department, now, rows=rows)[: LIST_LIMIT + 2]


def _horizon(department: Department, now: datetime) -> datetime:
    """Leads expiring before this are "expiring soon": the department's warning days."""
    return now + timedelta(days=max(1, department.warn_days))


# ── the posts ────────────────────────────────────────────────────────────────────────────────


def daily_digest(session: Session, department: Department, now: datetime) -> DailyDigest:
    assert department.id is not None
    covered = daily_window(now, department.timezone, department)
    window = {"d": department.id, "s": covered.start, "e": covered.end}
    found = _sections(
        session,
        DAILY,
        **window,
        now=now,
        horizon=_horizon(department, now),
        speed_from=covered.start - SPEED_LOOKBACK,
    )
    figures = rep_figures(found)
    return DailyDigest(
        department=department,
        covered=covered,
        activity=activity_table(figures),
        claims=_leads(found["claims"]),
        stage_moves=_leads(found["stage_moves"]),
        wins=_wins(found["wins"], figures.won),
        expiring=_leads(found["expiring"]),
        kudos=_kudos(found["kudos"]),
        targets=target_progress(session, department, now, found),
        speed=speed_to_lead(found["speed"], found["slowest"]),
    )


def weekly_digest(session: Session, department: Department, now: datetime) -> WeeklyDigest:
    assert department.id is not None
    covered = weekly_window(now, department.timezone)
    window = {"d": department.id, "s": covered.start, "e": covered.end}
    found = _sections(
        session,
        WEEKLY,
        **window,
        cutoff=now - STALE_AFTER,
        speed_from=covered.start - SPEED_LOOKBACK,
    )
    figures = rep_figures(found)
    return WeeklyDigest(
        department=department,
        covered=covered,
        activity=activity_table(figures),
        wins=_wins(found["wins"], figures.won),
        claims=found["claims"],
        stale=_leads(found["stale"], now),
        pool=found["pool"],
        conflicts=found["conflicts"],
        targets=target_progress(session, department, now, found),
        pipeline=pipeline(session, department.id, found),
        lost=_lost(found["lost"]),
        speed=speed_to_lead(found["speed"]),
    )


def agenda(session: Session, department: Department, now: datetime, meeting_at: datetime) -> Agenda:
    """The agenda of the meeting at ``meeting_at``, built at ``now``; it reviews the week
    since the previous (weekly) meeting that had an agenda: a meeting on a holiday gets none
    (``bot.workdays``), so the next agenda covers both meetings' span.

    Deals stuck for over a week are split in two: newly stuck since the previous agenda, and
    carried over (already stuck then)."""
    assert department.id is not None
    since = meeting_at - timedelta(days=7)
    zone = ZoneInfo(department.timezone)
    for _ in range(8):  # wall-clock weeks back, so a DST change keeps the local hour
        if workdays.is_working_day(department, since.astimezone(zone).date()):
            break
        since -= timedelta(days=7)
    previous_stuck = now - timedelta(days=7) - STUCK_AFTER
    window = {"d": department.id, "s": since, "e": now}
    found = _sections(
        session,
        AGENDA,
        **window,
        now=now,
        horizon=_horizon(department, now),
        stuck_before=now - STUCK_AFTER,
        stuck_after=previous_stuck,
        carried_over_before=previous_stuck,
        carried_over_after=_EVER,
    )
    figures = rep_figures(found)
    return Agenda(
        department=department,
        meeting_at=meeting_at,
        since=since,
        wins=_wins(found["wins"], figures.won),
        stuck=_leads(found["stuck"], now),
        expiring=_leads(found["expiring"]),
        conflicts=cross_department_conflicts(session, department.id, since, now),
        transfers=pending_transfers(session, department.id),
        kudos=_kudos(found["kudos"]),
        carried_over=_leads(found["carried_over"], now),
        targets=target_progress(session, department, now, found),
        pipeline=pipeline(session, department.id, found),
        lost=_lost(found["lost"]),
        out_of_territory=out_of_territory_claims(session, department, since, now),
        waiting=waiting_leads(session, department, now),
        handoffs=handoffs.for_agenda(session, department.id, since, now),
    )


@dataclass(frozen=True)
class OutOfTerritoryLine:
    lead: str
    user_id: str | None
    department: str
    territory: str
    at: datetime


def out_of_territory_claims(
    session: Session, department: Department, start: datetime, end: datetime
) -> Listing:
    """Claims made outside their territory (``warn`` policy) from ``start`` to ``end`` that
    concern the department: its reps claimed outside its territory, or others claimed inside
    it. They are read from the claims' audit events (``leads.OUT_OF_TERRITORY``), newest
    first, at most ``LIST_LIMIT``."""
    from bot.services.leads import OUT_OF_TERRITORY

    rows = session.exec(
        select(OwnershipEvent, Lead.name)
        .join(Lead, Lead.id == OwnershipEvent.lead_id)
        .where(
            OwnershipEvent.action == "claim",
            col(OwnershipEvent.reason).startswith(OUT_OF_TERRITORY),
            OwnershipEvent.at >= start,
            OwnershipEvent.at <= end,
            col(Lead.deleted_at).is_(None),
        )
        .order_by(col(OwnershipEvent.at).desc(), col(OwnershipEvent.id).desc())
    ).all()
    names = _department_names(session, {e.to_department_id for e, _ in rows if e.to_department_id})
    lines = []
    for event, lead_name in rows:
        territory = (event.reason or "")[len(OUT_OF_TERRITORY) :]
        if event.to_department_id != department.id and territory != department.name:
            continue
        lines.append(
            OutOfTerritoryLine(
                lead=lead_name,
                user_id=event.to_owner,
                department=names.get(event.to_department_id, "—"),
                territory=territory,
                at=event.at,
            )
        )
    return Listing(lines[:LIST_LIMIT], len(lines))


def _median(counts: dict[int, int]) -> int:
    """The median of values given as value → how many, rounded to a whole number (halves up)."""
    size = sum(counts.values())
    ordered = sorted(counts.items())

    def nth(index: int) -> int:
        seen = 0
        for value, count in ordered:
            seen += count
            if index < seen:
                return value
        raise IndexError(index)

    low, high = nth((size - 1) // 2), nth(size // 2)
    return (low + high + 1) // 2


def speed_to_lead(grouped: list[Any], slowest: tuple[list[Any], int] | None = None) -> Speed | None:
    """Speed to lead from the ``_SPEED`` rows (rep, minutes, how many) and, for the daily
    digest, the ``_SLOWEST`` list; None when no routed lead got an owner in the window. Reps
    are listed most leads first (then fastest), at most ``REP_LIMIT``."""
    overall: dict[int, int] = {}
    by_rep: dict[str, dict[int, int]] = {}
    for _t, user_id, _o, _l, _f, minutes, _at, count in grouped:
        overall[int(minutes)] = overall.get(int(minutes), 0) + count
        rep = by_rep.setdefault(user_id, {})
        rep[int(minutes)] = rep.get(int(minutes), 0) + count
    if not overall:
        return None
    reps = sorted(
        (RepSpeed(user, sum(counts.values()), _median(counts)) for user, counts in by_rep.items()),
        key=lambda r: (-r.count, r.median, r.user_id),
    )
    slow = None
    if slowest is not None and slowest[0]:
        name, owner, _o, _l, _f, minutes, _at = slowest[0][0]
        slow = SlowLead(name=name, owner_id=owner, minutes=int(minutes))
    return Speed(
        count=sum(overall.values()),
        median=_median(overall),
        reps=reps[:REP_LIMIT],
        slowest=slow,
    )


def waiting_leads(session: Session, department: Department, now: datetime) -> Listing:
    """Routed leads of the department still without an owner more than ``accept_minutes`` of
    working time after they came in (DESIGN §8), longest waiting first. One statement over
    the department's unsettled routings (a handful, whatever the history); the working time
    of each is counted in Python (``bot.workdays``), as it depends on the department's hours
    and holidays. Wall-clock time is never shorter than working time, so routings younger
    than ``accept_minutes`` are not read at all."""
    rows = session.exec(
        select(Routing, Lead.name, Offer.user_id)
        .join(Lead, col(Lead.id) == col(Routing.lead_id))
        .outerjoin(
            Offer, and_(col(Offer.routing_id) == col(Routing.id), col(Offer.status) == "open")
        )
        .where(
            Routing.department_id == department.id,
            Routing.kind == "new",  # handoffs waiting have their own agenda section
            col(Routing.status).in_(("offering", "waiting")),
            col(Routing.started_at) <= now - timedelta(minutes=department.accept_minutes),
        )
        .order_by(col(Routing.started_at), col(Routing.id))
    ).all()
    lines = []
    for routing, name, offered_to in rows:
        minutes = workdays.working_minutes(department, routing.started_at, now)
        if minutes > department.accept_minutes:
            lines.append(WaitingLead(name, routing.source, offered_to, routing.started_at, minutes))
    return Listing(lines[:LIST_LIMIT], len(lines))


def report(session: Session, department: Department, now: datetime, name: str) -> Report:
    """``/sales report``: activities, wins and claims of ``today``, this ``week`` or ``month``."""
    assert department.id is not None
    days = covered(name, now, department.timezone)
    window = {"d": department.id, "s": days.start, "e": days.end}
    found = _sections(session, REPORT, **window)
    figures = rep_figures(found)
    return Report(
        department=department,
        covered=days,
        activity=activity_table(figures),
        wins=_wins(found["wins"], figures.won),
        claims=found["claims"],
        pipeline=pipeline(session, department.id, found),
    )


# ── who asks for what ────────────────────────────────────────────────────────────────────────


def resolve_scope(
    session: Session,
    *,
    actor: str,
    words: list[str],
    choices: tuple[str, ...],
    default: str,
    spans: bool = False,
    command: str = "report",
) -> tuple[Department, str]:
    """``[department] [choice]`` → (department, choice).

    Without a department, the caller's own. With ``spans``, the choice may also be a span of
    days (``2026-11-01..2026-11-15``, returned as typed; :func:`covered` reads it). A trailing
    word that is not a choice but reads as a period (``yesterday`` where only ``week`` and
    ``month`` are offered, ``monthly``, a date), or follows a department's name, is reported
    as a bad choice naming the choices, never as "no department called yesterday"."""
    choice = default
    last = PERIOD_ALIASES.get(words[-1], words[-1].lower()) if words else ""
    if last in choices:
        choice, words = last, words[:-1]
    elif spans and words and looks_like_span(words[-1]) and not _names_department(session, words):
        choice, words = words[-1], words[:-1]
    if not words:
        own = department_of(session, actor)
        if own is None:
            known = list(session.exec(select(Department.name).order_by(Department.name)))
            raise InvalidInput("report.which_department", known=known)
        return own, choice
    try:
        return find_department(session, " ".join(words)), choice
    except NotFound:
        last = words[-1]
        if not choices:
            raise
        if _periodish(last) or len(words) > 1:
            named = len(words) == 1
            if not named:
                try:
                    find_department(session, " ".join(words[:-1]))
                    named = True
                except NotFound:
                    named = _periodish(last)
            if named:
                raise InvalidInput(
                    "report.bad_period",
                    given=last,
                    expected=list(choices),
                    spans=spans,
                    command=command,
                ) from None
        raise


def _names_department(session: Session, words: list[str]) -> bool:
    """Whether ``words`` are a department's name ("2024-Team" is one, not a mistyped span)."""
    try:
        find_department(session, " ".join(words))
    except NotFound:
        return False
    return True


def _periodish(word: str) -> bool:
    return word.lower() in PERIOD_WORDS or word in PERIOD_ALIASES or looks_like_span(word)


def covered(name: str, now: datetime, tz: str, command: str = "report") -> Period:
    """The period ``name`` (a choice or a span of days) in zone ``tz``; a span that cannot be
    used is refused saying what to type instead."""
    if name in PERIODS:
        return period(name, now, tz)
    try:
        return span(name, tz)
    except BadSpan as bad:
        # what to type instead: the same days the right way round, or the first year of them
        last = bad.first + timedelta(days=min(bad.days, MAX_SPAN_DAYS) - 1) if bad.first else None
        raise InvalidInput(
            "report.bad_span",
            reason=bad.reason,
            given=bad.given,
            first=bad.first,
            last=last,
            days=bad.days,
            command=command,
        ) from None


def report_for(session: Session, *, actor: str, words: list[str], now: datetime) -> Report:
    """``/sales report [department] [period]``: anyone may read a report. Periods:
    ``REPORT_PERIODS`` or a span of days ``YYYY-MM-DD..YYYY-MM-DD``."""
    department, name = resolve_scope(
        session, actor=actor, words=words, choices=REPORT_PERIODS, default="today", spans=True
    )
    return report(session, department, now, name)
