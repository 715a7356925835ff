"""``salesbot serve --socket``: a slash command arrives over Socket Mode and the reply comes
back in the acknowledgement, through the same app as HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.devslack.fake_socket import FakeSocketMode
from tests.conftest import SECRET, TOKEN, salesbot_argv, salesbot_env


@pytest.fixture
def socket_mode(fake_slack):  # type: ignore[no-untyped-def]
    fake = FakeSocketMode(fake_slack).start()
    yield fake
    fake.stop()


def test_slash_command_over_socket_mode(socket_mode, fake_slack, tmp_path: Path) -> None:
    env = salesbot_env(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_APP_TOKEN": "xapp-1-test",
            "SLACK_API_URL": fake_slack.url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'socket.db'}",
        }
    )
    log = open(tmp_path / "socket.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(salesbot_argv("serve", "--socket"), env=env, stdout=log, stderr=log)
    try:
        envelope = socket_mode.send(
            "slash_commands",
            {
                "command": "/sales",
                "text": "help",
                "user_id": "U0REP1",
                "channel_id": "C0TEST",
                "team_id": "T0TEAM",
                "response_url": fake_slack.response_url("socket"),
                "trigger_id": "1.2.3",
            },
        )
        ack = socket_mode.ack(envelope)
        assert "/lead claim" in ack["payload"]["text"]
        assert ack["payload"]["response_type"] == "ephemeral"
        assert fake_slack.calls_to("apps.connections.open")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
