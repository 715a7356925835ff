"""``/kudos`` through the real endpoint: the channel post, the record, the allowance, the board."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from bot import render
from bot.periods import period
from bot.services import recognition
from bot.store.models import Department, Kudos, Outbox, Setting, utcnow
from tests.conftest import TOKEN, run_salesbot
from tests.targets_support import assert_valid_blocks, db, department


def _kudos(server) -> list[Kudos]:
    with db(server) as s:
        return list(s.exec(select(Kudos).order_by(Kudos.id)))


def test_kudos_is_posted_in_the_recipients_channel_and_recorded(org) -> None:
    reply = org.command(
        "/kudos", "<@U0REP2|bo> closed Acme in record time #teamwork", user="U0REP1", channel="C0X"
    )
    assert reply.json()["response_type"] == "ephemeral"
    assert "Kudos to <@U0REP2> posted in <#C0ENT>" in reply.text
    assert "You have 4 of 5 left today" in reply.text
    post = org.fake.last("chat.postMessage")
    assert post.body["channel"] == "C0ENT"
    assert "*Kudos to <@U0REP2>* from <@U0REP1>" in post.body["text"]
    assert "&gt; closed Acme in record time" in post.body["text"]
    assert "#teamwork" in post.body["text"]
    assert_valid_blocks(post.body["blocks"])
    [kudos] = _kudos(org)
    with db(org) as s:
        enterprise = department(s, "Enterprise")
    assert (kudos.giver_id, kudos.recipient_id, kudos.department_id) == (
        "U0REP1",
        "U0REP2",
        enterprise.id,
    )
    assert (kudos.message, kudos.value) == ("closed Acme in record time", "teamwork")


def test_message_cannot_ping_or_forge_markup(org) -> None:
    text = "<@U0REP2|bo> thanks to <@U0MGR1|max> &amp; the team <!channel> &lt;:header:&gt; wow"
    org.command("/kudos", text, user="U0REP1")
    [kudos] = _kudos(org)
    assert kudos.message == "thanks to @max & the team @channel <:header:> wow"
    posted = org.fake.last("chat.postMessage").body
    assert "<!channel>" not in posted["text"] and "<@U0MGR1>" not in posted["text"]
    assert "&amp; the team @channel &lt;:header:&gt; wow" in posted["text"]
    assert [b["type"] for b in posted["blocks"]] == ["section"]


def test_channel_link_as_value_keeps_its_name(org) -> None:
    org.command("/kudos", "<@U0REP2|bo> saved the day <#C0FOO|hustle>", user="U0REP1")
    [kudos] = _kudos(org)
    assert (kudos.message, kudos.value) == ("saved the day", "hustle")


def test_recipient_department_language_and_channel(org) -> None:
    reply = org.command("/kudos", "<@U0REP3|li> 演示做得很棒", user="U0REP1")
    assert "posted in <#C0SMB>" in reply.text  # the giver reads English
    post = org.fake.last("chat.postMessage")
    assert post.body["channel"] == "C0SMB"
    assert "*表扬 <@U0REP3>*" in post.body["text"]  # the SMB channel reads Chinese


def test_recipient_without_department_gets_a_direct_message(org) -> None:
    reply = org.command("/kudos", "<@U0GUEST|g> great workshop", user="U0REP1")
    assert "sent to them directly" in reply.text
    assert org.fake.last("chat.postMessage").body["channel"] == "U0GUEST"
    [kudos] = _kudos(org)
    assert kudos.department_id is None


def test_self_kudos_is_refused(org) -> None:
    reply = org.command("/kudos", "<@U0REP1|me> I am great", user="U0REP1")
    assert reply.json()["response_type"] == "ephemeral"
    assert "Kudos are for someone else" in reply.text
    assert _kudos(org) == []
    assert org.fake.calls_to("chat.postMessage") == []


def test_bad_input_says_what_to_type(org) -> None:
    for text in ("hello there", "<@U0REP2|bo>", "<@U0REP2|bo> #teamwork"):
        reply = org.command("/kudos", text, user="U0REP1")
        assert "/kudos @user &lt;message&gt; [#value]" in reply.text, text
    reply = org.command("/kudos", "<@U0REP2|bo> " + "x" * 1600, user="U0REP1")
    assert "1600 characters" in reply.text
    reply = org.command("/kudos", "<@U0REP2|bo> ok #" + "v" * 41, user="U0REP1")
    assert "too long" in reply.text and "#teamwork" in reply.text
    reply = org.command("/kudos", "<@U0REP2|bo> it's a quote \" problem", user="U0REP1")
    assert "posted in" in reply.text  # free text is not shell-parsed
    assert len(_kudos(org)) == 1


def test_daily_allowance_is_spent_and_says_when_it_resets(org) -> None:
    reply = org.command("/kudos", "allowance 2", user="U0REP1")
    assert "Only a salesbot admin" in reply.text and "<@U0ADMIN>" in reply.text
    reply = org.command("/kudos", "allowance lots", user="U0ADMIN")
    assert "from 1 to 100" in reply.text
    reply = org.command("/kudos", "allowance 2", user="U0ADMIN")
    assert "2 kudos a day" in reply.text
    with db(org) as s:
        assert s.get(Setting, recognition.ALLOWANCE_KEY).value == "2"
        # Yesterday's kudos (local time) do not count against today.
        start = period("today", utcnow(), "Asia/Shanghai").start
        for n in range(3):
            s.add(
                Kudos(
                    giver_id="U0REP1",
                    recipient_id="U0REP2",
                    message="old",
                    created_at=start - timedelta(seconds=1 + n),
                )
            )
        s.commit()
    assert "1 of 2 left" in org.command("/kudos", "<@U0REP2|b> one", user="U0REP1").text
    assert "0 of 2 left" in org.command("/kudos", "<@U0MGR1|m> two", user="U0REP1").text
    posts = len(org.fake.calls_to("chat.postMessage"))
    reply = org.command("/kudos", "<@U0REP2|b> three", user="U0REP1")
    assert "You have given all 2 of your kudos for today" in reply.text
    assert "resets at 00:00 (Asia/Shanghai)" in reply.text
    assert len(org.fake.calls_to("chat.postMessage")) == posts
    assert [k.message for k in _kudos(org)].count("three") == 0
    # Others still have theirs.
    assert "1 of 2 left" in org.command("/kudos", "<@U0REP1|a> thanks", user="U0REP2").text


def test_a_post_slack_refuses_records_nothing_and_spends_nothing(org) -> None:
    org.fake.fail_next("chat.postMessage", error="not_in_channel")
    reply = org.command("/kudos", "<@U0REP2|bo> great call", user="U0REP1")
    assert "could not be posted in <#C0ENT>" in reply.text and "/invite @salesbot" in reply.text
    assert "not_in_channel" in reply.text
    assert _kudos(org) == []
    with db(org) as s:
        assert s.exec(select(Outbox)).all() == []
    assert "4 of 5 left" in org.command("/kudos", "<@U0REP2|bo> great call", user="U0REP1").text


def _deliver_later(org, minutes: int = 5) -> None:  # type: ignore[no-untyped-def]
    """What the worker does later: deliver the outbox rows that are due."""
    env = {"DATABASE_URL": org.db_url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": org.fake.url}
    later = (utcnow() + timedelta(minutes=minutes)).isoformat()
    done = run_salesbot("run-job", "deliver-outbox", "--at", later, env=env)
    assert done.returncode == 0, done.stderr


def _landed(org) -> list:  # type: ignore[no-untyped-def]
    return [c for c in org.fake.calls_to("chat.postMessage") if c.failed is None]


@pytest.mark.parametrize(
    "trouble",
    [
        lambda fake: fake.fail_next("chat.postMessage", status=500),
        lambda fake: fake.fail_next("chat.postMessage", status=429, retry_after=20),
        lambda fake: fake.slow_next("chat.postMessage", 8),
        lambda fake: fake.fail_next("chat.postMessage", drop=True),
    ],
    ids=["500", "429-retry-after-20", "answers-after-8s", "dropped"],
)
def test_slack_in_trouble_gets_an_answer_within_three_seconds_and_one_post(org, trouble) -> None:
    trouble(org.fake)
    started = time.monotonic()
    reply = org.command("/kudos", "<@U0REP2|bo> great call", user="U0REP1")
    assert time.monotonic() - started < 3.0
    assert "will appear in <#C0ENT> shortly" in reply.text, reply.text
    assert "4 of 5 left" in reply.text
    [kudos] = _kudos(org)  # recorded with its post: the two cannot diverge
    org.fake.wait_for("chat.postMessage", 1, timeout=10)
    time.sleep(0.2)  # a slow Slack has answered by now
    _deliver_later(org)
    assert len(_landed(org)) == 1, _landed(org)
    assert _landed(org)[0].body["metadata"]["event_payload"]["key"] == f"kudos:{kudos.id}"
    with db(org) as s:
        assert s.exec(select(Outbox)).one().sent_at is not None


def test_leaderboard_by_week_and_month(org) -> None:
    with db(org) as s:
        tz = department(s, "Enterprise").timezone
        week = period("week", utcnow(), tz)
        month = period("month", utcnow(), tz)
        # REP2 and REP1 inside both this week and this month, whichever starts later (a week
        # may begin in the month before); REP3 in this month before this week, when there is
        # such a time; MGR1 before both.
        both = max(week.start, month.start)
        earlier = min(week.start, month.start) - timedelta(days=1)
        rows = [("U0REP2", "hustle", both)] * 3 + [("U0REP1", "teamwork", both)] * 2
        rows += [("U0REP3", None, month.start)] * 4 if month.start < week.start else []
        rows += [("U0MGR1", None, earlier)] * 9
        for recipient, value, at in rows:
            s.add(
                Kudos(
                    giver_id="U0ADMIN",
                    recipient_id=recipient,
                    message="x",
                    value=value,
                    created_at=at + timedelta(seconds=1),
                )
            )
        s.commit()
    reply = org.command("/kudos", "top", user="U0REP1")
    assert "Kudos leaderboard — this week" in reply.text
    assert (
        "1. <@U0REP2> — 3 kudos\n2. <@U0REP1> — 2 kudos"
        in reply.json()["blocks"][1]["text"]["text"]
    )
    assert "<@U0MGR1>" not in reply.text
    assert "#hustle (3), #teamwork (2)" in reply.text
    assert_valid_blocks(reply.json()["blocks"])
    reply = org.command("/kudos", "top 本月", user="U0REP3")
    assert "表扬排行榜 — 本月" in reply.text and "<@U0REP2> — 3 次表扬" in reply.text
    assert "<@U0MGR1>" not in reply.text
    reply = org.command("/kudos", "top year", user="U0REP1")
    assert "“year” is not a leaderboard period" in reply.text


def test_every_kudos_message_is_valid_block_kit_in_both_locales(engine) -> None:
    now = utcnow()
    dept = Department(id=1, name="Enterprise", name_key="enterprise", channel="C0ENT")
    kudos = Kudos(giver_id="U1", recipient_id="U2", message="line one\nline two", value="grit")
    allowance = recognition.Allowance(5, 2, now, "Asia/Shanghai")
    given = recognition.KudosGiven(kudos, dept, "C0ENT", "en", allowance)
    board = recognition.Leaderboard(
        period("week", now, "UTC"),
        [recognition.LeaderRow(f"U{n}", 10 - n) for n in range(10)],
        [("grit", 3)],
        40,
        allowance,
    )
    for locale in render.LOCALES:
        for name, data in (
            ("kudos.usage", {}),
            ("kudos.self", {}),
            ("kudos.too_long", {"limit": 1500, "length": 1600}),
            ("kudos.bad_value", {"value": "x", "most": 40}),
            ("kudos.spent", {"allowance": 5, "resets_at": now, "timezone": "UTC", "hours": 3}),
            ("kudos.bad_allowance", {"value": "x", "most": 100}),
            ("kudos.allowance_set", {"value": 3}),
            ("kudos.bad_period", {"value": "x"}),
            ("kudos.not_delivered", {"channel": "C0ENT", "error": "not_in_channel"}),
            ("kudos.post", {"kudos": kudos}),
            ("kudos.given", {"given": given}),
            ("kudos.top", {"board": board}),
            ("kudos.top", {"board": recognition.Leaderboard(board.period, [], [], 0, allowance)}),
        ):
            assert_valid_blocks(render.message(name, locale, **data).blocks)


def test_simultaneous_kudos_never_pass_the_allowance(org) -> None:
    org.command("/kudos", "allowance 2", user="U0ADMIN")
    replies: list[str] = []

    def give(n: int) -> None:
        replies.append(org.command("/kudos", f"<@U0REP2|bo> thanks {n}", user="U0REP1").text)

    threads = [threading.Thread(target=give, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum("posted in <#C0ENT>" in r for r in replies) == 2, replies
    assert sum("You have given all 2" in r for r in replies) == 4, replies
    assert len(_kudos(org)) == 2
    assert len(org.fake.calls_to("chat.postMessage")) == 2
