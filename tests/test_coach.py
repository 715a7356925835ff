"""``/coach`` through the real endpoint: the DM, the record, and who may send and read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot import render
from bot.services import recognition
from bot.store.models import Feedback
from tests.targets_support import assert_valid_blocks, db


def _feedback(server) -> list[Feedback]:
    with db(server) as s:
        return list(s.exec(select(Feedback).order_by(Feedback.id)))


def test_manager_coaches_a_rep_by_direct_message(org) -> None:
    reply = org.command(
        "/coach", "<@U0REP1|ana> great discovery call; ask about budget earlier", user="U0MGR1"
    )
    assert reply.json()["response_type"] == "ephemeral"
    assert "Sent privately to <@U0REP1>" in reply.text
    opened = org.fake.last("conversations.open")
    assert opened.body["users"] == "U0REP1"
    dm = org.fake.last("chat.postMessage")
    assert dm.body["channel"].startswith("D")
    assert "*Private feedback from <@U0MGR1>*" in dm.body["text"]
    assert "&gt; great discovery call; ask about budget earlier" in dm.body["text"]
    assert_valid_blocks(dm.body["blocks"])
    [row] = _feedback(org)
    assert (row.author_id, row.recipient_id) == ("U0MGR1", "U0REP1")
    assert row.message == "great discovery call; ask about budget earlier"
    # Nothing went to a channel.
    assert [m["channel"] for m in org.fake.messages()] == [dm.body["channel"]]


def test_admin_coaches_anyone_in_the_recipients_language(org) -> None:
    org.command("/coach", "<@U0REP3|li> 跟进要更及时", user="U0ADMIN")
    dm = org.fake.last("chat.postMessage")
    assert "私下反馈" in dm.body["text"]  # SMB reads Chinese
    assert len(_feedback(org)) == 1


def test_only_the_recipients_manager_or_an_admin_may_coach(org) -> None:
    for actor in ("U0REP2", "U0MGR2", "U0REP1"):
        reply = org.command("/coach", "<@U0REP1|ana> do better", user=actor)
        assert reply.json()["response_type"] == "ephemeral"
        assert "<@U0REP1>" in reply.text and "<@U0MGR1>" in reply.text, actor
        assert "<@U0ADMIN>" in reply.text
    assert _feedback(org) == []
    assert org.fake.calls_to("chat.postMessage") == []
    assert org.fake.calls_to("conversations.open") == []
    reply = org.command("/coach", "<@U0MGR1|me> note to self", user="U0MGR1")
    assert "mention one of your reps" in reply.text
    assert _feedback(org) == []


def test_history_for_recipient_manager_and_admin_only(org) -> None:
    org.command("/coach", "<@U0REP1|ana> first note", user="U0MGR1")
    org.command("/coach", "<@U0REP1|ana> second note", user="U0ADMIN")
    for viewer in ("U0REP1", "U0MGR1", "U0ADMIN"):
        text = "history" if viewer == "U0REP1" else "history <@U0REP1|ana>"
        reply = org.command("/coach", text, user=viewer)
        body = reply.json()["blocks"]
        joined = "\n".join(b["text"]["text"] for b in body if b["type"] == "section")
        assert joined.index("second note") < joined.index("first note"), viewer
        assert "from <@U0MGR1>" in joined and "from <@U0ADMIN>" in joined
        assert_valid_blocks(body)
    assert "Feedback you have received" in org.command("/coach", "history", user="U0REP1").text


def test_history_says_who_can_see_it_to_the_one_reading(org) -> None:
    org.command("/coach", "<@U0REP1|ana> first note", user="U0MGR1")
    rep = org.command("/coach", "history", user="U0REP1")
    assert "Private: visible only to you, your manager and admins." in rep.text
    manager = org.command("/coach", "history <@U0REP1|ana>", user="U0MGR1")
    assert "Private: visible only to <@U0REP1>, you as their manager, and admins." in manager.text
    admin = org.command("/coach", "history <@U0REP1|ana>", user="U0ADMIN")
    assert "Private: visible only to <@U0REP1>, their manager and admins like you." in admin.text
    org.command("/coach", "<@U0REP3|li> 第一条", user="U0MGR2")
    zh_rep = org.command("/coach", "history", user="U0REP3")
    assert "私密：仅你、你的经理和管理员可见。" in zh_rep.text
    zh_manager = org.command("/coach", "history <@U0REP3|li>", user="U0MGR2")
    assert "私密：仅 <@U0REP3>、你（其经理）和管理员可见。" in zh_manager.text


def test_refusal_does_not_reveal_whether_feedback_exists(org) -> None:
    org.command("/coach", "<@U0REP1|ana> a private note", user="U0MGR1")
    with_feedback = org.command("/coach", "history <@U0REP1|ana>", user="U0REP2")
    without = org.command("/coach", "history <@U0REP2|bo>", user="U0REP1")
    assert "private note" not in with_feedback.text
    assert "Only <@U0REP1>, their manager or an admin" in with_feedback.text
    assert with_feedback.body.replace("U0REP1", "X") == without.body.replace("U0REP2", "X")
    # A manager of another department is refused the same way.
    other = org.command("/coach", "history <@U0REP1|ana>", user="U0MGR2")
    assert "private note" not in other.text and "<@U0MGR1>" in other.text


def test_bad_input_says_what_to_type(org) -> None:
    reply = org.command("/coach", "ana be faster", user="U0MGR1")
    assert "/coach @user &lt;message&gt;" in reply.text
    reply = org.command("/coach", "<@U0REP1|ana>", user="U0MGR1")
    assert "/coach @user &lt;message&gt;" in reply.text
    reply = org.command("/coach", "history ana", user="U0MGR1")
    assert "“ana” is not a Slack user" in reply.text
    reply = org.command("/coach", "help", user="U0MGR1")
    assert "/coach history @user" in reply.text
    assert _feedback(org) == []


def test_failed_delivery_records_nothing(org) -> None:
    org.fake.fail_next("conversations.open", status=500)
    reply = org.command("/coach", "<@U0REP1|ana> a note", user="U0MGR1")
    assert "could not be sent to <@U0REP1>" in reply.text
    assert _feedback(org) == []


def test_every_coach_message_is_valid_block_kit_in_both_locales() -> None:
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    feedback = Feedback(author_id="U1", recipient_id="U2", message="one\ntwo", created_at=at)
    entries = [recognition.FeedbackEntry("U1", "note " * 100, at) for _ in range(20)]
    for locale in render.LOCALES:
        for name, data in (
            ("coach.usage", {}),
            ("coach.self", {}),
            ("coach.only_manager", {"user": "U2", "managers": ["U1"], "admins": []}),
            ("coach.history_only", {"user": "U2", "managers": [], "admins": ["U9"]}),
            ("coach.not_delivered", {"user": "U2", "error": "x"}),
            ("coach.dm", {"feedback": feedback}),
            ("coach.sent", {"sent": recognition.FeedbackSent(feedback, "en")}),
            (
                "coach.history",
                {"history": recognition.FeedbackHistory("U2", entries, 25), "viewer": "U1"},
            ),
            (
                "coach.history",
                {"history": recognition.FeedbackHistory("U2", [], 0), "viewer": "U2"},
            ),
        ):
            message = render.message(name, locale, **data)
            assert len(message.blocks) <= render.MAX_BLOCKS
            assert_valid_blocks(message.blocks)
