"""Daily and weekly digests and agendas: content, locales, Slack's limits, exactly-once posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from bot import render
from bot.store.models import Activity, Department, Outbox, Target
from jobs import posts, schedules
from jobs.runner import run_job
from tests.conftest import run_salesbot
from tests.digest_support import bulk_activities, client_for, seed_day, setup_org

#: Tuesday 24 Nov 2026, 09:00 in Shanghai; the digest covers Monday 23 Nov (local).
TUE_0900_SHANGHAI = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
MON_MIDNIGHT_SHANGHAI = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def _valid(message: render.Message) -> None:
    assert message.text
    assert len(message.blocks) <= render.MAX_BLOCKS
    assert len(message.text) <= render.MAX_TEXT
    for block in message.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= render.MAX_SECTION
        Block.parse(block).validate_json()


def _department(session: Session, name: str) -> Department:
    return session.exec(select(Department).where(Department.name == name)).one()


def _three_posts(session: Session, department: Department) -> list:
    """The daily digest, the weekly digest (Friday) and the agenda of the seeded week."""
    return [
        posts.daily_digest(session, department, TUE_0900_SHANGHAI),
        posts.weekly_digest(session, department, TUE_0900_SHANGHAI + timedelta(days=3)),
        posts.agenda(session, department, TUE_0900_SHANGHAI),
    ]


def _posts_to(fake, channel: str) -> list:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.failed is None and c.body["channel"] == channel
    ]


def test_daily_digest_says_what_happened_yesterday(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        seed_day(session, ent, MON_MIDNIGHT_SHANGHAI)
        # outside the window: Sunday and Tuesday activities are not counted
        for when in (MON_MIDNIGHT_SHANGHAI - timedelta(hours=1), TUE_0900_SHANGHAI):
            session.add(
                Activity(user_id="U0REP2", department_id=ent.id, kind="email", occurred_at=when)
            )
        session.commit()
        post = posts.daily_digest(session, ent, TUE_0900_SHANGHAI)
    assert post is not None and post.key == f"daily-digest:{ent.id}:2026-11-24"
    assert post.channel == "C0ENT"
    text = post.message.text
    assert "Enterprise · daily digest · Tue 24 Nov" in text
    assert "Mon 23 Nov · 4 activities" in text
    assert "<@U0REP1> — *3* (call 2 · visit 1)" in text
    assert "<@U0REP2> — *1* (demo 1) · won 1 ($12,500)" in text
    assert "*New claims* (1)\n• *Acme Corp* — <@U0REP1>" in text
    assert "qualified → proposal" in text
    assert ":trophy: *Globex* — $12,500" in text
    assert "*Expiring soon* (1)" in text and "Wed 25 Nov 00:00" in text
    assert "<@U0MGR1> → <@U0REP2>: closed Globex #grit" in text
    _valid(post.message)


def test_digests_and_agenda_show_target_progress(engine) -> None:
    """Targets travel with a post's other figures: the department's own first, then reps'."""
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        seed_day(session, ent, MON_MIDNIGHT_SHANGHAI)
        session.add(
            Target(department_id=ent.id, user_id="", metric="activities", period="week", value=8)
        )
        session.add(
            Target(
                department_id=ent.id,
                user_id="U0REP1",
                metric="activities",
                period="month",
                value=10,
            )
        )
        session.commit()
        built = _three_posts(session, ent)
    for post in built:
        assert post is not None
        text = post.message.text
        assert "*Targets*" in text
        department_line = text.index("Activities (this week): `")
        rep_line = text.index("Activities (this month) · <@U0REP1>: `")
        assert department_line < rep_line
        assert "4 / 8" in text[department_line:rep_line]  # the department's four this week
        assert "3 / 10" in text[rep_line:]  # U0REP1's three calls and visits
        _valid(post.message)


