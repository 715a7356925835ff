"""Operations (DESIGN §12) against a running ``salesbot serve`` of two web processes:
``/metrics`` adds up every process's counts, and JSON log lines hold what an operator needs and
no secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SECRET, TOKEN, LiveServer, import_setup_text


def _started(db_url: str, fake, tmp_path: Path, **env: str) -> LiveServer:  # type: ignore[no-untyped-def]
    live = LiveServer(db_url=db_url, fake=fake, log_path=tmp_path / "serve.log", workers=2, env=env)
    setup = 'admins = ["U0ADMIN"]\n[[department]]\nname = "Enterprise"\nreps = ["U0REP1"]\n'
    import_setup_text(db_url, setup)
    return live


@pytest.fixture
def two_workers(db_url: str, fake_slack, tmp_path: Path) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    live = _started(db_url, fake_slack, tmp_path)
    yield live
    live.stop()


def _samples(server: LiveServer) -> dict[tuple[str, tuple], float]:
    reply = server.get("/metrics")
    assert reply.status == 200
    assert TOKEN not in reply.body and SECRET not in reply.body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.body)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_add_up_every_web_process(two_workers) -> None:
    server = two_workers
    for _ in range(12):
        assert server.command("/sales", "help", user="U0REP1").status == 200
    server.command("/lead", "claim Acme", user="U0GUEST")  # refused: in no department
    for _ in range(2):
        server.post("command=%2Fsales&text=help", secret="not-the-secret")
    requests = "salesbot_requests_total"
    for _ in range(6):  # whichever process answers the scrape, the counts are the same
        samples = _samples(server)
        assert _value(samples, requests, kind="command", command="/sales", outcome="ok") == 12
        assert _value(samples, requests, kind="command", command="/lead", outcome="refused") == 1
        assert _value(samples, requests, kind="http", command="other", outcome="signature") == 2
        assert _value(samples, "salesbot_request_duration_seconds_count", kind="command") == 13
        assert _value(samples, "salesbot_outbox_pending") == 0
        assert _value(samples, "salesbot_outbox_oldest_pending_age_seconds") == 0
    booted = [line for line in server.log().splitlines() if "Booting worker with pid" in line]
    assert len(booted) == 2  # two processes counted


def test_json_logs_hold_the_request_and_no_secret(db_url, fake_slack, tmp_path) -> None:
    server = _started(db_url, fake_slack, tmp_path, SALESBOT_LOG_FORMAT="json")
    try:
        server.command("/lead", "claim Nul\x00Corp", user="U0REP1")
        server.post("command=%2Fsales&text=help", secret="not-the-secret")
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log().splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    [nul] = [line for line in lines if "NUL" in line["message"]]
    assert (nul["command"], nul["user"], nul["level"]) == ("/lead", "U0REP1", "WARNING")
    assert any("signature" in line["message"] for line in lines)
    text = server.log()
    assert SECRET not in text and TOKEN not in text and "x-slack-signature" not in text.lower()
