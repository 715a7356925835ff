"""The scheduled posts as they will be sent: the outbox key, the channel and the message.

The worker and the ``/sales digest`` / ``/sales agenda`` previews both call these functions,
so a preview is exactly what the next post will say. Each post is rendered in the
department's locale from templates/digest.j2 and templates/agenda.j2.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot import render
from bot.periods import local_date
from bot.services import reports
from bot.services.absence import away_between
from bot.services.departments import require_manager_or_admin
from bot.services.errors import InvalidInput
from bot.store.models import Department
from jobs import schedules
from jobs.schedules import zone


@dataclass(frozen=True)
class Chart:
    """The weekly chart, drawn only when it is about to be enqueued (drawing costs more than
    the digest's queries)."""

    key: str
    bars: list[tuple[str, int]]
    filename: str
    title: str

    def png(self) -> bytes:
        from jobs import charts  # matplotlib loads only in the process that draws

        return charts.activity_chart(self.bars)


@dataclass(frozen=True)
class Post:
    job: str
    key: str
    channel: str | None
    message: render.Message
    chart: Chart | None = None


def outbox_key(job: str, department: Department, period: str) -> str:
    """``job:department:period``: the unique key that makes a post exactly-once."""
    return f"{job}:{department.id}:{period}"


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def daily_digest(session: Session, department: Department, now: datetime) -> Post | None:
    """The daily digest due at ``now``; None when that is not a working day of the
    department (weekends, its public holidays: ``bot.workdays``)."""
    if not reports.is_workday(now, department.timezone, department):
        return None
    digest = reports.daily_digest(session, department, now)
    day = local_date(now, department.timezone)
    return Post(
        job="daily-digest",
        key=outbox_key("daily-digest", department, day.isoformat()),
        channel=department.channel,
        message=render.message(
            "digest.daily",
            department.locale,
            digest=digest,
            day=day,
            tz=zone(department),
            zone=department.timezone,
            away=away_between(session, department.id, day, day),
        ),
    )


def weekly_digest(session: Session, department: Department, now: datetime) -> Post:
    """The weekly digest and its chart. A week without activities has no chart (bars of
    nothing tell nobody anything), and then the digest does not announce one."""
    digest = reports.weekly_digest(session, department, now)
    week = _iso_week(digest.covered.first_day)
    bars = [(r.user_id, r.total) for r in digest.activity.reps if r.total]
    chart = None
    if bars:
        chart = Chart(
            key=outbox_key("weekly-chart", department, week),
            bars=bars,
            filename=f"activities-{week}.png",
            title=html.unescape(
                render.text("digest.chart_title", department.locale, digest=digest)
            ),
        )
    return Post(
        job="weekly-digest",
        key=outbox_key("weekly-digest", department, week),
        channel=department.channel,
        message=render.message(
            "digest.weekly",
            department.locale,
            digest=digest,
            week=week,
            tz=zone(department),
            chart=chart is not None,
            zone=department.timezone,
            # §9: who is away in the seven days from the post (the week ahead)
            away=away_between(
                session,
                department.id,
                local_date(now, department.timezone),
                local_date(now, department.timezone) + timedelta(days=6),
            ),
        ),
        chart=chart,
    )


def agenda(session: Session, department: Department, now: datetime) -> Post | None:
    """The agenda of the department's next meeting after ``now``; None without meetings, and
    for a meeting on a day that is not a working day (the next agenda covers both)."""
    meeting_at = schedules.next_meeting(department, now)
    if meeting_at is None:
        return None
    if not reports.is_workday(meeting_at, department.timezone, department):
        return None
    data = reports.agenda(session, department, now, meeting_at)
    day = local_date(meeting_at, department.timezone)
    return Post(
        job="agenda",
        key=outbox_key("agenda", department, day.isoformat()),
        channel=department.channel,
        message=render.message(
            "agenda.agenda",
            department.locale,
            agenda=data,
            meeting=meeting_at.astimezone(zone(department)),
            tz=zone(department),
            zone=department.timezone,
            away=away_between(session, department.id, day, day),
        ),
    )


BUILDERS = {"daily-digest": daily_digest, "weekly-digest": weekly_digest, "agenda": agenda}

#: ``/sales digest`` kinds → jobs, and the setting that schedules each job.
DIGEST_KINDS = {"daily": "daily-digest", "weekly": "weekly-digest"}
SETTING = {
    "daily-digest": ("daily_digest", "09:00"),
    "weekly-digest": ("weekly_digest", "fri 17:00"),
    "agenda": ("meeting", "mon 10:00"),
}


def preview(session: Session, department: Department, job: str, now: datetime) -> render.Message:
    """What ``job`` will post next for ``department``: built by the same function as the post,
    as if the clock read the next scheduled time, with a line saying where and when."""
    when = schedules.next_run(job, department, now)
    if when is None:
        setting, example = SETTING[job]
        raise InvalidInput(
            "digest.off", department=department.name, setting=setting, example=example
        )
    post = BUILDERS[job](session, department, when)
    assert post is not None  # the next run of a scheduled post is never skipped
    note = render.message(
        "digest.preview",
        department.locale,
        channel=department.channel,
        when=when,
        tz=zone(department),
    )
    room = render.MAX_BLOCKS - len(note.blocks)
    return render.Message(
        text=post.message.text, blocks=[*note.blocks, *post.message.blocks[:room]]
    )


def preview_digest(
    session: Session, *, actor: str, words: list[str], now: datetime
) -> render.Message:
    """``/sales digest [department] [daily|weekly]`` (managers of that department, admins)."""
    department, kind = reports.resolve_scope(
        session,
        actor=actor,
        words=words,
        choices=tuple(DIGEST_KINDS),
        default="daily",
        command="digest",
    )
    require_manager_or_admin(session, actor, department)
    return preview(session, department, DIGEST_KINDS[kind], now)


def preview_agenda(
    session: Session, *, actor: str, words: list[str], now: datetime
) -> render.Message:
    """``/sales agenda [department]`` (managers of that department, admins)."""
    department, _ = reports.resolve_scope(
        session, actor=actor, words=words, choices=(), default="", command="agenda"
    )
    require_manager_or_admin(session, actor, department)
    return preview(session, department, "agenda", now)
