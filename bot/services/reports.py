"""What digests, agendas and reports say: set-based aggregates over one department's history.

Every figure here is one SQL statement with ``GROUP BY`` (or ``COUNT``/``SUM``) bounded by an
indexed time window, and every list is a ``LIMIT`` query plus a count, so building a digest
costs the same whether the store holds a thousand activities or a million. Nothing here loops
over history in Python.

The functions return plain dataclasses; the templates turn them into words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_
from sqlmodel import Session, select

from bot.periods import Period, local_date, period, window
from bot.services import targets
from bot.services.departments import department_of, find_department
from bot.services.errors import InvalidInput, NotFound
from bot.store.models import (
    Activity,
    ClaimConflict,
    Department,
    Kudos,
    Lead,
    Member,
    OwnershipEvent,
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
REPORT_PERIODS = ("today", "week", "month")


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


@dataclass(frozen=True)
class Report:
    department: Department
    covered: Period
    activity: RepTable
    wins: Wins
    claims: int


# ── periods the posts cover ──────────────────────────────────────────────────────────────────


def daily_window(now: datetime, tz: str) -> Period:
    """The days a daily digest posted at ``now`` covers: yesterday, and on Monday the whole
    weekend since Friday (daily digests skip weekends, so nothing goes unreported)."""
    today = local_date(now, tz)
    back = 3 if today.weekday() == 0 else 1
    return window(today - timedelta(days=back), today, tz, "yesterday")


def weekly_window(now: datetime, tz: str) -> Period:
    """The week a weekly digest posted at ``now`` covers: this week, or last week when it is
    posted on a Monday (a Monday digest reviews the week just ended)."""
    name = "last-week" if local_date(now, tz).weekday() == 0 else "week"
    return period(name, now, tz)


def is_workday(now: datetime, tz: str) -> bool:
    return local_date(now, tz).weekday() < 5


# ── aggregates ───────────────────────────────────────────────────────────────────────────────
#
# Each statement is built once, with bound parameters, and run on the session's connection:
# a digest then costs its SQL and little else. Lists carry their full length as a window
# ``count(*) OVER ()``, so a list and its "and N more" are one statement.

_D, _S, _E = bindparam("d"), bindparam("s"), bindparam("e")

_ACTIVITY_BY_REP_KIND = (
    select(Activity.user_id, Activity.kind, func.count())
    .where(Activity.department_id == _D, Activity.occurred_at >= _S, Activity.occurred_at < _E)
    .group_by(Activity.user_id, Activity.kind)
)

_WON_IN_WINDOW = and_(
    OwnershipEvent.action == "won",
    OwnershipEvent.at >= _S,
    OwnershipEvent.at < _E,
    Lead.department_id == _D,
)

_WINS_BY_OWNER = (
    select(Lead.owner_id, func.count(), func.coalesce(func.sum(Lead.amount_cents), 0))
    .join(OwnershipEvent, OwnershipEvent.lead_id == Lead.id)
    .where(_WON_IN_WINDOW)
    .group_by(Lead.owner_id)
)

_WINS = (
    select(Lead.name, Lead.owner_id, Lead.amount_cents, OwnershipEvent.at)
    .join(OwnershipEvent, OwnershipEvent.lead_id == Lead.id)
    .where(_WON_IN_WINDOW)
    .order_by(Lead.amount_cents.desc().nulls_last(), OwnershipEvent.at)
    .limit(LIST_LIMIT)
)

_CLAIMED_IN_WINDOW = and_(
    OwnershipEvent.action == "claim",
    OwnershipEvent.to_department_id == _D,
    OwnershipEvent.at >= _S,
    OwnershipEvent.at < _E,
)

_CLAIMS = (
    select(Lead.name, OwnershipEvent.to_owner, Lead.stage, OwnershipEvent.at, func.count().over())
    .join(Lead, Lead.id == OwnershipEvent.lead_id)
    .where(_CLAIMED_IN_WINDOW)
    .order_by(OwnershipEvent.at)
    .limit(LIST_LIMIT)
)

_CLAIM_COUNT = select(func.count()).select_from(OwnershipEvent).where(_CLAIMED_IN_WINDOW)

_STAGE_MOVES = (
    select(
        Lead.name,
        Lead.owner_id,
        OwnershipEvent.to_stage,
        OwnershipEvent.from_stage,
        func.count().over(),
    )
    .join(OwnershipEvent, OwnershipEvent.lead_id == Lead.id)
    .where(
        OwnershipEvent.action == "stage",
        OwnershipEvent.at >= _S,
        OwnershipEvent.at < _E,
        Lead.department_id == _D,
    )
    .order_by(OwnershipEvent.at)
    .limit(LIST_LIMIT)
)

_EXPIRING = (
    select(Lead.name, Lead.owner_id, Lead.stage, Lead.expires_at, func.count().over())
    .where(
        Lead.department_id == _D,
        Lead.owner_id.is_not(None),
        Lead.stage.not_in(CLOSED_STAGES),
        Lead.expires_at >= bindparam("now"),
        Lead.expires_at < bindparam("horizon"),
    )
    .order_by(Lead.expires_at)
    .limit(LIST_LIMIT)
)

_LAST_TOUCH = func.coalesce(Lead.last_activity_at, Lead.claimed_at)

_STALE = (
    select(Lead.name, Lead.owner_id, Lead.stage, _LAST_TOUCH, func.count().over())
    .where(
        Lead.department_id == _D,
        Lead.owner_id.is_not(None),
        Lead.stage.not_in(CLOSED_STAGES),
        _LAST_TOUCH < bindparam("cutoff"),  # noqa: SIM300 (a computed column, not a constant)
    )
    .order_by(_LAST_TOUCH)
    .limit(LIST_LIMIT)
)

_STUCK = (
    select(
        Lead.name,
        Lead.owner_id,
        Lead.stage,
        Lead.stage_changed_at,
        Lead.amount_cents,
        func.count().over(),
    )
    .where(
        Lead.department_id == _D,
        Lead.stage.in_(OPEN_STAGES),
        Lead.stage_changed_at < bindparam("before"),
        Lead.stage_changed_at >= bindparam("after"),
    )
    .order_by(Lead.stage_changed_at)
    .limit(LIST_LIMIT)
)

_POOL = select(func.count()).select_from(Lead).where(Lead.owner_id.is_(None))

_CONFLICT_SCOPE = and_(
    or_(ClaimConflict.department_id == _D, ClaimConflict.owner_department_id == _D),
    ClaimConflict.at >= _S,
    ClaimConflict.at < _E,
)

_CONFLICT_COUNT = select(func.count()).select_from(ClaimConflict).where(_CONFLICT_SCOPE)

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
        TransferRequest.created_at < bindparam("before"),
        or_(
            Lead.department_id == _D,
            TransferRequest.to_user.in_(select(Member.user_id).where(Member.department_id == _D)),
        ),
    )
    .order_by(TransferRequest.created_at)
    .limit(LIST_LIMIT)
)

_KUDOS = (
    select(Kudos.giver_id, Kudos.recipient_id, Kudos.message, Kudos.value, func.count().over())
    .where(Kudos.department_id == _D, Kudos.created_at >= _S, Kudos.created_at < _E)
    .order_by(Kudos.created_at)
    .limit(LIST_LIMIT)
)

#: Far enough in the past or future to mean "no bound" in a window.
_EVER = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = datetime(9999, 1, 1, tzinfo=UTC)


def _rows(session: Session, statement: Any, **params: Any) -> list[Any]:
    return list(session.connection().execute(statement, params).all())


def _scalar(session: Session, statement: Any, **params: Any) -> int:
    return int(session.connection().execute(statement, params).scalar() or 0)


def _listing(rows: list[Any], make: Any) -> Listing:
    """Rows whose last column is ``count(*) OVER ()`` → a Listing."""
    return Listing([make(*row[:-1]) for row in rows], rows[0][-1] if rows else 0)


WinsByOwner = dict[str, tuple[int, int]]


def wins_by_owner(
    session: Session, department_id: int, start: datetime, end: datetime
) -> WinsByOwner:
    """Wins and won amounts per owner in ``[start, end)``: one ``GROUP BY owner``."""
    rows = _rows(session, _WINS_BY_OWNER, d=department_id, s=start, e=end)
    return {owner: (count, int(revenue)) for owner, count, revenue in rows if owner}


def activity_table(
    session: Session,
    department_id: int,
    start: datetime,
    end: datetime,
    won: WinsByOwner | None = None,
    limit: int = REP_LIMIT,
) -> RepTable:
    """Activities per rep and kind in ``[start, end)``: one ``GROUP BY user_id, kind``."""
    rows = _rows(session, _ACTIVITY_BY_REP_KIND, d=department_id, s=start, e=end)
    per_rep: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for user_id, kind, count in rows:  # one row per (rep, kind), never per activity
        per_rep.setdefault(user_id, {})[kind] = count
        totals[kind] = totals.get(kind, 0) + count
    if won is None:
        won = wins_by_owner(session, department_id, start, end)
    reps = [
        RepLine(
            user_id=user,
            total=sum(kinds.values()),
            kinds=_ordered(kinds),
            wins=won.get(user, (0, 0))[0],
            revenue_cents=won.get(user, (0, 0))[1],
        )
        for user, kinds in per_rep.items()
    ]
    reps += [
        RepLine(user, 0, {}, n, cents) for user, (n, cents) in won.items() if user not in per_rep
    ]
    reps.sort(key=lambda r: (-r.total, -r.revenue_cents, r.user_id))
    return RepTable(
        reps=reps[:limit], rep_count=len(reps), totals=_ordered(totals), total=sum(totals.values())
    )


def _ordered(kinds: dict[str, int]) -> dict[str, int]:
    return {k: kinds[k] for k in (*KINDS, *sorted(set(kinds) - set(KINDS))) if kinds.get(k)}


def wins(
    session: Session,
    department_id: int,
    start: datetime,
    end: datetime,
    won: WinsByOwner | None = None,
) -> Wins:
    """The biggest wins of ``[start, end)`` with the count and total of them all."""
    if won is None:
        won = wins_by_owner(session, department_id, start, end)
    rows = _rows(session, _WINS, d=department_id, s=start, e=end)
    items = [
        LeadLine(name=n, owner_id=o, stage="won", amount_cents=a, at=at) for n, o, a, at in rows
    ]
    total = sum(n for n, _ in won.values())
    revenue = sum(cents for _, cents in won.values())
    return Wins(listing=Listing(items, max(total, len(items))), revenue_cents=revenue)


def new_claims(session: Session, department_id: int, start: datetime, end: datetime) -> Listing:
    rows = _rows(session, _CLAIMS, d=department_id, s=start, e=end)
    return _listing(rows, lambda n, o, s, at: LeadLine(name=n, owner_id=o, stage=s, at=at))


def count_claims(session: Session, department_id: int, start: datetime, end: datetime) -> int:
    return _scalar(session, _CLAIM_COUNT, d=department_id, s=start, e=end)


def stage_moves(session: Session, department_id: int, start: datetime, end: datetime) -> Listing:
    rows = _rows(session, _STAGE_MOVES, d=department_id, s=start, e=end)
    return _listing(
        rows, lambda n, o, t, f: LeadLine(name=n, owner_id=o, stage=t or "", from_stage=f)
    )


def expiring(session: Session, department: Department, now: datetime) -> Listing:
    """Owned open leads whose protection ends within the department's warning days."""
    horizon = now + timedelta(days=max(1, department.warn_days))
    rows = _rows(session, _EXPIRING, d=department.id, now=now, horizon=horizon)
    return _listing(rows, lambda n, o, s, e: LeadLine(name=n, owner_id=o, stage=s, at=e))


