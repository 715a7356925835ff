"""Settings that must not break the product: department ranges, the setup file's errors all at
once, removing or moving a rep who owns leads, the company's currency, the CLI's plain text."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot import render
from bot.money import format_money
from bot.services.errors import InvalidInput
from bot.services.setup import import_setup
from bot.store.db import make_engine
from bot.store.models import Department, Lead, Member, OwnershipEvent, Setting
from tests.conftest import SETUP_TOML, import_setup_text, run_salesbot
from tests.leads_support import lead_named
from tests.targets_support import db, department

# ── 1. ranges, from Slack ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "dept set Enterprise claim_days 10000000",
            "“10000000” is not a valid claim_days: use a whole number of days from 1 to 365."
            " For example: `claim_days 14`.",
        ),
        (
            "dept set Enterprise claim_days 0",
            "“0” is not a valid claim_days: use a whole number of days from 1 to 365.",
        ),
        (
            "dept set Enterprise claim_days 3",  # warn_days is 3
            "“3” is not a valid claim_days: use a whole number of days from 4 to 365"
            " (more than warn_days).",
        ),
        (
            "dept set Enterprise warn_days 14",  # claim_days is 14
            "“14” is not a valid warn_days: use a whole number of days from 0 to 13"
            " (fewer than claim_days). For example: `warn_days 3`.",
        ),
        (
            "dept set Enterprise warn_days -1",
            "“-1” is not a valid warn_days: use a whole number of days from 0 to 364",
        ),
        (
            "dept set Enterprise max_leads_per_rep 10001",
            "“10001” is not a valid max_leads_per_rep: use a whole number from 0 (no cap)"
            " to 10000. For example: `max_leads_per_rep 200`.",
        ),
        (
            "dept set Enterprise max_leads_per_rep 1e9",
            "“1e9” is not a valid max_leads_per_rep",
        ),
        (
            "dept set Enterprise daily_digest 25:00",
            "“25:00” is not a valid daily_digest: use a time of day as HH:MM (24-hour), or off."
            " For example: `daily_digest 09:00 | off`.",
        ),
        (
            "dept set Enterprise meeting someday",
            "“someday” is not a valid meeting: use a weekday and a time as HH:MM (24-hour), or off",
        ),
        (
            "dept set Enterprise timezone Mars/Olympus",
            "“Mars/Olympus” is not a valid timezone: use an IANA time zone name",
        ),
        ("dept set Enterprise locale fr", "“fr” is not a valid locale: use en or zh-CN."),
        ("dept set Enterprise timezone America", "“America” is not a valid timezone"),
    ],
)
def test_out_of_range_settings_are_refused_naming_the_range(org, text, expected) -> None:
    reply = org.command("/sales", text, user="U0ADMIN")
    assert reply.json()["response_type"] == "ephemeral"
    assert expected in reply.text
    with db(org) as s:
        enterprise = department(s, "Enterprise")
    assert (enterprise.claim_days, enterprise.warn_days, enterprise.max_leads_per_rep) == (
        14,
        3,
        200,
    )


def test_settings_within_range_are_kept_and_claims_still_work(org) -> None:
    reply = org.command("/sales", "dept set Enterprise claim_days 365", user="U0ADMIN")
    assert "claim_days is now 365" in reply.text
    reply = org.command("/sales", "dept set Enterprise warn_days 0", user="U0ADMIN")
    assert "warn_days is now 0" in reply.text
    reply = org.command("/sales", "dept set Enterprise max_leads_per_rep 0", user="U0ADMIN")
    assert "max_leads_per_rep is now 0" in reply.text
    reply = org.command("/lead", "claim Initech", user="U0REP1")
    assert "is now yours" in reply.text


def test_range_refusal_in_chinese(org) -> None:
    with db(org) as s:
        s.get(Setting, "locale").value = "zh-CN"  # the admin, in no department, reads zh-CN
        s.commit()
    reply = org.command("/sales", "dept set SMB claim_days 999", user="U0ADMIN")
    assert (
        "“999”不是有效的 claim_days：请使用 1 到 365 之间的整数天数。例如：`claim_days 14`。"
        in reply.text
    )
    reply = org.command("/sales", "dept set SMB warn_days 20", user="U0ADMIN")
    assert "请使用 0 到 13 之间的整数天数（须小于 claim_days）" in reply.text


def test_meeting_off_is_shown_as_off(org) -> None:
    org.command("/sales", "dept set Enterprise meeting off", user="U0ADMIN")
    reply = org.command("/sales", "dept show Enterprise", user="U0ADMIN")
    assert "Meeting: off" in reply.text and "none" not in reply.text.split("Meeting:")[1][:8]
    org.command("/sales", "dept set SMB meeting off", user="U0ADMIN")
    reply = org.command("/sales", "dept show SMB", user="U0REP3")  # SMB reads zh-CN
    assert "例会：关闭" in reply.text


# ── 1 and 2. the setup file: the same ranges, every error at once ────────────────────────────


def test_setup_checks_the_same_ranges(engine) -> None:
    text = SETUP_TOML.replace("claim_days = 14", "claim_days = 10000000")
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text=text)
    assert caught.value.template == "setup_bad_value"
    assert caught.value.data["key"] == "claim_days" and caught.value.data["line"] == 14
    said = render.text("errors.setup_bad_value", "en", **caught.value.data)
    assert said == (
        "Line 14: claim_days = “10000000” is not valid: use a whole number of days from 1 to"
        " 365, e.g. claim_days = 14."
    )
    text = SETUP_TOML.replace("warn_days = 3", "warn_days = 14")
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text=text)
    assert caught.value.data["key"] == "warn_days" and caught.value.data["high"] == 13


def test_setup_reports_every_error_with_its_line(engine) -> None:
    text = (
        SETUP_TOML.replace('locale = "en"', 'locale = "fr"')
        .replace("claim_days = 14", "claim_days = 0\ncolour = 1")
        .replace('reps = ["U0REP3"]', 'reps = ["U0REP3", "U0REP1", "bob"]')
        .replace('meeting = "mon 10:00"', 'meeting = "someday"')
    )
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text=text)
    found = [(e.template, e.data.get("key"), e.data["line"]) for e in caught.value.errors]
    assert found == [
        ("setup_bad_value", "locale", 3),
        ("setup_bad_value", "meeting", 13),
        ("setup_bad_value", "claim_days", 14),
        ("setup_unknown_key", "colour", 15),
        ("setup_bad_user", "reps", 24),
        ("setup_member_twice", None, 24),
    ]
    with Session(engine) as session:
        assert list(session.exec(select(Department))) == []


def test_setup_cli_prints_every_error_in_plain_text(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        SETUP_TOML.replace("claim_days = 14", "claim_days = 14\ncolour = 1").replace(
            "max_leads_per_rep = 200", "max_leads_per_rep = 20000"
        )
    )
    done = run_salesbot("setup", str(path), env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"salesbot setup {path}: Line 15: unknown key “colour”. Remove it or fix its spelling.",
        f"salesbot setup {path}: Line 17: max_leads_per_rep = “20000” is not valid: use a whole"
        " number from 0 (no cap) to 10000, e.g. max_leads_per_rep = 200.",
    ]


def test_setup_currency(engine) -> None:
    text = 'currency = "cny"\n' + SETUP_TOML
    with Session(engine) as session:
        import_setup(session=session, text=text)
    with Session(engine) as session:
        assert session.get(Setting, "currency").value == "CNY"
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text='currency = "EURO"\n' + SETUP_TOML)
    said = render.text("errors.setup_bad_value", "en", **caught.value.data)
    assert said == (
        "Line 1: currency = “EURO” is not valid: use an ISO 4217 currency code such as USD,"
        ' CNY or EUR, e.g. currency = "CNY".'
    )


# ── 3. removing or moving a rep who owns leads ───────────────────────────────────────────────


def _owners(server, *names: str) -> list[tuple[str | None, str | None]]:
    out = []
    with db(server) as s:
        for key in names:
            lead = s.exec(select(Lead).where(Lead.name_key == key)).one()
            dept = s.get(Department, lead.department_id) if lead.department_id else None
            out.append((lead.owner_id, dept.name if dept else None))
    return out


def _events(server, key: str) -> list[tuple[str, str | None, str | None]]:
    lead = lead_named(server, key)
    with db(server) as s:
        return [
            (e.action, e.from_owner, e.to_owner)
            for e in s.exec(
                select(OwnershipEvent)
                .where(OwnershipEvent.lead_id == lead.id)
                .order_by(OwnershipEvent.id)
            )
        ]


def test_removing_a_rep_with_leads_asks_where_they_go(org) -> None:
    org.command("/lead", "claim Initech", user="U0REP1")
    org.command("/lead", "claim Hooli", user="U0REP1")
    reply = org.command("/sales", "dept remove Enterprise <@U0REP1|ana>", user="U0MGR1")
    assert (
        "<@U0REP1> still owns 2 leads in *Enterprise*; nothing was changed. Say where they go:"
        ' `/sales dept remove "Enterprise" <@U0REP1> leads to @someone`' in reply.text
    )
    reply = org.command(
        "/sales", "dept remove Enterprise <@U0REP1|ana> leads to <@U0REP3|zed>", user="U0MGR1"
    )
    assert "<@U0REP3> is not a member of *Enterprise*" in reply.text
    reply = org.command("/sales", "dept remove Enterprise <@U0REP1|ana> leads", user="U0MGR1")
    assert "That is not how `/sales dept remove` works" in reply.text
    assert _owners(org, "initech", "hooli") == [("U0REP1", "Enterprise")] * 2

    reply = org.command(
        "/sales", "dept remove Enterprise <@U0REP1|ana> leads to <@U0REP2|bo>", user="U0MGR1"
    )
    assert (
        "Removed <@U0REP1> from *Enterprise*. Their 2 leads went to <@U0REP2>;"
        " `/lead history &lt;company&gt;` shows each change." in reply.text
    )
    assert _owners(org, "initech", "hooli") == [("U0REP2", "Enterprise")] * 2
    assert _events(org, "initech")[-1] == ("transfer", "U0REP1", "U0REP2")
    with db(org) as s:
        assert s.get(Member, "U0REP1").department_id is None


def test_removing_a_rep_with_leads_to_the_pool(org) -> None:
    org.command("/lead", "claim Initech", user="U0REP2")
    reply = org.command(
        "/sales", "dept remove Enterprise <@U0REP2|bo> leads to pool", user="U0MGR1"
    )
    assert "Their 1 lead went back to the pool" in reply.text
    assert _owners(org, "initech") == [(None, None)]
    assert _events(org, "initech")[-1] == ("release", "U0REP2", None)
    reply = org.command("/lead", "claim Initech", user="U0REP1")
    assert "is now yours" in reply.text


def test_move_a_person_in_one_step(org) -> None:
    reply = org.command("/sales", "dept move <@U0REP2|bo> SMB", user="U0MGR1")
    assert "Only a salesbot admin" in reply.text
    reply = org.command("/sales", "dept move <@U0REP2|bo> SMB", user="U0ADMIN")
    assert "Moved <@U0REP2> from *Enterprise* to *SMB* as rep." in reply.text
    reply = org.command("/sales", "dept move <@U0REP2|bo> smb", user="U0ADMIN")
    assert "<@U0REP2> is already in *SMB*" in reply.text

    org.command("/lead", "claim Initech", user="U0REP1")
    org.command("/lead", "claim Hooli", user="U0REP1")
    reply = org.command("/sales", "dept move <@U0REP1|ana> SMB", user="U0ADMIN")
    assert "still owns 2 leads" in reply.text and "`… leads keep`" in reply.text
    reply = org.command("/sales", "dept move <@U0REP1|ana> SMB leads keep", user="U0ADMIN")
    assert (
        "Moved <@U0REP1> from *Enterprise* to *SMB* as rep. Their 2 leads moved with them;"
        in reply.text
    )
    assert _owners(org, "initech", "hooli") == [("U0REP1", "SMB")] * 2
    assert _events(org, "hooli")[-1] == ("transfer", "U0REP1", "U0REP1")

    reply = org.command(
        "/sales", 'dept move <@U0REP1|ana> "Enterprise" leads to <@U0REP3|c>', user="U0ADMIN"
    )
    assert "Their 2 leads went to <@U0REP3>" in reply.text
    assert _owners(org, "initech", "hooli") == [("U0REP3", "SMB")] * 2
    with db(org) as s:
        assert s.get(Member, "U0REP1").department_id == department(s, "Enterprise").id


def test_help_lists_the_new_forms(org) -> None:
    reply = org.command("/sales", "help", user="U0REP1")
    assert (
        "`/sales dept remove &lt;department&gt; @user [leads to @user|pool]` ·"
        " `/sales dept move @user &lt;department&gt; [leads to @user|pool|keep]`" in reply.text
    )
    reply = org.command("/sales", "dept help", user="U0REP1")
    assert "[leads to @user|pool]" in reply.text
    assert "`/sales dept move @user &lt;department&gt; [leads to @user|pool|keep]`" in reply.text


def test_setup_does_not_move_a_rep_who_owns_leads(org) -> None:
    org.command("/lead", "claim Initech", user="U0REP1")
    moved = SETUP_TOML.replace('reps = ["U0REP1", "U0REP2"]', 'reps = ["U0REP2"]').replace(
        'reps = ["U0REP3"]', 'reps = ["U0REP3", "U0REP1"]'
    )
    with pytest.raises(InvalidInput) as caught:
        import_setup_text(org.db_url, moved)
    said = render.text("errors.setup_member_has_leads", "en", **caught.value.data)
    assert said.startswith(
        "Line 23: U0REP1 owns 1 lead in “Enterprise” and setup does not move leads."
    )
    assert _owners(org, "initech") == [("U0REP1", "Enterprise")]


# ── 5. currency ──────────────────────────────────────────────────────────────────────────────


def test_amounts_use_the_company_currency_and_the_readers_locale(org) -> None:
    assert format_money(500_050) == "$5,000.50"
    assert format_money(500_000) == "$5,000"
    assert format_money(500_050, "zh-CN") == "US$5,000.50"
    org.command("/lead", "claim Initech", user="U0REP1")
    reply = org.command("/lead", "won Initech 5000.50", user="U0REP1")
    assert "— $5,000.50" in reply.text
    import_setup_text(org.db_url, 'currency = "CNY"\n' + SETUP_TOML)
    org.command("/lead", "claim Hooli", user="U0REP1")
    reply = org.command("/lead", "won Hooli 5万", user="U0REP1")
    assert "— CN¥50,000" in reply.text
    reply = org.command("/sales", "report Enterprise week", user="U0MGR1")
    assert "(CN¥55,000.50)" in reply.text  # the week's won total, in the company currency
    org.command("/lead", "claim Pied Piper", user="U0REP3")  # SMB reads zh-CN
    reply = org.command("/lead", "won Pied Piper 1234.5", user="U0REP3")
    assert "¥1,234.50" in reply.text and "CN¥" not in reply.text


# ── 6. /kudos help ───────────────────────────────────────────────────────────────────────────


def test_kudos_help_shows_the_real_allowance(org) -> None:
    reply = org.command("/kudos", "help", user="U0REP1")
    assert "5 a day each" in reply.text
    org.command("/kudos", "allowance 3", user="U0ADMIN")
    reply = org.command("/kudos", "help", user="U0REP1")
    assert "posted in their department's channel; 3 a day each" in reply.text
    reply = org.command("/kudos", "help", user="U0REP3")
    assert "每人每天最多 3 次" in reply.text


# ── 7. the CLI ───────────────────────────────────────────────────────────────────────────────


def test_cli_is_plain_text_and_alembic_is_quiet(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    done = run_salesbot("db", "upgrade", env=env)
    assert done.returncode == 0, done.stderr
    assert "INFO" not in done.stderr and "alembic" not in done.stderr
    path = tmp_path / "setup.toml"
    path.write_text(SETUP_TOML)
    done = run_salesbot("setup", str(path), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Setup applied: 2 departments created (Enterprise, SMB), 0 updated, 5 members, 1 admin."
    )
    assert "INFO" not in done.stderr
    done = run_salesbot(
        "run-job",
        "daily-digest",
        "--at",
        "2026-11-24T09:00+08:00",
        env={**env, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": "http://127.0.0.1:9/"},
    )
    assert "*" not in done.stdout and "`" not in done.stdout and "&lt;" not in done.stdout


# ── 8. make demo keeps the previous demo database ────────────────────────────────────────────


def test_demo_keeps_the_previous_database_unless_fresh(tmp_path) -> None:
    path = tmp_path / "demo.db"
    done = run_salesbot("demo", "--db", str(path), env={}, stdin="")
    assert done.returncode == 0, done.stderr
    assert f"Demo company created in {path}" in done.stdout
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        session.add(Department(name="Mine", name_key="mine", timezone="UTC", locale="en"))
        session.commit()
    done = run_salesbot("demo", "--db", str(path), env={}, stdin="")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"Demo company kept from last time in {path}, with everything done in it since."
        " To start over with a new one, run salesbot demo --fresh (or make demo FRESH=1)."
    )
    with Session(engine) as session:
        assert session.exec(select(Department).where(Department.name == "Mine")).first()
    engine.dispose()  # the fresh run replaces the file
    done = run_salesbot("demo", "--db", str(path), "--fresh", env={}, stdin="")
    assert done.returncode == 0, done.stderr
    assert f"Demo company created in {path}" in done.stdout
    with Session(engine) as session:
        assert not session.exec(select(Department).where(Department.name == "Mine")).first()
    engine.dispose()
