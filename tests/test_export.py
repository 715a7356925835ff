"""``/sales export``: CSV files of activities and leads, delivered by DM through the outbox."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from bot import render
from bot.store.db import make_engine
from bot.store.models import Activity, Department, Outbox
from jobs.exports import ExportSummary
from tests.conftest import TOKEN, run_salesbot
from tests.digest_support import add_lead


def _seed(db_url: str) -> None:
    now = datetime.now(UTC)
    with Session(make_engine(db_url), expire_on_commit=False) as session:
        ent = session.exec(select(Department).where(Department.name == "Enterprise")).one()
        lead = add_lead(
            session,
            "Acme, Corp",
            owner="U0REP1",
            department=ent,
            claimed_at=now,
            stage="won",
            amount_cents=1_234_50,
        )
        add_lead(session, "Globex", owner="U0REP2", department=ent, claimed_at=now)
        session.add(
            Activity(
                user_id="U0REP1",
                department_id=ent.id,
                lead_id=lead.id,
                kind="visit",
                note='said "yes", signed',
                occurred_at=now - timedelta(seconds=5),
            )
        )
        session.commit()


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_manager_gets_both_csv_files_by_dm(org, fake_slack) -> None:
    _seed(org.db_url)
    fake_slack.add_user("U0REP1", "wang", real_name="Wang Fang")
    reply = org.command("/sales", "export Enterprise week", user="U0MGR1")
    assert reply.json()["response_type"] == "ephemeral"
    for block in reply.json()["blocks"]:
        Block.parse(block).validate_json()
    assert "Exporting *Enterprise* for this week" in reply.text
    assert "1 activities and 2 leads" in reply.text
    assert fake_slack.calls_to("files.completeUploadExternal") == []  # the worker sends them
    with Session(make_engine(org.db_url)) as session:
        queued = [row.payload for row in session.exec(select(Outbox))]
    assert [set(p) for p in queued] == [{"export"}, {"export"}]  # what to export, no file bytes
    assert "A file holds at most" not in reply.text
    env = {"DATABASE_URL": org.db_url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake_slack.url}
    for _ in range(2):
        done = run_salesbot("run-job", "deliver-outbox", env=env)
        assert done.returncode == 0, done.stderr
    completes = fake_slack.calls_to("files.completeUploadExternal")
    assert [c.body["channel_id"] for c in completes] == ["DU0MGR1", "DU0MGR1"]
    titles = [c.body["files"][0]["title"] for c in completes]
    assert titles[0].startswith("Enterprise · activities") and "leads" in titles[1]
    activities, leads = (_rows(c.content) for c in fake_slack.calls_to("file_upload"))
    assert activities[0] == ["occurred_at", "local_date", "rep", "rep_name", "kind", "lead", "note"]
    assert activities[1][2:] == [
        "U0REP1",
        "Wang Fang",
        "visit",
        "Acme, Corp",
        'said "yes", signed',
    ]
    assert activities[1][0].endswith("+08:00")  # the department's local time
    assert leads[0][0] == "lead" and len(leads) == 3
    assert leads[1][:6] == ["Acme, Corp", "", "U0REP1", "Wang Fang", "won", "1234.50"]
    assert leads[2][2:4] == ["U0REP2", "User U0REP2"]  # as the fake Slack names strangers
    # Slack is asked about each person once, not once per row or per file.
    asked = [c.body["user"] for c in fake_slack.calls_to("users.info")]
    assert sorted(asked) == ["U0REP1", "U0REP2"]


def test_export_is_refused_to_reps_and_bad_periods_are_explained(org) -> None:
    refused = org.command("/sales", "export", user="U0REP1")
    assert "Only a manager of *Enterprise*" in refused.text
    bad = org.command("/sales", "export Enterprise year", user="U0ADMIN")
    assert "“year” is not a period here" in bad.text and "week, month, quarter" in bad.text
    with Session(make_engine(org.db_url)) as session:
        assert session.exec(select(Outbox)).all() == []


def test_export_in_chinese_for_a_chinese_department(org, fake_slack) -> None:
    reply = org.command("/sales", "export", user="U0MGR2")
    assert "正在导出 *SMB* 本月" in reply.text
    env = {"DATABASE_URL": org.db_url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake_slack.url}
    assert run_salesbot("run-job", "deliver-outbox", env=env).returncode == 0
    activities = _rows(fake_slack.calls_to("file_upload")[0].content)
    assert activities == [["时间", "本地日期", "销售", "销售姓名", "类型", "线索", "备注"]]


def test_an_export_over_the_cap_says_so_in_both_languages() -> None:
    summary = ExportSummary(
        "Enterprise", "month", date(2026, 11, 1), date(2026, 11, 30), 250_000, 9
    )
    for locale, words in (("en", "at most 200000 rows"), ("zh-CN", "最多 200000 行")):
        assert words in render.message("export.queued", locale, export=summary).text
    small = ExportSummary("Enterprise", "month", date(2026, 11, 1), date(2026, 11, 30), 9, 9)
    assert "at most" not in render.message("export.queued", "en", export=small).text
