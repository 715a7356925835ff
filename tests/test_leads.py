"""``/lead …`` through the real signed endpoint: what users read and what the store holds."""

from __future__ import annotations

import json

from sqlmodel import func, select

from bot.store.models import ClaimConflict, Lead, OwnershipEvent, TransferRequest
from tests.leads_support import click, db, lead_named, responses


def test_claim_then_conflicts_on_name_and_on_domain(org) -> None:
    reply = org.command("/lead", "claim Acme Corp acme.com", user="U0REP1")
    assert "*Acme Corp* (acme.com) is now yours" in reply.text
    assert reply.json()["response_type"] == "ephemeral"
    lead = lead_named(org, "acme")
    assert (lead.owner_id, lead.domain, lead.stage) == ("U0REP1", "acme.com", "new")
    assert lead.expires_at is not None

    # Same name key from another department: refused, naming owner, department and date.
    reply = org.command("/lead", "claim ACME Corporation", user="U0REP2")
    assert "already claimed by <@U0REP1> (Enterprise) since" in reply.text
    # Same domain, other name, Chinese-speaking department: refused in its locale.
    reply = org.command("/lead", "claim Acme Holdings https://www.acme.com/about", user="U0REP3")
    assert "已被 <@U0REP1>（Enterprise）" in reply.text
    with db(org) as session:
        assert session.exec(select(func.count()).select_from(Lead)).one() == 1
        conflicts = session.exec(select(ClaimConflict)).all()
    assert sorted(c.user_id for c in conflicts) == ["U0REP2", "U0REP3"]
    assert lead_named(org, "acme").owner_id == "U0REP1"

    reply = org.command("/lead", "claim acme", user="U0REP1")
    assert "*Acme Corp* is already yours" in reply.text


def test_near_duplicate_is_claimed_with_a_warning(org) -> None:
    org.command("/lead", "claim Acme Widgets", user="U0REP3")
    reply = org.command("/lead", "claim Acme Widget Co", user="U0REP1")
    assert "*Acme Widget Co* is now yours" in reply.text
    assert "Similar name: *Acme Widgets* — <@U0REP3>, SMB" in reply.text
    assert lead_named(org, "acmewidget").owner_id == "U0REP1"


def test_a_user_in_no_department_is_told_how_to_join(org) -> None:
    reply = org.command("/lead", "claim Initech", user="U0STRANGER")
    assert "not in a department yet" in reply.text
    assert "<@U0ADMIN>" in reply.text and "/sales dept add" in reply.text
    assert lead_named(org, "initech") is None


def test_release_permissions_pool_and_claim_button(org) -> None:
    org.command("/lead", "claim Globex", user="U0REP1")
    reply = org.command("/lead", "release globex", user="U0REP2")
    assert "Only the owner <@U0REP1>, a manager of *Enterprise* (<@U0MGR1>)" in reply.text
    assert "<@U0ADMIN>" in reply.text
    assert lead_named(org, "globex").owner_id == "U0REP1"

    reply = org.command("/lead", "release Globex", user="U0MGR1")
    assert "*Globex* is back in the pool" in reply.text
    dm = org.fake.last("chat.postMessage").body
    assert dm["channel"] == "U0REP1" and "back in the pool" in dm["text"]
    assert lead_named(org, "globex").owner_id is None

    reply = org.command("/lead", "pool", user="U0REP3")
    blocks = reply.json()["blocks"]
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "lead_claim" and button["text"]["text"] == "认领"
    click(org, "U0REP3", "lead_claim", button["value"], "rep3-claim")
    (claimed,) = responses(org, "rep3-claim")
    assert "现在归你了" in claimed["text"]
    lead = lead_named(org, "globex")
    assert lead.owner_id == "U0REP3"

    reply = org.command("/lead", "history Globex", user="U0REP2")
    text = reply.text
    assert (
        text.index("claimed by <@U0REP1> (Enterprise)")
        < text.index("released by <@U0MGR1> from <@U0REP1>")
        < text.index("claimed by <@U0REP3> (SMB)")
    )


