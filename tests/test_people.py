"""Real names for exports: one ``users.info`` per person per export, cached with an expiry."""

from __future__ import annotations

from slack_sdk import WebClient

from jobs import people
from jobs.people import TTL, RealNames


def _client(fake) -> WebClient:  # type: ignore[no-untyped-def]
    return WebClient(token="xoxb-test", base_url=fake.url)


def test_each_person_is_asked_once_and_the_answer_expires(fake_slack) -> None:
    people.forget()
    fake_slack.add_user("U0REP1", "wang", real_name="Wang Fang")
    clock = [1000.0]
    names = RealNames(_client(fake_slack), clock=lambda: clock[0])
    assert [names("U0REP1") for _ in range(50)] == ["Wang Fang"] * 50
    assert names(None) == "" and names("") == ""
    assert len(fake_slack.calls_to("users.info")) == 1
    # The next export within a day reads the cache; after a day Slack is asked again.
    fake_slack.add_user("U0REP1", "wang", real_name="Wang Fang-Li")
    assert RealNames(_client(fake_slack), clock=lambda: clock[0] + 60)("U0REP1") == "Wang Fang"
    assert len(fake_slack.calls_to("users.info")) == 1
    later = RealNames(_client(fake_slack), clock=lambda: clock[0] + TTL + 1)
    assert later("U0REP1") == "Wang Fang-Li"
    assert len(fake_slack.calls_to("users.info")) == 2


def test_a_slack_refusal_gives_an_empty_name_once(fake_slack) -> None:
    people.forget()
    fake_slack.fail_next("users.info", error="user_not_found")
    names = RealNames(_client(fake_slack))
    assert names("U0GONE") == "" and names("U0GONE") == ""
    assert len(fake_slack.calls_to("users.info")) == 1
