"""The fake Slack Web API, exercised over real HTTP through slack_sdk's WebClient."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.devslack.fake_slack import FakeSlack

BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Acme* is free"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "claim",
                "value": "acme",
                "text": {"type": "plain_text", "text": "Claim"},
            }
        ],
    },
]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    """A client that never retries, so scripted failures surface as they are."""
    return WebClient(base_url=fake.url, token="xoxb-test", retry_handlers=[], timeout=5)


def test_url_has_trailing_slash_and_a_real_port(fake: FakeSlack) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.url.endswith("/api/")
    assert fake.port > 0


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        _ = FakeSlack().url


def test_auth_test_answers_with_the_bot_identity(client: WebClient, fake: FakeSlack) -> None:
    response = client.auth_test()
    assert response["user_id"] == "UBOT"
    assert response["team_id"] == "T0TEAM"
    assert response["bot_id"] == "B0BOT"
    assert response["user"] == "salesbot"
    call = fake.last("auth.test")
    assert call.token == "xoxb-test"
    assert call.failed is None


def test_post_message_is_recorded_with_blocks_decoded(client: WebClient, fake: FakeSlack) -> None:
    first = client.chat_postMessage(channel="C1", text="Acme is free", blocks=BLOCKS)
    second = client.chat_postMessage(channel="C1", text="again")

    assert first["ok"] is True
    assert first["channel"] == "C1"
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS

    call = fake.calls_to("chat.postMessage")[0]
    assert call.body["channel"] == "C1"
    assert call.body["text"] == "Acme is free"
    assert call.body["blocks"] == BLOCKS
    assert call.token == "xoxb-test"
    assert call.path == "/api/chat.postMessage"
    assert json.loads(call.content)["channel"] == "C1"
    assert [m["text"] for m in fake.messages("C1")] == ["Acme is free", "again"]


def test_form_encoded_json_fields_are_decoded(fake: FakeSlack) -> None:
    """Clients that send form bodies JSON-encode blocks; the fake decodes them again."""
    body = (
        "channel=C9&text=hi&token=xoxb-form&blocks=" + urllib.request.quote(json.dumps(BLOCKS))
    ).encode()
    request = urllib.request.Request(
        fake.url + "chat.postMessage",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["ok"] is True
    call = fake.last("chat.postMessage")
    assert call.body["blocks"] == BLOCKS
    assert call.body["channel"] == "C9"
    assert call.token == "xoxb-form"


def test_get_with_query_string_is_answered(fake: FakeSlack) -> None:
    url = fake.url + "users.info?user=U42"
    with urllib.request.urlopen(url, timeout=5) as response:
        data = json.loads(response.read())
    assert data["user"]["id"] == "U42"
    assert fake.last("users.info").body == {"user": "U42"}


def test_posting_to_a_user_lands_in_their_dm(client: WebClient) -> None:
    assert client.chat_postMessage(channel="U7", text="hi")["channel"] == "DU7"


def test_update_and_delete_change_the_stored_message(client: WebClient, fake: FakeSlack) -> None:
    ts = client.chat_postMessage(channel="C1", text="old", blocks=BLOCKS)["ts"]
    updated = client.chat_update(channel="C1", ts=ts, text="new")
    assert updated["ts"] == ts
    [message] = fake.messages("C1")
    assert message["text"] == "new"
    assert "blocks" not in message
    client.chat_delete(channel="C1", ts=ts)
    assert fake.messages("C1") == []
    assert [c.method for c in fake.calls] == ["chat.postMessage", "chat.update", "chat.delete"]


def test_post_ephemeral_returns_message_ts(client: WebClient, fake: FakeSlack) -> None:
    response = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert response["message_ts"].startswith("1700000000.")
    assert fake.last("chat.postEphemeral").body["user"] == "U1"


def test_fail_next_429_gives_retry_after(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hi")
    response = raised.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response["error"] == "ratelimited"

    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True
    calls = fake.calls_to("chat.postMessage")
    assert [c.failed for c in calls] == ["429", None]
    assert fake.messages("C1")[0]["text"] == "hi"
    assert len(fake.messages("C1")) == 1


def test_fail_next_only_hits_its_method_and_counts_times(
    client: WebClient, fake: FakeSlack
) -> None:
    fake.fail_next("views.publish", status=429, times=2)
    assert client.chat_postMessage(channel="C1", text="unaffected")["ok"] is True
    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["ok"]


def test_fail_next_500(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response.status_code == 500
    assert raised.value.response["error"] == "internal_error"
    assert "Retry-After" not in raised.value.response.headers
    assert fake.last("chat.postMessage").failed == "500"


def test_drop_closes_the_connection_without_a_response(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", drop=True)
    with pytest.raises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
        client.chat_postMessage(channel="C1", text="hi")
    call = fake.last("chat.postMessage")
    assert call.failed == "drop"
    assert call.body["text"] == "hi"
    assert fake.messages("C1") == []


def test_default_client_retries_a_dropped_connection(fake: FakeSlack) -> None:
    """slack_sdk's default ConnectionErrorRetryHandler retries once: the fake sees both."""
    fake.fail_next("chat.postMessage", drop=True)
    client = WebClient(base_url=fake.url, token="xoxb-test", timeout=5)
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True
    assert [c.failed for c in fake.calls_to("chat.postMessage")] == ["drop", None]