def stale_leads(session: Session, department_id: int, now: datetime) -> Listing:
    """Owned open leads nobody has logged an activity on for a week, oldest first."""
    rows = _rows(session, _STALE, d=department_id, cutoff=now - STALE_AFTER)
    return _listing(
        rows,
        lambda n, o, s, at: LeadLine(name=n, owner_id=o, stage=s, at=at, days=_days(now, at)),
    )


def stuck_deals(
    session: Session,
    department_id: int,
    now: datetime,
    *,
    since_before: datetime,
    since_after: datetime | None = None,
) -> Listing:
    """Open deals whose stage last changed before ``since_before`` (and after ``since_after``)."""
    rows = _rows(session, _STUCK, d=department_id, before=since_before, after=since_after or _EVER)
    return _listing(
        rows,
        lambda n, o, s, at, a: LeadLine(
            name=n, owner_id=o, stage=s, at=at, amount_cents=a, days=_days(now, at)
        ),
    )


def pool_size(session: Session) -> int:
    """Unowned leads, company-wide: the pool every department claims from."""
    return _scalar(session, _POOL)


def count_conflicts(session: Session, department_id: int, start: datetime, end: datetime) -> int:
    return _scalar(session, _CONFLICT_COUNT, d=department_id, s=start, e=end)


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
    of its members as the target)."""
    rows = _rows(session, _PENDING_TRANSFERS, d=department_id, before=created_before or _NEVER)
    return _listing(rows, TransferLine)


def kudos(session: Session, department_id: int, start: datetime, end: datetime) -> Listing:
    rows = _rows(session, _KUDOS, d=department_id, s=start, e=end)
    return _listing(rows, KudosLine)


def _department_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {dept_id: name for dept_id, name in rows.all()}


def _days(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(0, (now - then).days)


def target_progress(session: Session, department: Department, now: datetime) -> list[Any]:
    """The department's targets (its own first, then its reps') for the periods containing
    ``now``, at most ``LIST_LIMIT + 2`` of them; empty when none are set."""
    return targets.progress(session, department, now)[: LIST_LIMIT + 2]


# ── the posts ────────────────────────────────────────────────────────────────────────────────


def daily_digest(session: Session, department: Department, now: datetime) -> DailyDigest:
    assert department.id is not None
    covered = daily_window(now, department.timezone)
    start, end = covered.start, covered.end
    won = wins_by_owner(session, department.id, start, end)
    return DailyDigest(
        department=department,
        covered=covered,
        activity=activity_table(session, department.id, start, end, won),
        claims=new_claims(session, department.id, start, end),
        stage_moves=stage_moves(session, department.id, start, end),
        wins=wins(session, department.id, start, end, won),
        expiring=expiring(session, department, now),
        kudos=kudos(session, department.id, start, end),
        targets=target_progress(session, department, now),
    )


def weekly_digest(session: Session, department: Department, now: datetime) -> WeeklyDigest:
    assert department.id is not None
    covered = weekly_window(now, department.timezone)
    start, end = covered.start, covered.end
    won = wins_by_owner(session, department.id, start, end)
    return WeeklyDigest(
        department=department,
        covered=covered,
        activity=activity_table(session, department.id, start, end, won),
        wins=wins(session, department.id, start, end, won),
        claims=count_claims(session, department.id, start, end),
        stale=stale_leads(session, department.id, now),
        pool=pool_size(session),
        conflicts=count_conflicts(session, department.id, start, end),
        targets=target_progress(session, department, now),
    )


def agenda(session: Session, department: Department, now: datetime, meeting_at: datetime) -> Agenda:
    """The agenda of the meeting at ``meeting_at``, built at ``now``; it reviews the week
    since the previous (weekly) meeting."""
    assert department.id is not None
    since = meeting_at - timedelta(days=7)
    previous_agenda = now - timedelta(days=7)
    return Agenda(
        department=department,
        meeting_at=meeting_at,
        since=since,
        wins=wins(session, department.id, since, now),
        # newly stuck since the last agenda; older ones are carried over below
        stuck=stuck_deals(
            session,
            department.id,
            now,
            since_before=now - STUCK_AFTER,
            since_after=previous_agenda - STUCK_AFTER,
        ),
        expiring=expiring(session, department, now),
        conflicts=cross_department_conflicts(session, department.id, since, now),
        transfers=pending_transfers(session, department.id),
        kudos=kudos(session, department.id, since, now),
        carried_over=stuck_deals(
            session, department.id, now, since_before=previous_agenda - STUCK_AFTER
        ),
        targets=target_progress(session, department, now),
    )


def report(session: Session, department: Department, now: datetime, name: str) -> Report:
    """``/sales report``: activities, wins and claims of ``today``, this ``week`` or ``month``."""
    assert department.id is not None
    covered = period(name, now, department.timezone)
    start, end = covered.start, covered.end
    won = wins_by_owner(session, department.id, start, end)
    return Report(
        department=department,
        covered=covered,
        activity=activity_table(session, department.id, start, end, won),
        wins=wins(session, department.id, start, end, won),
        claims=count_claims(session, department.id, start, end),
    )


# ── who asks for what ────────────────────────────────────────────────────────────────────────


def resolve_scope(
    session: Session, *, actor: str, words: list[str], choices: tuple[str, ...], default: str
) -> tuple[Department, str]:
    """``[department] [choice]`` → (department, choice).

    Without a department, the caller's own. A trailing word that is neither a choice nor part
    of a department's name is reported as a bad choice, naming the choices."""
    choice = default
    if words and words[-1].lower() in choices:
        choice, words = words[-1].lower(), words[:-1]
    if not words:
        own = department_of(session, actor)
        if own is None:
            known = list(session.exec(select(Department.name).order_by(Department.name)))
            raise InvalidInput("report.which_department", known=known)
        return own, choice
    try:
        return find_department(session, " ".join(words)), choice
    except NotFound:
        if len(words) > 1:
            try:
                find_department(session, " ".join(words[:-1]))
            except NotFound:
                pass
            else:
                raise InvalidInput(
                    "report.bad_period", given=words[-1], expected=list(choices)
                ) from None
        raise


def report_for(session: Session, *, actor: str, words: list[str], now: datetime) -> Report:
    """``/sales report [department] [today|week|month]``: anyone may read a report."""
    department, name = resolve_scope(
        session, actor=actor, words=words, choices=REPORT_PERIODS, default="today"
    )
    return report(session, department, now, name)