def test_transfer_direct_by_manager_and_by_request(org) -> None:
    org.command("/lead", "claim Umbrella umbrella.com", user="U0REP1")
    reply = org.command("/lead", "transfer umbrella.com <@U0REP3|li>", user="U0MGR1")
    assert "moved from <@U0REP1> (Enterprise) to <@U0REP3> (SMB)" in reply.text
    lead = lead_named(org, "umbrella")
    assert (lead.owner_id, lead.department_id is not None) == ("U0REP3", True)
    assert org.fake.last("chat.postMessage").body["channel"] in ("U0REP1", "U0REP3")

    # The owner asks; the lead would leave SMB, so SMB's manager and the target's manager
    # (Enterprise) must both agree.
    reply = org.command("/lead", "transfer Umbrella <@U0REP2>", user="U0REP3")
    assert "需要双方同意：SMB 的 <@U0MGR2> 和 Enterprise 的 <@U0MGR1>" in reply.text
    request_dm = org.fake.last("chat.postMessage").body
    assert request_dm["channel"] == "U0MGR1" and "Transfer request" in request_dm["text"]
    approve = next(
        e
        for b in request_dm["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "transfer_approve"
    )
    assert lead_named(org, "umbrella").owner_id == "U0REP3"

    click(org, "U0REP1", "transfer_approve", approve["value"], "rep1")
    (refused,) = responses(org, "rep1")
    assert "Only a manager of *SMB* / *Enterprise*" in refused["text"]
    click(org, "U0MGR2", "transfer_approve", approve["value"], "mgr2")
    (agreed,) = responses(org, "mgr2")
    assert "<@U0MGR2> 已同意把 *Umbrella* 转给 <@U0REP2>。还需 <@U0MGR1> 批准" in agreed["text"]
    assert lead_named(org, "umbrella").owner_id == "U0REP3"

    click(org, "U0MGR1", "transfer_approve", approve["value"], "mgr1")
    (decided,) = responses(org, "mgr1")
    assert decided.get("replace_original") is True
    assert (
        "Approved by <@U0MGR1>: *Umbrella* now belongs to <@U0REP2> (Enterprise)"
        in (decided["text"])
    )
    assert lead_named(org, "umbrella").owner_id == "U0REP2"
    with db(org) as session:
        request = session.exec(select(TransferRequest)).one()
        actions = [
            e.action for e in session.exec(select(OwnershipEvent).order_by(OwnershipEvent.id))
        ]
    assert (request.status, request.decided_by) == ("approved", "U0MGR1")
    assert actions == ["claim", "transfer", "transfer"]

    reply = org.command("/lead", "transfer Umbrella <@U0REP1>", user="U0REP3")
    assert "只有负责人 <@U0REP2>" in reply.text


def test_stages_won_and_lost(org) -> None:
    org.command("/lead", "claim Initech", user="U0REP1")
    reply = org.command("/lead", "stage Initech proposal", user="U0REP1")
    assert "new → *proposal*" in reply.text
    reply = org.command("/lead", "stage Initech shipped", user="U0REP1")
    assert "“shipped” is not a stage" in reply.text and "`negotiation`" in reply.text
    reply = org.command("/lead", "won Initech lots", user="U0REP1")
    assert "“lots” is not an amount" in reply.text
    reply = org.command("/lead", "stage Initech proposal", user="U0REP2")
    assert "Only the owner <@U0REP1>" in reply.text

    reply = org.command("/lead", "won Initech 50k", user="U0MGR1")
    assert "proposal → *won* — $50,000" in reply.text
    lead = lead_named(org, "initech")
    assert (lead.stage, lead.amount_cents, lead.expires_at) == ("won", 5_000_000, None)

    org.command("/lead", "claim Hooli", user="U0REP1")
    reply = org.command("/lead", "lost Hooli went with a competitor", user="U0REP1")
    assert "new → *lost*" in reply.text and "back in the pool" in reply.text
    lead = lead_named(org, "hooli")
    assert (lead.stage, lead.owner_id, lead.lost_reason) == ("lost", None, "went with a competitor")
    reply = org.command("/lead", "history hooli", user="U0REP3")
    assert "输单" in reply.text and "went with a competitor" in reply.text


def test_who_mine_and_a_domain_given_later(org) -> None:
    org.command("/lead", "claim Stark Industries", user="U0REP1")
    org.command("/lead", "claim Wayne Enterprises", user="U0REP1")
    reply = org.command("/lead", "who Stark Industries stark.com", user="U0REP1")
    assert "*Stark Industries* (stark.com) — <@U0REP1>, Enterprise · new" in reply.text
    assert lead_named(org, "starkindustries").domain == "stark.com"
    reply = org.command("/lead", "who https://stark.com", user="U0REP3")
    assert "<@U0REP1>，Enterprise" in reply.text

    reply = org.command("/lead", "mine", user="U0REP1")
    assert "Stark Industries" in reply.text and "Wayne Enterprises" in reply.text
    reply = org.command("/lead", "who Starc Industries", user="U0REP1")
    assert "No lead called “Starc Industries”. Did you mean *Stark Industries*?" in reply.text


def test_max_leads_per_rep(org) -> None:
    org.command("/sales", "dept set SMB max_leads_per_rep 1", user="U0ADMIN")
    org.command("/lead", "claim One Co", user="U0REP3")
    reply = org.command("/lead", "claim Two Co", user="U0REP3")
    assert "你已持有 1 个进行中的客户" in reply.text
    assert lead_named(org, "two") is None


def test_help_usage_and_unknown(org) -> None:
    assert "/lead claim" in org.command("/lead", "help", user="U0REP1").text
    assert "Usage: `/lead transfer" in org.command("/lead", "transfer Acme", user="U0REP1").text
    assert "/lead who" in org.command("/lead", "who", user="U0REP1").text
    reply = org.command("/lead", "steal Acme", user="U0REP1")
    assert "steal" in reply.text
    reply = org.command("/lead", "claim !!!", user="U0REP1")
    assert "is not a company name" in reply.text
    assert json.loads(org.get("/healthz").body)