def test_ratelimited_token_always_gets_429(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.url, token="xoxb-ratelimited", retry_handlers=[])
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.auth_test()
        assert raised.value.response.status_code == 429
        assert raised.value.response.headers["Retry-After"] == "1"


def test_invalid_token_gets_invalid_auth(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.url, token="xoxb-invalid", retry_handlers=[])
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "invalid_auth"
    assert fake.last("chat.postMessage").failed == "invalid_auth"


def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    url = fake.response_url("claim-1")
    assert url.endswith("/response/claim-1")
    response = WebhookClient(url).send(text="Claimed", replace_original=True, blocks=BLOCKS)
    assert response.status_code == 200
    call = fake.last("response_url")
    assert call.path == "/response/claim-1"
    assert call.body["text"] == "Claimed"
    assert call.body["replace_original"] is True
    assert call.body["blocks"] == BLOCKS


def test_response_url_can_fail_too(fake: FakeSlack) -> None:
    fake.fail_next("response_url", status=500)
    response = WebhookClient(fake.response_url()).send(text="x")
    assert response.status_code == 500
    assert fake.last("response_url").failed == "500"


def test_files_upload_v2_end_to_end(client: WebClient, fake: FakeSlack) -> None:
    response = client.files_upload_v2(
        channel="D1", content=b"a,b\n1=2,3\n", filename="x.csv", title="x"
    )
    assert response["ok"] is True
    file_id = response["file"]["id"]
    assert file_id.startswith("F")
    assert response["file"]["title"] == "x"

    methods = [c.method for c in fake.calls]
    assert methods == ["files.getUploadURLExternal", "file_upload", "files.completeUploadExternal"]
    url_call, upload, complete = fake.calls
    assert url_call.body == {"filename": "x.csv", "length": "10"}
    assert upload.content == b"a,b\n1=2,3\n"
    assert upload.body == {"file_id": file_id}
    assert upload.path == f"/upload/{file_id}"
    assert complete.body["channel_id"] == "D1"
    assert complete.body["files"] == [{"id": file_id, "title": "x"}]


def test_multipart_upload_keeps_the_file_bytes(fake: FakeSlack) -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="channels"\r\n\r\nC1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nq,r\r\n1,2\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        fake.url + "files.upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True}
    call = fake.last("files.upload")
    assert call.body == {"channels": "C1", "filename": "r.csv"}
    assert call.content == b"q,r\r\n1,2"


def test_users_info_known_and_generated(client: WebClient, fake: FakeSlack) -> None:
    fake.add_user("U1", "ada", real_name="Ada Lovelace", tz="Asia/Shanghai", is_admin=True)
    user = client.users_info(user="U1")["user"]
    assert user["id"] == "U1"
    assert user["name"] == "ada"
    assert user["real_name"] == "Ada Lovelace"
    assert user["tz"] == "Asia/Shanghai"
    assert user["tz_offset"] == 8 * 3600
    assert user["is_admin"] is True
    assert user["profile"] == {
        "display_name": "ada",
        "real_name": "Ada Lovelace",
        "team": "T0TEAM",
    }

    stranger = client.users_info(user="U999")["user"]
    assert stranger["id"] == "U999"
    assert stranger["is_admin"] is False
    assert stranger["tz"] == "UTC"
    assert stranger["profile"]["real_name"]

    assert client.users_info(user="UBOT")["user"]["is_bot"] is True


