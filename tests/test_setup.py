"""``salesbot setup``: idempotent import, and each error naming its key and line."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.services.errors import InvalidInput
from bot.services.setup import import_setup
from bot.store.models import Department, Member
from tests.conftest import SETUP_TOML, run_salesbot


def _state(engine) -> tuple:
    with Session(engine) as session:
        departments = sorted(
            (d.name, d.channel, d.timezone, d.locale, d.claim_days)
            for d in session.exec(select(Department))
        )
        members = sorted(
            (m.user_id, m.department_id is not None, m.role, m.is_admin)
            for m in session.exec(select(Member))
        )
    return departments, members


def test_import_is_idempotent_and_updates_in_place(engine) -> None:
    with Session(engine) as session:
        first = import_setup(session=session, text=SETUP_TOML)
    assert first.created == ["Enterprise", "SMB"]
    before = _state(engine)
    with Session(engine) as session:
        again = import_setup(session=session, text=SETUP_TOML)
    assert again.created == [] and again.updated == ["Enterprise", "SMB"]
    assert _state(engine) == before
    edited = SETUP_TOML.replace('channel = "C0SMB"', 'channel = "C0SMB2"')
    with Session(engine) as session:
        import_setup(session=session, text=edited)
    departments, members = _state(engine)
    assert ("SMB", "C0SMB2", "Asia/Shanghai", "zh-CN", 14) in departments
    assert ("Enterprise", "C0ENT", "Asia/Shanghai", "en", 14) in departments
    assert ("U0ADMIN", False, None, True) in members
    assert ("U0MGR1", True, "manager", False) in members
    assert len(departments) == 2


@pytest.mark.parametrize(
    ("change", "template", "expected"),
    [
        (
            ("claim_days = 14", "claim_days = 14\ncolour = 1"),
            "setup_unknown_key",
            {"key": "colour", "line": 15},
        ),
        (
            ('reps = ["U0REP3"]', 'reps = ["U0REP3", "U0REP1"]'),
            "setup_member_twice",
            {"user": "U0REP1", "first": "Enterprise", "second": "SMB"},
        ),
        (
            ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Base"'),
            "setup_bad_value",
            {"key": "timezone", "line": 2},
        ),
        (
            ('admins = ["U0ADMIN"]', 'admins = [""]'),
            "setup_bad_user",
            {"key": "admins", "value": "", "line": 4},
        ),
        (
            ('admins = ["U0ADMIN"]', 'admins = ["bob"]'),
            "setup_bad_user",
            {"key": "admins", "value": "bob", "line": 4},
        ),
        (
            ('daily_digest = "09:00"', 'daily_digest = "9am"'),
            "setup_bad_value",
            {"key": "daily_digest", "line": 11},
        ),
        (('locale = "en"', 'locale = "fr"'), "setup_bad_value", {"key": "locale", "line": 3}),
        (
            ('locale = "en"', 'locale = "en"\nfree_mail_domains = ["corp mail"]'),
            "setup_bad_value",
            {"key": "free_mail_domains", "value": "corp mail", "line": 4},
        ),
    ],
)
def test_each_error_names_key_and_line_and_writes_nothing(engine, change, template, expected):
    text = SETUP_TOML.replace(*change, 1)
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text=text)
    assert caught.value.template == template
    for key, value in expected.items():
        assert caught.value.data[key] == value
    assert _state(engine) == ([], [])


def test_cli_prints_one_line_and_fails(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SETUP_TOML.replace("claim_days = 14", "claim_days = 14\ncolour = 1"))
    done = run_salesbot("setup", str(path), env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert done.returncode == 2
    assert "Line 15: unknown key “colour”" in done.stderr
    good = tmp_path / "good.toml"
    good.write_text(SETUP_TOML)
    done = run_salesbot("setup", str(good), env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert done.returncode == 0, done.stderr
    assert "2 department(s) created (Enterprise, SMB)" in done.stdout
