"""The real ``salesbot worker`` process: started ten minutes after a department's weekly
digest was due, it posts it once; restarted, it posts nothing more."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.store.models import Department
from tests.conftest import TOKEN, salesbot_argv, salesbot_env
from tests.digest_support import setup_org

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekly_posts(fake) -> list:  # type: ignore[no-untyped-def]
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.failed is None and c.body["channel"] == "C0ENT" and "weekly digest" in c.body["text"]
    ]


def _run_worker(db_url: str, fake, log: Path, until, **extra: str) -> str:  # type: ignore[no-untyped-def]
    env = salesbot_env(
        {
            "DATABASE_URL": db_url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_API_URL": fake.url,
            **extra,
        }
    )
    with open(log, "wb") as out:
        process = subprocess.Popen(salesbot_argv("worker"), env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not until():
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
            time.sleep(1.0)  # anything more it would post, it posts now
        finally:
            process.terminate()
            process.wait(timeout=10)
    return log.read_text()


def test_worker_catches_up_once(engine, db_url, fake_slack, tmp_path) -> None:
    org = setup_org(engine)
    due = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    with Session(engine) as session:
        department = session.get(Department, org["Enterprise"].id)
        department.timezone = "UTC"
        department.weekly_digest = f"{WEEKDAYS[due.weekday()]} {due:%H:%M}"
        session.add(department)
        session.commit()
    first = _run_worker(db_url, fake_slack, tmp_path / "w1.log", lambda: _weekly_posts(fake_slack))
    assert len(_weekly_posts(fake_slack)) == 1, first
    assert "worker started: deliver-outbox" in first and "weekly-digest:" in first
    second = _run_worker(
        db_url,
        fake_slack,
        tmp_path / "w2.log",
        lambda: "started" in (tmp_path / "w2.log").read_text(),
    )
    assert len(_weekly_posts(fake_slack)) == 1, second


def test_worker_serves_metrics_on_metrics_port(engine, db_url, fake_slack, tmp_path) -> None:
    setup_org(engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scraped: list[str] = []

    def job_runs_counted() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
                scraped.append(reply.read().decode())
        except OSError:
            return False
        return 'salesbot_job_runs_total{job="deliver-outbox",outcome="ok"}' in scraped[-1]

    _run_worker(db_url, fake_slack, tmp_path / "w.log", job_runs_counted, METRICS_PORT=str(port))
    assert "salesbot_outbox_pending 0.0" in scraped[-1]
    assert TOKEN not in scraped[-1]