def test_every_post_is_valid_block_kit_in_both_locales(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        seed_day(session, ent, MON_MIDNIGHT_SHANGHAI)
        for locale in render.LOCALES:
            ent.locale = locale
            built = _three_posts(session, ent)
            for post in built:
                assert post is not None
                _valid(post.message)
            if locale == "zh-CN":
                assert "日报" in built[0].message.text and "跟进" in built[0].message.text
                assert "周报" in built[1].message.text and "例会议程" in built[2].message.text
                assert "电话 2" in built[0].message.text


def test_300_activities_yesterday_fit_slack_limits(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        bulk_activities(session, ent, MON_MIDNIGHT_SHANGHAI + timedelta(hours=9), 300, reps=60)
        seed_day(session, ent, MON_MIDNIGHT_SHANGHAI)
        daily = posts.daily_digest(session, ent, TUE_0900_SHANGHAI)
        weekly = posts.weekly_digest(session, ent, TUE_0900_SHANGHAI)
    assert daily is not None
    for post in (daily, weekly):
        _valid(post.message)
        assert "304 activities" in post.message.text or "*This week* — 304" in post.message.text
        assert "…and 42 more reps" in post.message.text  # 62 reps, 20 shown


def test_daily_digest_skips_weekends_and_monday_covers_them(engine, fake_slack) -> None:
    setup_org(engine)
    client = client_for(fake_slack)
    saturday = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # Sat 09:00 in Shanghai
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        session.add(
            Activity(user_id="U0REP1", department_id=ent.id, kind="visit", occurred_at=saturday)
        )
        session.commit()
    report = run_job(
        "daily-digest", engine=engine, client=client, now=saturday, department="Enterprise"
    )
    assert report.enqueued == [] and ("Enterprise", "not_working_day") in report.skipped
    assert fake_slack.calls_to("chat.postMessage") == []
    monday = saturday + timedelta(days=2)
    report = run_job(
        "daily-digest", engine=engine, client=client, now=monday, department="enterprise"
    )
    assert report.sent == [f"daily-digest:{ent.id}:2026-11-30"]
    text = _posts_to(fake_slack, "C0ENT")[0].body["text"]
    assert "Fri 27 Nov – Sun 29 Nov · 1 activity" in text
    assert "<@U0REP1> — *1* (visit 1)" in text


def test_run_job_twice_posts_once(db_url, engine, fake_slack) -> None:
    setup_org(engine)
    env = {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.url}
    args = (
        "run-job",
        "daily-digest",
        "--department",
        "Enterprise",
        "--at",
        "2026-11-24T09:00+08:00",
    )
    first = run_salesbot(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "1 post queued, 0 already queued for this period, 1 sent" in first.stdout
    second = run_salesbot(*args, env=env)
    assert second.returncode == 0, second.stderr
    assert "0 posts queued, 1 already queued for this period, 0 sent" in second.stdout
    assert len(_posts_to(fake_slack, "C0ENT")) == 1
    assert "daily digest · Tue 24 Nov" in _posts_to(fake_slack, "C0ENT")[0].body["text"]
    unknown = run_salesbot("run-job", "agenda", "--department", "Nope", env=env)
    assert unknown.returncode == 2 and "no department called “Nope”" in unknown.stderr


def test_a_failing_slack_still_gets_exactly_one_digest(engine, fake_slack) -> None:
    setup_org(engine)
    client = client_for(fake_slack)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=5)
    now = TUE_0900_SHANGHAI
    report = run_job("daily-digest", engine=engine, client=client, now=now, department="Enterprise")
    assert report.sent == [] and len(report.retrying) == 1
    fake_slack.fail_next("chat.postMessage", status=500)
    fake_slack.fail_next("chat.postMessage", drop=True)
    for minutes in (1, 2, 3, 5, 10, 30, 60):  # a worker delivering every so often
        run_job(
            "deliver-outbox", engine=engine, client=client, now=now + timedelta(minutes=minutes)
        )
        again = now + timedelta(minutes=minutes)
        run_job("daily-digest", engine=engine, client=client, now=again, department="Enterprise")
    calls = [c for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == "C0ENT"]
    assert [c.failed for c in calls] == ["429", "500", "drop", None]
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(select(Outbox).where(Outbox.key.startswith("daily-digest:"))).all()
    assert [(r.attempts, r.sent_at is not None) for r in rows if r.channel == "C0ENT"] == [
        (4, True)
    ]


def test_weekly_digest_uploads_its_chart_once(engine, fake_slack) -> None:
    setup_org(engine)
    client = client_for(fake_slack)
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Fri 17:00 in Shanghai
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        seed_day(session, ent, MON_MIDNIGHT_SHANGHAI)
    for _ in range(2):
        run_job("weekly-digest", engine=engine, client=client, now=friday, department="Enterprise")
    posted = _posts_to(fake_slack, "C0ENT")
    assert len(posted) == 1 and "weekly digest · 2026-W48" in posted[0].body["text"]
    assert "The chart of activities per rep follows as an image." in posted[0].body["text"]
    completes = fake_slack.calls_to("files.completeUploadExternal")
    assert len(completes) == 1 and completes[0].body["channel_id"] == "C0ENT"
    assert "activities per rep" in completes[0].body["files"][0]["title"]
    uploads = fake_slack.calls_to("file_upload")
    assert len(uploads) == 1 and uploads[0].content.startswith(b"\x89PNG")


def test_a_quiet_week_has_no_chart_and_does_not_promise_one(engine, fake_slack) -> None:
    setup_org(engine)
    client = client_for(fake_slack)
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Fri 17:00 in Shanghai, nothing logged
    run_job("weekly-digest", engine=engine, client=client, now=friday, department="Enterprise")
    run_job("deliver-outbox", engine=engine, client=client, now=friday + timedelta(minutes=1))
    posted = _posts_to(fake_slack, "C0ENT")
    assert len(posted) == 1 and "weekly digest · 2026-W48" in posted[0].body["text"]
    assert "follows as an image" not in posted[0].body["text"]
    assert fake_slack.calls_to("files.completeUploadExternal") == []
    with Session(engine, expire_on_commit=False) as session:
        farmers = posts.weekly_digest(session, _department(session, "Farmers"), friday)
    assert farmers.chart is None and "图表" not in farmers.message.text


def test_chart_upload_failing_midway_is_retried_and_shared_once(engine, fake_slack) -> None:
    setup_org(engine)
    client = client_for(fake_slack)
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    with Session(engine, expire_on_commit=False) as session:
        seed_day(session, _department(session, "Enterprise"), MON_MIDNIGHT_SHANGHAI)
    fake_slack.fail_next("files.completeUploadExternal", status=500)
    run_job("weekly-digest", engine=engine, client=client, now=friday, department="Enterprise")
    run_job("deliver-outbox", engine=engine, client=client, now=friday + timedelta(hours=1))
    completes = [c for c in fake_slack.calls_to("files.completeUploadExternal") if not c.failed]
    assert len(completes) == 1
    assert len(_posts_to(fake_slack, "C0ENT")) == 1


def test_agenda_lists_the_meeting_business(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        seed_day(session, ent, MON_MIDNIGHT_SHANGHAI)
        monday_0900 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # the agenda hour, Shanghai
        post = posts.agenda(session, ent, monday_0900)
    assert post is not None and post.key == f"agenda:{ent.id}:2026-11-30"
    text = post.message.text
    assert "meeting agenda · Mon 30 Nov 10:00" in text
    assert ":trophy: *Globex*" in text
    assert "*Initech* — negotiation for" in text  # stuck over a week
    assert "<@U0REP3> (Farmers) was refused: owned by Enterprise" in text
    assert "<@U0REP2> → <@U0REP1>, waiting for a decision" in text
    assert "closed Globex #grit" in text
    assert "*2. Open from the last agenda* (1)" in text  # Initech was stuck a week ago too


def test_new_york_digest_stays_at_0900_across_the_dst_change(engine, fake_slack) -> None:
    """Daylight saving time ends in New York on Sun 1 Nov 2026: 09:00 moves from 13:00 to
    14:00 UTC. One digest each workday, at 09:00 local, none skipped, none doubled."""
    setup_org(engine)
    client = client_for(fake_slack)
    with Session(engine, expire_on_commit=False) as session:
        farmers = _department(session, "Farmers")
    fires = []
    now = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)
    while True:
        now = schedules.next_run("daily-digest", farmers, now)
        if now >= datetime(2026, 11, 7, tzinfo=UTC):
            break
        fires.append(now)
        for late in (timedelta(0), timedelta(minutes=30)):  # a late second run adds nothing
            run_job("daily-digest", engine=engine, client=client, now=now + late)
        now += timedelta(seconds=1)
    local = [f.astimezone(schedules.zone(farmers)) for f in fires]
    assert [d.strftime("%a %d %H:%M") for d in local] == [
        "Wed 28 09:00", "Thu 29 09:00", "Fri 30 09:00",
        "Mon 02 09:00", "Tue 03 09:00", "Wed 04 09:00", "Thu 05 09:00", "Fri 06 09:00",
    ]  # fmt: skip
    assert [f.astimezone(UTC).hour for f in fires] == [13, 13, 13, 14, 14, 14, 14, 14]
    posted = _posts_to(fake_slack, "C0FARM")
    assert len(posted) == len(fires)
    assert len({c.body["text"].split("\n")[0] for c in posted}) == len(fires)


def test_an_hour_that_happens_twice_or_never_still_posts_once(engine, fake_slack) -> None:
    """A weekly digest at "sun 01:30" in New York: on Sun 1 Nov 2026 01:30 happens twice
    (05:30 and 06:30 UTC), on Sun 14 Mar 2027 02:30 never happens. One post each time, and
    the trigger never answers a time it already gave (APScheduler 3.11's cron trigger does,
    which would hang the scheduler's catch-up loop: agronholm/apscheduler#1021)."""
    setup_org(engine)
    client = client_for(fake_slack)
    with Session(engine, expire_on_commit=False) as session:
        farmers = _department(session, "Farmers")
        farmers.weekly_digest = "sun 01:30"
        session.add(farmers)
        session.commit()
    trigger = schedules.trigger_for("weekly-digest", farmers)
    first_0130 = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second_0130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    first = trigger.get_next_fire_time(None, datetime(2026, 10, 31, tzinfo=UTC))
    assert first.astimezone(UTC) == first_0130  # (PEP 495: compare folded times in UTC)
    following = [
        trigger.get_next_fire_time(previous, previous + timedelta(seconds=1)).astimezone(UTC)
        for previous in (first_0130, second_0130)
    ]
    assert following == [second_0130, datetime(2026, 11, 8, 6, 30, tzinfo=UTC)]  # no repeat
    for when in (first_0130, second_0130):  # the repeated 01:30 fires twice
        run_job("weekly-digest", engine=engine, client=client, now=when, department="Farmers")
    assert len(_posts_to(fake_slack, "C0FARM")) == 1
    farmers.weekly_digest = "sun 02:30"
    spring = schedules.next_run("weekly-digest", farmers, datetime(2027, 3, 13, tzinfo=UTC))
    assert spring.astimezone(UTC) == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 03:30 EDT
    after = schedules.next_run("weekly-digest", farmers, spring + timedelta(seconds=1))
    assert after.astimezone(UTC) == datetime(2027, 3, 21, 6, 30, tzinfo=UTC)  # 02:30 EDT
