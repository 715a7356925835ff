"""``salesbot worker``: posts at 09:00 local in each department's zone, across DST, after a
restart, with two workers — always exactly once. The clock is moved with time-machine; the
scheduler is the real APScheduler on a background thread, waiting real seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import Session, select

from bot.store.models import Department, Outbox
from jobs.scheduler import Worker, build_worker
from tests.digest_support import client_for, setup_org

#: Tue 24 Nov 2026: 09:00 in Shanghai is 01:00 UTC; 09:00 in New York is 14:00 UTC.
SHANGHAI_0900 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
NEW_YORK_0900 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


def _daily_posts(fake, channel: str) -> list:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.failed is None
        and c.body["channel"] == channel
        and ("daily digest" in c.body["text"] or "日报" in c.body["text"])
    ]


def _wait_for(predicate, timeout: float = 8.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _start(engine, fake) -> Worker:  # type: ignore[no-untyped-def]
    worker = build_worker(engine=engine, client=client_for(fake), background=True)
    worker.install()
    worker.scheduler.start()
    return worker


@pytest.fixture
def org(engine):  # type: ignore[no-untyped-def]
    return setup_org(engine)


def test_fires_at_0900_local_in_two_time_zones(engine, fake_slack, org) -> None:
    with time_machine.travel(SHANGHAI_0900.replace(second=0).timestamp() - 2, tick=True):
        worker = _start(engine, fake_slack)
        try:
            assert _daily_posts(fake_slack, "C0ENT") == []  # not before 09:00
            assert _wait_for(lambda: len(_daily_posts(fake_slack, "C0ENT")) == 1)
            time.sleep(0.5)
        finally:
            worker.scheduler.shutdown()
    assert "Tue 24 Nov" in _daily_posts(fake_slack, "C0ENT")[0].body["text"]
    assert _daily_posts(fake_slack, "C0FARM") == []  # 20:00 the evening before in New York
    with time_machine.travel(NEW_YORK_0900.timestamp() - 2, tick=True):
        worker = _start(engine, fake_slack)
        try:
            assert _daily_posts(fake_slack, "C0FARM") == []
            assert _wait_for(lambda: len(_daily_posts(fake_slack, "C0FARM")) == 1)
        finally:
            worker.scheduler.shutdown()
    assert "11月24日" in _daily_posts(fake_slack, "C0FARM")[0].body["text"]  # zh-CN locale
    assert len(_daily_posts(fake_slack, "C0ENT")) == 1


def test_after_the_dst_change_new_york_fires_at_1400_utc_not_1300(engine, fake_slack, org) -> None:
    monday = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # 08:00 EST; 09:00 under summer time
    with time_machine.travel(monday.timestamp() - 2, tick=True):
        worker = _start(engine, fake_slack)
        try:
            time.sleep(3.5)
            assert _daily_posts(fake_slack, "C0FARM") == []
        finally:
            worker.scheduler.shutdown()
    with time_machine.travel(monday.replace(hour=14).timestamp() - 2, tick=True):
        worker = _start(engine, fake_slack)
        try:
            assert _wait_for(lambda: len(_daily_posts(fake_slack, "C0FARM")) == 1)
        finally:
            worker.scheduler.shutdown()


def test_worker_down_over_0900_catches_up_once_at_0920(engine, fake_slack, org) -> None:
    with time_machine.travel(datetime(2026, 11, 24, 0, 50, tzinfo=UTC), tick=False):
        worker = build_worker(engine=engine, client=client_for(fake_slack), background=True)
        worker.install()  # 08:50: nothing is due yet
        assert fake_slack.calls_to("chat.postMessage") == []
    # ... the worker is down at 09:00 and comes back at 09:20
    with time_machine.travel(datetime(2026, 11, 24, 1, 20, tzinfo=UTC), tick=False):
        worker = build_worker(engine=engine, client=client_for(fake_slack), background=True)
        worker.install()
        assert len(_daily_posts(fake_slack, "C0ENT")) == 1
        job = worker.scheduler.get_job(f"daily-digest:{org['Enterprise'].id}")
        assert job is not None and job.trigger.timezone.key == "Asia/Shanghai"
    with time_machine.travel(datetime(2026, 11, 24, 1, 25, tzinfo=UTC), tick=False):
        build_worker(engine=engine, client=client_for(fake_slack), background=True).install()
    # ... and restarted at 10:30, past the grace period: nothing more
    with time_machine.travel(datetime(2026, 11, 24, 2, 30, tzinfo=UTC), tick=False):
        build_worker(engine=engine, client=client_for(fake_slack), background=True).install()
    assert len(_daily_posts(fake_slack, "C0ENT")) == 1
    assert _daily_posts(fake_slack, "C0FARM") == []


def test_two_workers_at_once_post_once(engine, fake_slack, org) -> None:
    with time_machine.travel(SHANGHAI_0900.timestamp() - 2, tick=True):
        workers = [_start(engine, fake_slack), _start(engine, fake_slack)]
        try:
            assert _wait_for(lambda: len(_daily_posts(fake_slack, "C0ENT")) >= 1)
            time.sleep(1.5)
        finally:
            for worker in workers:
                worker.scheduler.shutdown()
    assert len(_daily_posts(fake_slack, "C0ENT")) == 1
    with Session(engine) as session:
        keys = session.exec(select(Outbox.key)).all()
    assert keys.count(f"daily-digest:{org['Enterprise'].id}:2026-11-24") == 1


def test_schedule_changes_apply_without_a_restart(engine, fake_slack, org) -> None:
    enterprise_id = org["Enterprise"].id
    with time_machine.travel(datetime(2026, 11, 24, 0, 0, tzinfo=UTC), tick=False):
        worker = build_worker(engine=engine, client=client_for(fake_slack), background=True)
        worker.install()
        worker.scheduler.start(paused=True)
        job_id = f"daily-digest:{enterprise_id}"
        assert worker.scheduler.get_job(job_id).trigger.fields[5].expressions[0].first == 9
        with Session(engine) as session:  # as `/sales dept set Enterprise daily_digest 08:30`
            department = session.get(Department, enterprise_id)
            department.daily_digest = "08:30"
            department.meeting = None
            session.add(department)
            session.commit()
        assert sorted(worker.sync()) == [job_id]
        assert worker.scheduler.get_job(job_id).trigger.fields[5].expressions[0].first == 8
        assert worker.scheduler.get_job(f"agenda:{enterprise_id}") is None
        assert worker.sync() == []  # nothing changed since
    # a new department from `salesbot setup` is picked up too
    setup_org(
        engine,
        'timezone = "Europe/Berlin"\n[[department]]\nname = "Key Accounts"\nchannel = "C0KEY"\n',
    )
    with Session(engine) as session:
        key_id = session.exec(select(Department.id).where(Department.name == "Key Accounts")).one()
    assert f"daily-digest:{key_id}" in worker.sync()
    job = worker.scheduler.get_job(f"daily-digest:{key_id}")
    assert job.trigger.timezone.key == "Europe/Berlin"
    assert job.misfire_grace_time == 3600 and job.coalesce
    worker.scheduler.shutdown()


def test_the_repeated_hour_at_the_end_of_summer_time_posts_once(engine, fake_slack, org) -> None:
    """New York, Sun 1 Nov 2026: 01:30 happens at 05:30 and again at 06:30 UTC. A worker
    running through both posts the weekly digest once and moves on to the next Sunday."""
    with Session(engine) as session:
        farmers = session.get(Department, org["Farmers"].id)
        farmers.weekly_digest = "sun 01:30"
        session.add(farmers)
        session.commit()
    job_id = f"weekly-digest:{org['Farmers'].id}"
    second_0130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    with time_machine.travel(second_0130.timestamp() - 2, tick=True):
        worker = _start(engine, fake_slack)  # catches up the first 01:30 at once
        try:
            assert _wait_for(lambda: len(_weekly(fake_slack)) == 1)
            assert _wait_for(
                lambda: (
                    worker.scheduler.get_job(job_id).next_run_time.astimezone(UTC)
                    == datetime(2026, 11, 8, 6, 30, tzinfo=UTC)
                )
            )
        finally:
            worker.scheduler.shutdown()
    assert len(_weekly(fake_slack)) == 1


def _weekly(fake) -> list:  # type: ignore[no-untyped-def]
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.failed is None and c.body["channel"] == "C0FARM" and "周报" in c.body["text"]
    ]
