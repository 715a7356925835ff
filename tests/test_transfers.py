"""Transfers across departments: the losing department's manager is told, and agrees to a
request as well as the target's manager; pending requests on the Home tab."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.devslack.signing import button_payload
from bot.store.models import TransferRequest
from tests.leads_support import click, db, lead_named, responses


def _dms(org, user: str) -> list[dict]:
    return [
        c.body
        for c in org.fake.calls_to("chat.postMessage")
        if c.failed is None and c.body["channel"] == user
    ]


def _button(message: dict, action_id: str) -> str:
    return next(
        e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


def _home(org, user: str, event_id: str) -> str:
    before = len(org.fake.calls_to("views.publish"))
    org.event(
        {"type": "app_home_opened", "user": user, "channel": "D0", "tab": "home"},
        event_id=event_id,
    )
    call = org.fake.wait_for("views.publish", before + 1)[-1]
    return json.dumps(call.body["view"]["blocks"], ensure_ascii=False)


def _request(org) -> TransferRequest:
    with db(org) as session:
        return session.exec(select(TransferRequest).order_by(TransferRequest.id.desc())).first()


def test_a_request_to_another_department_needs_both_managers(org) -> None:
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    reply = org.command("/lead", "transfer Acme <@U0REP3>", user="U0REP1")
    assert (
        "takes it from *Enterprise* to *SMB*, so both sides must agree: <@U0MGR1> for "
        "Enterprise and <@U0MGR2> for SMB. You stay the owner until then." in reply.text
    )
    (to_mgr1,) = _dms(org, "U0MGR1")
    (to_mgr2,) = _dms(org, "U0MGR2")
    assert "The lead leaves *Enterprise*, so a manager of each department" in to_mgr1["text"]
    assert "需要两个部门的经理都批准" in to_mgr2["text"]
    request_id = _button(to_mgr1, "transfer_approve")

    # Requests wait on the Home tab: the approvers get buttons, the rep sees on whom.
    assert "your approval is needed" in _home(org, "U0MGR1", "Ev1")
    assert "transfer_approve" in _home(org, "U0MGR1", "Ev1b")
    assert "需要你审批" in _home(org, "U0MGR2", "Ev2")
    rep_home = _home(org, "U0REP1", "Ev3")
    assert "You asked to move *Acme Corp* to <@U0REP3> (SMB): waiting for <@U0MGR2>" in rep_home
    assert "transfer_approve" not in rep_home

    # A rep cannot approve; one side agreeing is not enough.
    click(org, "U0REP2", "transfer_approve", request_id, "rep2")
    (refused,) = responses(org, "rep2")
    assert "Only a manager of *Enterprise* / *SMB*" in refused["text"]
    click(org, "U0MGR1", "transfer_approve", request_id, "mgr1")
    (agreed,) = responses(org, "mgr1")
    assert agreed["replace_original"] is True
    assert (
        "<@U0MGR1> agreed to move *Acme Corp* to <@U0REP3>. Still waiting for <@U0MGR2> to "
        "approve; <@U0REP1> stays the owner until then." in agreed["text"]
    )
    assert lead_named(org, "acme").owner_id == "U0REP1"
    assert (_request(org).status, _request(org).decided_by) == ("pending", "U0MGR1")
    assert "your approval is needed" not in _home(org, "U0MGR1", "Ev4")
    assert "waiting for <@U0MGR2>" in _home(org, "U0REP1", "Ev5")

    click(org, "U0MGR2", "transfer_approve", request_id, "mgr2")
    (done,) = responses(org, "mgr2")
    assert "<@U0MGR2> 已批准：*Acme Corp* 现由 <@U0REP3>（SMB）负责" in done["text"]
    lead = lead_named(org, "acme")
    assert lead.owner_id == "U0REP3"
    assert (_request(org).status, _request(org).decided_by) == ("approved", "U0MGR2")
    # Settled: nobody's Home tab lists it any more, and a second click says so.
    assert "Transfer requests" not in _home(org, "U0REP1", "Ev6")
    click(org, "U0MGR1", "transfer_approve", request_id, "mgr1-again")
    (again,) = responses(org, "mgr1-again")
    assert "was already approved by <@U0MGR2>" in again["text"]


def test_either_side_rejects_alone_and_an_admin_approves_both(org) -> None:
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    org.command("/lead", "transfer Acme <@U0REP3>", user="U0REP1")
    click(org, "U0MGR1", "transfer_reject", str(_request(org).id), "mgr1")
    (rejected,) = responses(org, "mgr1")
    assert "<@U0MGR1> rejected moving *Acme Corp* to <@U0REP3>" in rejected["text"]
    assert lead_named(org, "acme").owner_id == "U0REP1"

    org.command("/lead", "transfer Acme <@U0REP3>", user="U0REP1")
    click(org, "U0ADMIN", "transfer_approve", str(_request(org).id), "admin")
    (approved,) = responses(org, "admin")
    assert (
        "Approved by <@U0ADMIN>: *Acme Corp* now belongs to <@U0REP3> (SMB)" in (approved["text"])
    )
    # The losing department's manager is told the lead left.
    told = _dms(org, "U0MGR1")[-1]
    assert (
        "*Acme Corp* left *Enterprise*: it moved from <@U0REP1> to <@U0REP3> (SMB)"
        in (told["text"])
    )


def test_a_direct_move_to_another_department_tells_the_losing_manager(org) -> None:
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    reply = org.command("/lead", "transfer Acme <@U0REP3>", user="U0ADMIN")
    assert "moved from <@U0REP1> (Enterprise) to <@U0REP3> (SMB)" in reply.text
    (told,) = _dms(org, "U0MGR1")
    assert "*Acme Corp* left *Enterprise*" in told["text"]
    # Within one department nobody else is told.
    org.command("/lead", "claim Globex", user="U0REP1")
    org.command("/lead", "transfer Globex <@U0REP2>", user="U0MGR1")
    assert len(_dms(org, "U0MGR1")) == 1


def test_a_request_settled_by_a_move_does_not_block_the_next_one(org) -> None:
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    org.command("/lead", "transfer Acme <@U0REP2>", user="U0REP1")  # same department
    org.command("/lead", "transfer Acme <@U0REP2>", user="U0MGR1")  # the manager moves it
    reply = org.command("/lead", "transfer Acme <@U0REP1>", user="U0REP2")
    assert "Asked <@U0MGR1> to approve moving *Acme Corp* to <@U0REP1>" in reply.text
    with db(org) as session:
        statuses = [r.status for r in session.exec(select(TransferRequest).order_by("id"))]
    assert statuses == ["cancelled", "pending"]


def test_approve_from_the_home_tab_shows_the_tab_again(org) -> None:
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    org.command("/lead", "transfer Acme <@U0REP2>", user="U0REP1")
    assert "your approval is needed" in _home(org, "U0MGR1", "Ev1")
    payload = button_payload(
        user="U0MGR1",
        action_id="transfer_approve",
        value=str(_request(org).id),
        response_url="",
        view={"type": "home", "id": "V0HOME"},
    )
    del payload["response_url"], payload["channel"]
    payload["container"] = {"type": "view", "view_id": "V0HOME"}
    before = len(org.fake.calls_to("views.publish"))
    assert org.action(payload).status == 200
    call = org.fake.wait_for("views.publish", before + 1)[-1]
    assert call.body["user_id"] == "U0MGR1"
    assert "Transfer requests" not in json.dumps(call.body["view"]["blocks"])
    assert lead_named(org, "acme").owner_id == "U0REP2"
