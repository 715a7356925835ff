"""The jobs ``daily-digest``, ``weekly-digest`` and ``agenda``: build each department's post
and put it in the outbox under its ``job:department:period`` key.

A job only enqueues; delivery is ``deliver-outbox``'s (``run_job`` runs it right after). A
department whose post is off, that has no channel, or whose day (the digest's, the
meeting's) is not a working day (``bot.workdays``: weekends, public holidays) is skipped and
reported as such. Running a job again for the same period adds nothing: the key is there.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.money import currency_of
from bot.services.departments import find_department
from bot.store.models import Department, Outbox
from jobs import outbox, posts, schedules
from jobs.report import JobReport


def departments(session: Session, department: str | int | None) -> list[Department]:
    """All departments, one by id (the worker) or one by name (``--department``)."""
    if department is None:
        return list(session.exec(select(Department).order_by(Department.id)))
    if isinstance(department, int):
        found = session.get(Department, department)
        return [found] if found else []
    return [find_department(session, department)]


def _exists(session: Session, key: str) -> bool:
    return session.exec(select(Outbox.id).where(Outbox.key == key)).first() is not None


def enqueue_post(session: Session, post: posts.Post, now: datetime, report: JobReport) -> None:
    assert post.channel is not None
    added = outbox.enqueue(
        session, key=post.key, channel=post.channel, payload=post.message.as_post(), now=now
    )
    report.queued(post.key, added)
    chart = post.chart
    if chart is None or not chart.bars:
        return
    if _exists(session, chart.key):
        report.already.append(chart.key)
        return
    payload = outbox.file_payload(content=chart.png(), filename=chart.filename, title=chart.title)
    added = outbox.enqueue(session, key=chart.key, channel=post.channel, payload=payload, now=now)
    report.queued(chart.key, added)


def run_posts(job: str, engine: Engine, now: datetime, department: str | int | None) -> JobReport:
    report = JobReport()
    build = posts.BUILDERS[job]
    with Session(engine, expire_on_commit=False) as session:
        currency_of(session)  # amounts in the posts are in the company's currency
        for dept in departments(session, department):
            if schedules.spec_of(job, dept) is None:
                report.skip(dept.name, "off")
                continue
            if not dept.channel:
                report.skip(dept.name, "no_channel")
                continue
            post = build(session, dept, now)
            if post is None:
                report.skip(dept.name, "not_working_day")
                continue
            enqueue_post(session, post, now, report)
    return report


def daily_digest_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    return run_posts("daily-digest", engine, now, department)


def weekly_digest_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    return run_posts("weekly-digest", engine, now, department)


def agenda_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    return run_posts("agenda", engine, now, department)
