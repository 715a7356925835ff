"""The "New lead" message shortcut (DESIGN §8) through the real endpoint: the modal opened at
Slack's ``views.open`` pre-filled from the message, the submission routed as ``/lead new``
routes (offer DM, channel line), every wrong field named at once, and the free-mail rule."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.views import View
from sqlmodel import select

from bot.devslack import modal
from bot.devslack.signing import payload_body
from bot.ids import Action, Shortcut
from bot.services import lead_form
from bot.store.models import Lead, Offer, Routing
from handlers.views.new_lead_modal import modal as build_modal
from tests.conftest import SETUP_TOML, LiveServer, import_setup_text
from tests.leads_support import db, lead_named

ROUTED_SETUP = 'default_department = "Enterprise"\n' + SETUP_TOML


def _org(server: LiveServer) -> LiveServer:
    import_setup_text(server.db_url, ROUTED_SETUP)
    return server


def _shortcut(org: LiveServer, user: str, text: str, channel: str = "C0ENT") -> dict:
    org.post(
        payload_body(
            {
                "type": "message_action",
                "callback_id": Shortcut.NEW_LEAD.value,
                "trigger_id": "1.2.newlead",
                "team": {"id": "T0TEAM"},
                "user": {"id": user},
                "channel": {"id": channel},
                "message": {"type": "message", "text": text, "ts": "1.1"},
                "response_url": org.fake.response_url("newlead"),
            }
        )
    )
    return org.fake.last("views.open").body["view"]


def _initial(view: dict) -> dict[str, str | None]:
    return {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"]}


def _submit(org: LiveServer, user: str, view: dict, answers: dict):  # type: ignore[no-untyped-def]
    return org.post(payload_body(modal.submission(user, view, modal.state_values(view, answers))))


def _text(message: dict) -> str:
    return message.get("text", "") + json.dumps(message.get("blocks", []), ensure_ascii=False)


MESSAGE = (
    "Globex Corporation\n"
    "Hank Scorpio <mailto:hank@globex.com|hank@globex.com> wants a demo for 40 seats, "
    "see <https://www.globex.com|globex.com>"
)


def test_the_shortcut_opens_a_prefilled_form_and_submitting_routes_the_lead(server) -> None:
    org = _org(server)
    view = _shortcut(org, "U0REP2", MESSAGE)
    View(**view).validate_json()
    assert view["title"]["text"] == "New lead"
    assert _initial(view) == {
        "company": "Globex Corporation",
        "domain": "globex.com",
        "employees": None,
        "country": None,
        "industry": None,
        "email": "hank@globex.com",
        "note": "Globex Corporation\nHank Scorpio hank@globex.com wants a demo for 40 seats, "
        "see globex.com",
    }

    reply = _submit(org, "U0REP2", view, {"employees": "1,200", "country": "de"})
    assert reply.status == 200 and "errors" not in reply.body
    # routed as /lead new routes: the first rep of the rotation is offered it
    [dm] = org.fake.messages("DU0REP1")
    assert "New lead for you: Globex Corporation" in _text(dm)
    assert "globex.com · 1200 employees · DE" in _text(dm)
    assert "hank@globex.com" in _text(dm) and "wants a demo for 40 seats" in _text(dm)
    assert any(
        e.get("action_id") == Action.OFFER_ACCEPT
        for b in dm.get("blocks", [])
        for e in b.get("elements") or []
    )
    [line] = org.fake.messages("C0ENT")
    assert "New lead *Globex Corporation* from " in _text(line)
    # the person who used the shortcut is told where it went, in the channel, only to them
    told = org.fake.last("chat.postEphemeral").body
    assert (told["channel"], told["user"]) == ("C0ENT", "U0REP2")
    assert "*Globex Corporation* goes to *Enterprise*: offered to <@U0REP1>" in told["text"]
    lead = lead_named(org, "globex")
    assert (lead.domain, lead.employees, lead.country, lead.owner_id) == (
        "globex.com",
        1200,
        "DE",
        None,
    )
    with db(org) as s:
        routing = s.exec(select(Routing)).one()
        assert routing.source == "slack:U0REP2" and routing.status == "offering"
        assert routing.details["email"] == "hank@globex.com"
        assert [o.user_id for o in s.exec(select(Offer))] == ["U0REP1"]
    history = org.command("/lead", "history Globex", user="U0REP2").text
    assert "came in from <@U0REP2>" in history

    # the same customer again from another message: nothing new, the rep is told it is offered
    view = _shortcut(org, "U0REP2", "globex.com asked again")
    assert _initial(view)["company"] == "globex.com asked again"
    _submit(org, "U0REP2", view, {"company": "Globex"})
    assert (
        "*Globex Corporation* goes to *Enterprise*: offered to <@U0REP1>"
        in (org.fake.last("chat.postEphemeral").body["text"])
    )
    with db(org) as s:
        assert len(s.exec(select(Lead)).all()) == 1


def test_every_wrong_field_is_named_at_once_and_nothing_is_routed(server) -> None:
    org = _org(server)
    view = _shortcut(org, "U0REP1", "x" * 300)
    assert _initial(view)["company"] is None  # a long first line is no company name
    reply = _submit(
        org,
        "U0REP1",
        view,
        {
            "company": "",
            "domain": "not a domain",
            "employees": "many",
            "country": "Germany",
            "industry": "i" * 81,
            "email": "hank@",
            "note": "n" * 2001,
        },
    )
    data = reply.json()
    assert data["response_action"] == "errors"
    assert data["errors"] == {
        "company": "Please fill this in: the company's name.",
        "domain": "“not a domain” is not a web domain: type one like acme.com, or leave it empty.",
        "employees": "“many” is not a number of employees: type a whole number from 1 to "
        "10,000,000, e.g. 1200.",
        "country": "“Germany” is not a country code: type its two letters, e.g. DE or CN.",
        "industry": "An industry can have at most 80 characters: type a word or two, e.g. retail.",
        "email": "“hank@” is not an e-mail address: type one like jane@acme.com, or leave it "
        "empty.",
        "note": "The note has 2,001 characters; a note holds at most 2,000. Shorten it.",
    }
    reply = _submit(org, "U0REP1", view, {"company": "Ltd"})
    assert reply.json()["errors"] == {
        "company": "“Ltd” names no company: type the company's own name, e.g. Acme Corp."
    }
    with db(org) as s:
        assert s.exec(select(Lead)).all() == [] and s.exec(select(Offer)).all() == []
    assert org.fake.calls_to("chat.postEphemeral") == []


def test_a_free_mail_address_gives_no_domain(server) -> None:
    org = _org(server)
    view = _shortcut(org, "U0REP3", "小王科技\n联系人 <mailto:wang@gmail.com|wang@gmail.com>")
    assert view["title"]["text"] == "新线索"  # SMB reads Chinese
    initial = _initial(view)
    assert (initial["company"], initial["domain"], initial["email"]) == (
        "小王科技",
        None,
        "wang@gmail.com",
    )
    # typed into the domain field, a mail provider's domain is not kept either
    _submit(org, "U0REP3", view, {"domain": "gmail.com"})
    lead = lead_named(org, "小王科技")
    assert lead is not None and lead.domain is None
    told = org.fake.last("chat.postEphemeral").body
    assert told["user"] == "U0REP3" and "小王科技" in told["text"]

    # left empty, the domain comes from a company address, never from a free mail one
    view = _shortcut(org, "U0REP1", "Initech\nmail: bill@initech.com")
    assert _initial(view)["domain"] == "initech.com"
    _submit(org, "U0REP1", view, {"domain": ""})
    assert lead_named(org, "initech").domain == "initech.com"
    view = _shortcut(org, "U0REP1", "Acme Widgets")
    _submit(org, "U0REP1", view, {"email": "road.runner@outlook.com"})
    assert lead_named(org, "acmewidgets").domain is None


def test_not_in_the_channel_the_answer_comes_by_dm_and_outsiders_are_refused(server) -> None:
    org = _org(server)
    view = _shortcut(org, "U0REP1", "Umbrella Corp", channel="C0ELSE")
    org.fake.fail_next("chat.postEphemeral", error="channel_not_found")
    _submit(org, "U0REP1", view, {})
    [dm] = [m for m in org.fake.messages("DU0REP1") if "goes to *Enterprise*" in _text(m)]
    assert "*Umbrella Corp* goes to *Enterprise*: offered to <@U0REP1>" in _text(dm)

    before = len(org.fake.calls_to("views.open"))
    _shortcut_reply = org.post(
        payload_body(
            {
                "type": "message_action",
                "callback_id": Shortcut.NEW_LEAD.value,
                "trigger_id": "1.2.out",
                "team": {"id": "T0TEAM"},
                "user": {"id": "U0NOBODY"},
                "channel": {"id": "C0ENT"},
                "message": {"type": "message", "text": "Hooli", "ts": "1.1"},
                "response_url": org.fake.response_url("outsider"),
            }
        )
    )
    assert _shortcut_reply.status == 200
    assert len(org.fake.calls_to("views.open")) == before
    [answer] = [c.body for c in org.fake.calls_to("response_url") if c.path.endswith("/outsider")]
    assert "department" in answer["text"]


@pytest.mark.parametrize(
    ("text", "company", "domain", "email"),
    [
        ("Acme Corp acme.com", "Acme Corp acme.com", "acme.com", ""),
        (
            "hi\nwrite to jo@qq.com or see <http://foo.co.uk|foo.co.uk>",
            "hi",
            "foo.co.uk",
            "jo@qq.com",
        ),
        ("", "", "", ""),
        ("<!channel> <@U0REP1>", "", "", ""),
        ("华为\n联系人：王先生，邮箱：wang@huawei.com。", "华为", "huawei.com", "wang@huawei.com"),
        (
            "Mail (bob@initech.com) today.",
            "Mail (bob@initech.com) today.",
            "initech.com",
            "bob@initech.com",
        ),
    ],
)
def test_what_a_message_suggests(text: str, company: str, domain: str, email: str) -> None:
    guess = lead_form.guess(text)
    assert (guess.company, guess.domain, guess.email) == (company, domain, email)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_form_is_valid_block_kit(locale: str) -> None:
    guess = lead_form.guess("Acme\n" + "x" * 5000)
    view = build_modal(locale, guess, channel="C1")
    View(**view).validate_json()
    note = next(b for b in view["blocks"] if b["block_id"] == "note")
    assert len(note["element"]["initial_value"]) == lead_form.MAX_NOTE
