"""A missing or malformed setting stops the process with one line naming the variable."""

from __future__ import annotations

from tests.conftest import run_salesbot


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1]


def test_serve_without_signing_secret_names_the_variable(tmp_path) -> None:
    done = run_salesbot(
        "serve", env={"SLACK_BOT_TOKEN": "xoxb-1", "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    )
    assert done.returncode == 2
    assert _last_line(done.stderr).startswith("salesbot: SLACK_SIGNING_SECRET is missing")
    assert len(done.stderr.strip().splitlines()) == 1


def test_malformed_values_name_the_variable_and_what_it_expects(tmp_path) -> None:
    cases = {
        "PORT": ("eighty", "TCP port"),
        "SALESBOT_TZ": ("Mars/Base", "IANA timezone"),
        "SLACK_API_URL": ("slack", "Web API base URL"),
        "DATABASE_URL": ("mysql://x", "SQLAlchemy URL"),
    }
    for name, (value, expects) in cases.items():
        env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", name: value}
        env.setdefault("DATABASE_URL", f"sqlite:///{tmp_path}/a.db")
        done = run_salesbot("serve", env=env)
        assert done.returncode == 2, name
        line = _last_line(done.stderr)
        assert line.startswith(f"salesbot: {name} is malformed"), line
        assert expects in line, line
    secret = run_salesbot(
        "serve", env={"SLACK_BOT_TOKEN": "not-a-token", "SLACK_SIGNING_SECRET": "s"}
    )
    assert "SLACK_BOT_TOKEN" in secret.stderr and "not-a-token" not in secret.stderr


def test_db_upgrade_is_idempotent(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/u.db"}
    for _ in range(2):
        done = run_salesbot("db", "upgrade", env=env)
        assert done.returncode == 0, done.stderr
        assert "latest schema" in done.stdout
