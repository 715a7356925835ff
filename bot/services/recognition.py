"""Recognition and coaching: public kudos and private feedback.

Kudos: anyone but the recipient may give them; each giver has a daily allowance (default 5,
an admin changes it for the whole workspace with ``/kudos allowance N``, kept in the
``setting`` table as ``kudos_per_day``). The day is the giver's local day, in their
department's time zone (the workspace zone for people in no department). A kudos is recorded
with the recipient's department, which is what digests count.

Coaching: only the recipient's manager (a manager of the department the recipient is in now)
or an admin may send feedback; the recipient, that manager and admins may read it. A refusal
is the same whether or not feedback exists, and is decided before any feedback is read.

Delivery is the caller's: ``give_kudos`` and ``coach`` take a ``deliver`` callable, run it
after every check and before the commit. ``/kudos`` adds its post to the outbox there, so the
kudos and its post commit together, then sends it (:func:`withdraw_kudos` removes both when
Slack refuses the post for good, spending the allowance back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from bot.periods import Period, period
from bot.services.departments import (
    admin_ids,
    department_of,
    is_admin,
    is_manager_of,
    managers_of,
    require_admin,
    workspace_setting,
)
from bot.services.errors import Conflict, InvalidInput, PermissionDenied
from bot.store.locks import lock_member
from bot.store.models import Department, Feedback, Kudos, Outbox, Setting

DEFAULT_DAILY_KUDOS = 5
ALLOWANCE_KEY = "kudos_per_day"
MAX_ALLOWANCE = 100
MAX_MESSAGE = 1500
MAX_VALUE = 40
LEADERBOARD_SIZE = 10
LEADERBOARD_PERIODS = ("week", "month")
_LEADERBOARD_ALIASES = {"周": "week", "本周": "week", "月": "month", "本月": "month"}
HISTORY_SIZE = 20


def _zone(session: Session, department: Department | None) -> str:
    if department is not None:
        return department.timezone
    return workspace_setting(session, "timezone", "UTC")


def _locale(session: Session, department: Department | None) -> str:
    if department is not None:
        return department.locale
    return workspace_setting(session, "locale", "en")


def _clean_message(message: str, usage: str) -> str:
    text = " ".join(message.split()) if "\n" not in message else message.strip()
    if not text:
        raise InvalidInput(usage)
    if len(text) > MAX_MESSAGE:
        raise InvalidInput("kudos.too_long", limit=MAX_MESSAGE, length=len(text))
    return text


# ── kudos ────────────────────────────────────────────────────────────────────────────────────


def daily_allowance(session: Session) -> int:
    try:
        return int(workspace_setting(session, ALLOWANCE_KEY, str(DEFAULT_DAILY_KUDOS)))
    except ValueError:
        return DEFAULT_DAILY_KUDOS


def set_daily_allowance(*, session: Session, actor: str, value: str) -> int:
    """Admins set how many kudos each person may give per day (1–100)."""
    require_admin(session, actor)
    try:
        number = int(value.strip())
        if not 1 <= number <= MAX_ALLOWANCE:
            raise ValueError(value)
    except ValueError:
        raise InvalidInput("kudos.bad_allowance", value=value, most=MAX_ALLOWANCE) from None
    row = session.get(Setting, ALLOWANCE_KEY) or Setting(key=ALLOWANCE_KEY, value="")
    row.value = str(number)
    session.add(row)
    session.commit()
    return number


@dataclass(frozen=True)
class Allowance:
    allowance: int
    used: int
    #: the giver's next local midnight, in their zone
    resets_at: datetime
    timezone: str

    @property
    def left(self) -> int:
        return max(0, self.allowance - self.used)


def _allowance(session: Session, giver: str, now: datetime) -> Allowance:
    zone = _zone(session, department_of(session, giver))
    today = period("today", now, zone)
    used = session.exec(
        select(func.count())
        .select_from(Kudos)
        .where(
            Kudos.giver_id == giver, Kudos.created_at >= today.start, Kudos.created_at < today.end
        )
    ).one()
    return Allowance(
        allowance=daily_allowance(session),
        used=int(used),
        resets_at=today.end.astimezone(ZoneInfo(zone)),
        timezone=zone,
    )


@dataclass(frozen=True)
class KudosGiven:
    kudos: Kudos
    #: the recipient's department (None when they are in none: the kudos goes to them by DM)
    department: Department | None
    #: where the post goes: the department channel, or the recipient's id for a DM
    channel: str
    #: the language of that post: the recipient's department's
    locale: str
    allowance: Allowance


def give_kudos(
    *,
    session: Session,
    giver: str,
    recipient: str,
    message: str,
    value: str | None = None,
    now: datetime,
    deliver: Callable[[KudosGiven], object] | None = None,
) -> KudosGiven:
    """Record a kudos; refuses self-kudos and a spent allowance. ``deliver`` adds its post to
    the same transaction (an outbox row), so the record and the post commit as one."""
    if recipient == giver:
        raise Conflict("kudos.self")
    text = _clean_message(message, "kudos.usage")
    tag = (value or "").strip().lstrip("#").strip() or None
    if tag is not None and len(tag) > MAX_VALUE:
        raise InvalidInput("kudos.bad_value", value=tag, most=MAX_VALUE)
    # One giver's kudos are serialised, so two at once cannot both take the last one: the
    # giver's member row is locked (made, in no department, for a guest), and the count
    # after it sees every kudos committed before (bot.store.locks).
    lock_member(session, giver)
    department = department_of(session, recipient)
    kudos = Kudos(
        giver_id=giver,
        recipient_id=recipient,
        department_id=department.id if department else None,
        message=text,
        value=tag,
        created_at=now,
    )
    session.add(kudos)
    session.flush()
    allowance = _allowance(session, giver, now)  # counts this one too
    if allowance.used > allowance.allowance:
        session.rollback()
        left_for = allowance.resets_at - now.astimezone(ZoneInfo(allowance.timezone))
        raise Conflict(
            "kudos.spent",
            allowance=allowance.allowance,
            resets_at=allowance.resets_at,
            timezone=allowance.timezone,
            hours=max(1, round(left_for / timedelta(hours=1))),
        )
    given = KudosGiven(
        kudos=kudos,
        department=department,
        channel=department.channel if department and department.channel else recipient,
        locale=_locale(session, department),
        allowance=allowance,
    )
    if deliver is not None:
        deliver(given)
    session.commit()
    return given


def withdraw_kudos(session: Session, *, kudos_id: int, outbox_key: str) -> None:
    """Remove a kudos and its post together, when Slack refused the post for good: nothing
    stays recorded and the allowance is spent back."""
    session.execute(delete(Outbox).where(col(Outbox.key) == outbox_key))
    session.execute(delete(Kudos).where(col(Kudos.id) == kudos_id))
    session.commit()


@dataclass(frozen=True)
class LeaderRow:
    user_id: str
    count: int


@dataclass(frozen=True)
class Leaderboard:
    period: Period
    rows: list[LeaderRow]
    values: list[tuple[str, int]]
    total: int
    allowance: Allowance


def leaderboard(
    *, session: Session, viewer: str, period_name: str = "week", now: datetime
) -> Leaderboard:
    """Who received the most kudos this week or month (the viewer's zone), across departments."""
    kind = _LEADERBOARD_ALIASES.get(period_name.strip().lower(), period_name.lower())
    if kind not in LEADERBOARD_PERIODS:
        raise InvalidInput("kudos.bad_period", value=period_name)
    window = period(kind, now, _zone(session, department_of(session, viewer)))
    within = (Kudos.created_at >= window.start, Kudos.created_at < window.end)
    count = func.count().label("n")
    rows = session.exec(
        select(Kudos.recipient_id, count)
        .where(*within)
        .group_by(Kudos.recipient_id)
        .order_by(count.desc(), Kudos.recipient_id)
        .limit(LEADERBOARD_SIZE)
    ).all()
    values = session.exec(
        select(Kudos.value, count)
        .where(*within, Kudos.value.is_not(None))
        .group_by(Kudos.value)
        .order_by(count.desc(), Kudos.value)
        .limit(3)
    ).all()
    total = session.exec(select(func.count()).select_from(Kudos).where(*within)).one()
    return Leaderboard(
        period=window,
        rows=[LeaderRow(user, int(n)) for user, n in rows],
        values=[(value, int(n)) for value, n in values],
        total=int(total),
        allowance=_allowance(session, viewer, now),
    )


# ── coaching ─────────────────────────────────────────────────────────────────────────────────


def _may_coach(session: Session, actor: str, recipient: str) -> bool:
    if is_admin(session, actor):
        return True
    department = department_of(session, recipient)
    return department is not None and is_manager_of(session, actor, department)


def _refuse(session: Session, template: str, recipient: str) -> PermissionDenied:
    department = department_of(session, recipient)
    return PermissionDenied(
        template,
        user=recipient,
        managers=managers_of(session, department) if department else [],
        admins=admin_ids(session),
    )


@dataclass(frozen=True)
class FeedbackSent:
    feedback: Feedback
    #: the recipient's language
    locale: str


def coach(
    *,
    session: Session,
    author: str,
    recipient: str,
    message: str,
    now: datetime,
    deliver: Callable[[FeedbackSent], object] | None = None,
) -> FeedbackSent:
    """Private feedback from the recipient's manager or an admin, delivered by ``deliver``."""
    if not _may_coach(session, author, recipient):
        raise _refuse(session, "coach.only_manager", recipient)
    if author == recipient:
        raise Conflict("coach.self")
    text = _clean_message(message, "coach.usage")
    feedback = Feedback(author_id=author, recipient_id=recipient, message=text, created_at=now)
    session.add(feedback)
    session.flush()
    sent = FeedbackSent(feedback, _locale(session, department_of(session, recipient)))
    if deliver is not None:
        deliver(sent)
    session.commit()
    return sent


@dataclass(frozen=True)
class FeedbackEntry:
    author_id: str
    message: str
    #: when it was given, in the viewer's zone
    at: datetime


@dataclass(frozen=True)
class FeedbackHistory:
    recipient: str
    items: list[FeedbackEntry]
    total: int
    #: who reads it, so the "who can see this" line addresses them: ``recipient`` (you and
    #: your manager), ``manager`` (the rep and you), or ``admin`` (the rep, their manager and
    #: admins like you); a manager of the rep's department who is also an admin reads as manager
    reader: str = "recipient"


def history(*, session: Session, viewer: str, recipient: str) -> FeedbackHistory:
    """Feedback to ``recipient``, newest first: for them, their manager and admins only."""
    if viewer != recipient and not _may_coach(session, viewer, recipient):
        raise _refuse(session, "coach.history_only", recipient)
    where = Feedback.recipient_id == recipient
    items = session.exec(
        select(Feedback)
        .where(where)
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .limit(HISTORY_SIZE)
    ).all()
    total = session.exec(select(func.count()).select_from(Feedback).where(where)).one()
    zone = ZoneInfo(_zone(session, department_of(session, viewer)))
    return FeedbackHistory(
        recipient=recipient,
        items=[FeedbackEntry(f.author_id, f.message, f.created_at.astimezone(zone)) for f in items],
        total=int(total),
        reader=_reader(session, viewer, recipient),
    )


def _reader(session: Session, viewer: str, recipient: str) -> str:
    if viewer == recipient:
        return "recipient"
    department = department_of(session, recipient)
    if department is not None and is_manager_of(session, viewer, department):
        return "manager"
    return "admin"
