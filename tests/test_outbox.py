"""The outbox: one post per key, retried through 429 / 500 / dropped connections, never twice."""

from __future__ import annotations

import signal
import subprocess
import threading
from datetime import timedelta

from sqlmodel import Session, select

from bot.config import load_settings
from bot.store.models import Outbox, ProcessedEvent, utcnow
from jobs.outbox import deliver_due, enqueue
from jobs.runner import run_job, worker_client
from tests.conftest import run_salesbot, salesbot_argv, salesbot_env

KEY = "daily-digest:1:2026-11-23"


def _client(fake):
    return worker_client(load_settings(slack_api_url=fake.url, slack_bot_token="xoxb-test"))


def test_same_key_is_enqueued_once(engine) -> None:
    now = utcnow()
    payload = {"text": "hello"}
    with Session(engine) as session:
        assert enqueue(session, key=KEY, channel="C0ENT", payload=payload, now=now)
        assert not enqueue(session, key=KEY, channel="C0ENT", payload=payload, now=now)
        assert len(session.exec(select(Outbox)).all()) == 1


def test_failures_are_retried_and_the_post_lands_once(engine, fake_slack) -> None:
    now = utcnow()
    with Session(engine) as session:
        enqueue(session, key=KEY, channel="C0ENT", payload={"text": "digest"}, now=now)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    client = _client(fake_slack)
    first = deliver_due(engine, client, now=now)
    assert first.retrying == [KEY] and first.sent == []
    with Session(engine) as session:
        row = session.exec(select(Outbox)).one()
        assert row.next_attempt_at == now + timedelta(seconds=7)  # Retry-After honoured
    assert deliver_due(engine, client, now=now + timedelta(seconds=6)).sent == []
    fake_slack.fail_next("chat.postMessage", status=500)
    assert deliver_due(engine, client, now=now + timedelta(seconds=7)).retrying == [KEY]
    fake_slack.fail_next("chat.postMessage", drop=True)
    later = now + timedelta(minutes=5)
    assert deliver_due(engine, client, now=later).retrying == [KEY]
    done = deliver_due(engine, client, now=later + timedelta(hours=1))
    assert done.sent == [KEY]
    assert deliver_due(engine, client, now=later + timedelta(hours=2)).sent == []
    delivered = [c for c in fake_slack.calls_to("chat.postMessage") if c.failed is None]
    assert len(delivered) == 1 and delivered[0].body["text"] == "digest"
    with Session(engine) as session:
        row = session.exec(select(Outbox)).one()
        assert row.sent_at is not None and row.attempts == 4 and row.last_error is None


def test_two_workers_at_once_post_once(engine, fake_slack) -> None:
    now = utcnow()
    with Session(engine) as session:
        for n in range(10):
            enqueue(session, key=f"k:{n}", channel="C0ENT", payload={"text": str(n)}, now=now)
    client = _client(fake_slack)
    threads = [
        threading.Thread(target=deliver_due, args=(engine, client), kwargs={"now": now})
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = sorted(c.body["text"] for c in fake_slack.calls_to("chat.postMessage"))
    assert texts == sorted(str(n) for n in range(10))


def test_run_job_deliver_outbox_twice_posts_once(db_url, fake_slack, engine) -> None:
    with Session(engine) as session:
        enqueue(session, key=KEY, channel="C0ENT", payload={"text": "hi"}, now=utcnow())
    env = {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.url}
    for expected in ("1 sent", "0 sent"):
        done = run_salesbot("run-job", "deliver-outbox", env=env)
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_a_worker_killed_mid_delivery_does_not_post_twice(db_url, fake_slack, engine) -> None:
    """Slack accepted the post, the worker died before it heard: the next run finds the post by
    its outbox key in the channel's history and marks the row sent instead of posting again."""
    now = utcnow()
    with Session(engine) as session:
        for n, channel in enumerate(("C0ENT", "U0REP1")):
            enqueue(session, key=f"{KEY}:{n}", channel=channel, payload={"text": "hi"}, now=now)
    env = {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.url}
    fake_slack.slow_next("chat.postMessage", 30)
    worker = subprocess.Popen(
        salesbot_argv("run-job", "deliver-outbox"),
        env=salesbot_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        fake_slack.wait_for("chat.postMessage", 1, timeout=30)  # the post landed in Slack …
    finally:
        worker.send_signal(signal.SIGKILL)  # … and the worker died before it heard
        worker.wait(timeout=10)
    with Session(engine) as session:
        first = session.exec(select(Outbox).where(Outbox.key == f"{KEY}:0")).one()
        assert first.sent_at is None and first.attempts == 1
    later = (now + timedelta(minutes=3)).isoformat()
    done = run_salesbot("run-job", "deliver-outbox", "--at", later, env=env)
    assert done.returncode == 0, done.stderr
    posts = [c for c in fake_slack.calls_to("chat.postMessage") if c.failed is None]
    assert [c.body["channel"] for c in posts] == ["C0ENT", "U0REP1"], posts
    assert all(c.body["metadata"]["event_payload"]["key"].startswith(KEY) for c in posts)
    with Session(engine) as session:
        assert all(row.sent_at is not None for row in session.exec(select(Outbox)))


def test_event_ids_are_forgotten_after_a_day(engine) -> None:
    now = utcnow()
    with Session(engine) as session:
        for event_id, age in (("Ev1", timedelta(hours=25)), ("Ev2", timedelta(hours=2))):
            session.add(ProcessedEvent(event_id=event_id, received_at=now - age))
        session.commit()
    report = run_job("prune-events", engine=engine, client=None, now=now, deliver=False)
    assert report.pruned == 1
    with Session(engine) as session:
        assert session.exec(select(ProcessedEvent.event_id)).all() == ["Ev2"]
