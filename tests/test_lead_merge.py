"""``/lead merge`` and ``/lead delete`` through the real endpoint: who may, what moves, the
audit trail, and the retired lead gone from every list while its name is free again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import select

from bot.store.models import Activity, Lead, OwnershipEvent
from tests.leads_support import db, lead_named


def _retired(org) -> list[Lead]:  # type: ignore[no-untyped-def]
    with db(org) as session:
        return list(session.exec(select(Lead).where(Lead.deleted_at.is_not(None))).all())


def test_merge_moves_activities_and_retires_the_duplicate(org) -> None:
    org.command("/lead", "claim Acme Corp acme.com", user="U0REP1")
    org.command("/log", "call Acme asked for pricing", user="U0REP1")
    org.command("/lead", "claim Acme Holdings", user="U0REP2")  # a near-duplicate, by mistake
    org.command("/log", "visit Acme Holdings met the CFO", user="U0REP2")

    reply = org.command("/lead", "merge Acme Holdings into Acme Corp", user="U0REP1")
    assert "Only a manager of *Enterprise* (<@U0MGR1>) or an admin (<@U0ADMIN>)" in reply.text
    assert "can merge *Acme Holdings*" in reply.text
    reply = org.command("/lead", "merge Acme Holdings into Acme Holdings", user="U0MGR1")
    assert "Both names point at *Acme Holdings*" in reply.text
    reply = org.command("/lead", "merge Acme Holdings", user="U0MGR1")
    assert "Usage: `/lead merge &lt;company&gt; into &lt;company&gt;`" in reply.text

    reply = org.command("/lead", "merge Acme Holdings into Acme Corp", user="U0MGR1")
    assert (
        "Merged *Acme Holdings* into *Acme Corp*: 1 activity moved. *Acme Corp* stays with "
        "<@U0REP1> (Enterprise); *Acme Holdings* is retired (it was <@U0REP2>'s)."
    ) in reply.text
    kept = lead_named(org, "acme")
    with db(org) as session:
        notes = sorted(a.note for a in session.exec(select(Activity)).all())
        lead_ids = {a.lead_id for a in session.exec(select(Activity)).all()}
    assert notes == ["asked for pricing", "met the CFO"] and lead_ids == {kept.id}
    (retired,) = _retired(org)
    assert (retired.name, retired.owner_id, retired.domain) == ("Acme Holdings", None, None)
    assert retired.merged_into_id == kept.id
    # both owners hear of it; the audit trail says who merged what, and when
    assert any(
        "Merged *Acme Holdings*" in c.body["text"] for c in org.fake.calls_to("chat.postMessage")
    )
    history = org.command("/lead", "history Acme Corp", user="U0REP2")
    assert "<@U0MGR1> merged *Acme Holdings* into it" in history.text
    with db(org) as session:
        actions = [
            e.action
            for e in session.exec(
                select(OwnershipEvent).where(OwnershipEvent.lead_id == retired.id)
            ).all()
        ]
    assert actions == ["claim", "merged"]

    # gone from who / mine / pool; the name can be claimed again
    assert "<@U0REP2>" not in org.command("/lead", "mine", user="U0REP2").text
    assert "Acme Holdings" not in org.command("/lead", "pool", user="U0REP2").text
    reply = org.command("/lead", "claim Acme Holdings", user="U0REP3")
    assert "Acme Holdings" in reply.text and "Acme Corp" not in reply.text


def test_delete_retires_a_mistaken_lead_and_frees_its_name(org) -> None:
    org.command("/lead", "claim 华为技术有限公司拜访了采购部 huawei.com", user="U0REP3")
    reply = org.command("/lead", "delete 华为技术有限公司拜访了采购部", user="U0MGR1")
    assert "Only a manager of *SMB* (<@U0MGR2>) or an admin (<@U0ADMIN>) can delete" in reply.text
    reply = org.command("/lead", "delete 华为技术有限公司拜访了采购部", user="U0MGR2")
    assert "已删除 *华为技术有限公司拜访了采购部*（原负责人 <@U0REP3>，SMB）" in reply.text
    (retired,) = _retired(org)
    assert retired.owner_id is None and retired.name_key.startswith(f"#{retired.id}#")
    reply = org.command("/lead", "who 华为技术有限公司拜访了采购部", user="U0REP3")
    assert "没有名为“华为技术有限公司拜访了采购部”的客户" in reply.text
    # the domain is free too
    reply = org.command("/lead", "claim Huawei huawei.com", user="U0REP3")
    assert "*Huawei*（huawei.com） 现在归你了" in reply.text
    # a pool lead: any manager may delete it; an admin anything
    org.command("/lead", "claim Globex", user="U0REP1")
    org.command("/lead", "release Globex", user="U0REP1")
    reply = org.command("/lead", "delete Globex", user="U0MGR2")
    assert "已删除 *Globex*" in reply.text
    assert "Globex" not in org.command("/lead", "pool", user="U0REP1").text
    reply = org.command("/lead", "delete Huawei", user="U0ADMIN")
    assert "Deleted *Huawei*, which <@U0REP3> (SMB) held" in reply.text


def test_lead_help_lists_merge_and_delete(org) -> None:
    usage = "`/lead merge &lt;company&gt; into &lt;company&gt;`"
    for user, words in (("U0REP1", usage), ("U0REP3", "误建")):
        reply = org.command("/lead", "help", user=user)
        assert words in reply.text and "/lead delete" in reply.text


def test_crossing_merges_and_a_delete_at_once_retire_exactly_one_lead(org) -> None:
    """Leads are locked in id order: two merges of the same pair in opposite directions and a
    delete, at the same moment, never wait for each other in a circle; one wins, the others
    are told the lead is gone, and every activity ends on the lead that is left."""
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    org.command("/lead", "claim Acme Holdings", user="U0REP2")
    org.command("/log", "call Acme Corp one", user="U0REP1")
    org.command("/log", "call Acme Holdings two", user="U0REP2")
    calls = [
        ("U0MGR1", "merge Acme Corp into Acme Holdings"),
        ("U0ADMIN", "merge Acme Holdings into Acme Corp"),
        ("U0MGR1", "delete Acme Holdings"),
    ]
    start = threading.Barrier(len(calls))

    def run(call: tuple[str, str]) -> str:
        start.wait()
        reply = org.command("/lead", call[1], user=call[0])
        assert reply.status == 200, reply.body
        return reply.json()["text"]

    with ThreadPoolExecutor(len(calls)) as pool:
        replies = list(pool.map(run, calls))
    merged = [text for text in replies[:2] if text.startswith(":twisted_rightwards_arrows:")]
    deleted = replies[2].startswith(":wastebasket:")
    for text in replies:
        assert text.startswith((":twisted", ":wastebasket")) or "No lead called" in text, replies
    assert len(merged) <= 1 and (merged or deleted), replies
    with db(org) as session:
        alive = session.exec(select(Lead).where(Lead.deleted_at.is_(None))).all()
        on = {a.lead_id for a in session.exec(select(Activity)).all()}
    assert len(alive) == 2 - len(merged) - deleted
    if merged:  # all work is on the lead that was kept, retired since or not
        assert len(on) == 1


def test_a_deleted_lead_is_no_new_claim_in_the_report(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    org.command("/lead", "claim Acme asked for pricing", user="U0REP2")  # a note typed as name
    assert "*2* new claims" in org.command("/sales", "report Enterprise week", user="U0MGR1").text
    org.command("/lead", "delete Acme asked for pricing", user="U0MGR1")
    report = org.command("/sales", "report Enterprise week", user="U0MGR1").text
    assert "*1* new claim ·" in report


def test_a_deleted_lead_is_no_progress_on_a_new_leads_target(org) -> None:
    org.command("/target", "set Enterprise new-leads 4 month", user="U0MGR1")
    org.command("/lead", "claim Acme", user="U0REP1")
    org.command("/lead", "claim Globex", user="U0REP1")
    before = org.command("/target", "show Enterprise", user="U0MGR1").text
    org.command("/lead", "delete Globex", user="U0MGR1")
    after = org.command("/target", "show Enterprise", user="U0MGR1").text
    assert "*New leads* this month: `█████░░░░░` 50% — 2 of 4" in before
    assert "*New leads* this month: `██░░░░░░░░` 25% — 1 of 4" in after