def test_views_publish_open_update(client: WebClient, fake: FakeSlack) -> None:
    home = {"type": "home", "blocks": BLOCKS}
    published = client.views_publish(user_id="U1", view=home)["view"]
    assert published["id"].startswith("V")
    assert published["blocks"] == BLOCKS
    assert fake.last("views.publish").body["view"] == home
    again = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    assert again["id"] == published["id"]
    assert fake.home_view("U1")["blocks"] == []

    modal = {"type": "modal", "callback_id": "log", "title": {"type": "plain_text", "text": "Log"}}
    opened = client.views_open(trigger_id="t1", view=modal)["view"]
    assert opened["callback_id"] == "log"
    pushed = client.views_push(trigger_id="t2", view=modal)["view"]
    assert pushed["id"] != opened["id"]
    updated = client.views_update(view_id=opened["id"], view={**modal, "blocks": BLOCKS})
    assert updated["view"]["id"] == opened["id"]
    assert fake.view(opened["id"])["blocks"] == BLOCKS


def test_conversations_open_and_info(client: WebClient) -> None:
    assert client.conversations_open(users=["U5", "U6"])["channel"]["id"] == "DU5"
    assert client.conversations_open(users="U8")["channel"]["id"] == "DU8"
    info = client.conversations_info(channel="DU5")["channel"]
    assert info["is_im"] is True


def test_conversations_info_for_a_known_channel(client: WebClient, fake: FakeSlack) -> None:
    fake.add_channel("C1", "sales")
    channel = client.conversations_info(channel="C1")["channel"]
    assert channel["name"] == "sales"
    assert channel["is_channel"] is True


def test_unknown_methods_are_ok_recorded_and_logged(
    client: WebClient, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="bot.devslack.fake_slack"):
        response = client.api_call("reactions.add", json={"name": "tada", "channel": "C1"})
    assert response.data == {"ok": True}
    assert fake.last("reactions.add").body == {"name": "tada", "channel": "C1"}
    assert "reactions.add" in caplog.text


def test_mark_calls_since_and_clear(client: WebClient, fake: FakeSlack) -> None:
    client.auth_test()
    mark = fake.mark()
    assert mark == 1
    client.chat_postMessage(channel="C1", text="after")
    assert [c.method for c in fake.calls_since(mark)] == ["chat.postMessage"]
    fake.fail_next("auth.test")
    fake.clear()
    assert fake.calls == []
    assert client.auth_test()["ok"] is True  # the pending failure was cleared too


def test_calls_is_a_copy(client: WebClient, fake: FakeSlack) -> None:
    client.auth_test()
    snapshot = fake.calls
    snapshot.clear()
    assert len(fake.calls) == 1


def test_wait_for_returns_when_calls_arrive(client: WebClient, fake: FakeSlack) -> None:
    def post_later() -> None:
        time.sleep(0.1)
        client.chat_postMessage(channel="C1", text="late")

    worker = threading.Thread(target=post_later)
    worker.start()
    calls = fake.wait_for("chat.postMessage", timeout=5)
    worker.join()
    assert calls[0].body["text"] == "late"


def test_wait_for_timing_out_names_what_was_recorded(client: WebClient, fake: FakeSlack) -> None:
    client.auth_test()
    started = time.monotonic()
    with pytest.raises(AssertionError) as raised:
        fake.wait_for("chat.postMessage", count=2, timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 2
    message = str(raised.value)
    assert "chat.postMessage" in message
    assert "auth.test x1" in message


def test_concurrent_clients_are_all_recorded(fake: FakeSlack) -> None:
    errors: list[BaseException] = []

    def post(n: int) -> None:
        try:
            client = WebClient(base_url=fake.url, token="xoxb-test", retry_handlers=[])
            for i in range(5):
                client.chat_postMessage(channel="C1", text=f"{n}-{i}")
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    calls = fake.wait_for("chat.postMessage", count=40)
    assert len(calls) == 40
    assert len({m["ts"] for m in fake.messages("C1")}) == 40


def test_keep_alive_connection_serves_several_requests(fake: FakeSlack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        for text in ("one", "two"):
            connection.request(
                "POST",
                "/api/chat.postMessage",
                body=json.dumps({"channel": "C1", "text": text}),
                headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-k"},
            )
            response = connection.getresponse()
            assert response.getheader("Content-Length") is not None
            assert json.loads(response.read())["ok"] is True
    finally:
        connection.close()
    assert [c.body["text"] for c in fake.calls_to("chat.postMessage")] == ["one", "two"]


def test_stop_refuses_further_connections() -> None:
    server = FakeSlack().start()
    url = server.url
    server.stop()
    client = WebClient(base_url=url, token="xoxb-test", retry_handlers=[], timeout=2)
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        client.auth_test()
