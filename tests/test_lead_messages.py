"""Every ``lead.*`` and ``log.*`` message, with realistic data, in both locales: valid Block Kit
within Slack's limits (50 blocks, 3,000 characters per section)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from bot import render
from bot.services.activities import NewCustomer
from bot.services.leads import STAGES, HistoryLine, LeadInfo, LeadList, StageChange
from bot.services.merging import Merged
from bot.services.names import Company
from bot.store.models import Activity, Department, Lead, OwnershipEvent, TransferRequest

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DEPT = Department(id=1, name="Enterprise", name_key="enterprise")


def _lead(i: int, owner: str | None = "U0REP1", stage: str = "proposal") -> Lead:
    return Lead(
        id=i,
        name=f"Company <{i}> & *Sons* Ltd",
        name_key=f"company{i}",
        domain=f"company{i}.com",
        owner_id=owner,
        department_id=1 if owner else None,
        stage=stage,
        amount_cents=12_345_600,
        claimed_at=NOW - timedelta(days=3),
        expires_at=NOW + timedelta(days=i % 14),
        last_activity_at=NOW,
    )


def _item(i: int, **kw) -> LeadInfo:  # type: ignore[no-untyped-def]
    return LeadInfo(lead=_lead(i, **kw), department=DEPT)


MANY = 300
WHO = {"owner": "U0REP1", "department": "Enterprise", "managers": ["U0MGR1"], "admins": ["U0A"]}
REQUEST = TransferRequest(
    id=5, lead_id=1, from_user="U0REP1", to_user="U0REP3", requested_by="U0REP1"
)
EVENTS = [
    HistoryLine(
        OwnershipEvent(
            lead_id=1,
            at=NOW,
            action=action,
            actor_id="U0MGR1",
            from_owner="U0REP1",
            to_owner="U0REP2",
            from_stage="new",
            to_stage="won",
            reason="price",
        ),
        "Enterprise",
        "SMB",
    )
    for action in ("claim", "release", "transfer", "expire", "stage", "won", "lost") * 60
    + ("merge", "merged", "delete")
]
ACTIVITY = Activity(
    user_id="U0REP1", kind="call", note="asked for *pricing* <@U0X>", occurred_at=NOW
)

SAMPLES = {
    "lead.claimed": dict(
        lead=_lead(1),
        department=DEPT,
        similar=[_item(2), _item(3)],
        from_pool=True,
        mail_domain="gmail.com",
    ),
    "lead.owned": dict(lead="Acme", owner="U0REP1", department="Enterprise", since=NOW),
    "lead.already_yours": dict(lead="Acme", department="Enterprise", expires=NOW),
    "lead.cooldown": dict(lead="Acme", until=NOW),
    "lead.limit_reached": dict(limit=3, department="SMB"),
    "lead.no_department": dict(admins=["U0A"], departments=["Enterprise", "SMB"]),
    "lead.bad_company": dict(given="!!!"),
    "lead.no_name_left": dict(given="<!channel> Ltd"),
    "lead.not_found": dict(name="Acme", suggestions=["Acme Corp", "Acne"]),
    "lead.in_pool": dict(lead="Acme"),
    "lead.release_denied": dict(lead="Acme", **WHO),
    "lead.stage_denied": dict(lead="Acme", **WHO),
    "lead.transfer_denied": dict(lead="Acme", **WHO),
    "lead.already_owner": dict(lead="Acme", owner="U0REP1"),
    "lead.target_not_member": dict(user="U0T"),
    "lead.transfer_pending": dict(lead="Acme", to_user="U0REP2"),
    "lead.request_not_found": {},
    "lead.decide_denied": dict(departments=["SMB"], managers=["U0MGR2"], admins=[]),
    "lead.request_decided": dict(lead="Acme", status="approved", by="U0MGR1"),
    "lead.bad_stage": dict(given="shipped", stages=STAGES),
    "lead.won_needs_amount": dict(lead="Acme"),
    "lead.bad_amount": dict(given="lots"),
    "lead.usage": dict(action="transfer"),
    "lead.released": dict(item=_item(1)),
    "lead.transferred": dict(item=_item(1), previous=_item(1), to_user="U0REP3"),
    "lead.transfer_requested": dict(item=_item(1), to_user="U0REP3", approvers=["U0MGR2"]),
    "lead.transfer_request": dict(request=REQUEST, item=_item(1), to_department="SMB"),
    "lead.transfer_decided": dict(request=REQUEST, item=_item(1)),
    "lead.transfer_requested_cross": dict(
        item=_item(1),
        to_user="U0REP3",
        to_department="SMB",
        approvers=["U0MGR2"],
        from_department="Enterprise",
        from_managers=["U0MGR1"],
    ),
    "lead.transfer_request_cross": dict(
        request=REQUEST, item=_item(1), to_department="SMB", from_department="Enterprise"
    ),
    "lead.listed": dict(
        found=LeadList(
            department="Enterprise",
            user=None,
            stage="proposal",
            items=[_item(i) for i in range(40)],
            total=MANY,
        )
    ),
    "lead.list_denied": dict(managers=["U0MGR1"], admins=["U0ADMIN"]),
    "lead.transfer_agreed": dict(request=REQUEST, item=_item(1), waiting_on=["U0MGR2"]),
    "lead.transfer_left_department": dict(item=_item(1), previous=_item(1), to_user="U0REP3"),
    "lead.who": dict(item=_item(1)),
    "lead.mine": dict(items=[_item(i) for i in range(MANY)]),
    "lead.pool": dict(
        leads=[_lead(i, owner=None) for i in range(20)], total=MANY, page=2, pages=15, search="co"
    ),
    "lead.stage_set": dict(change=StageChange(lead=_item(1), from_stage="new", to_stage="won")),
    "lead.history": dict(lead=_lead(1), lines=EVENTS),
    "lead.expiry_warning": dict(lead=_lead(1), department="SMB", expires=NOW),
    "lead.expired_notice": dict(lead=_lead(1), owner="U0REP1", department="SMB"),
    "log.logged": dict(activity=ACTIVITY, item=_item(1, owner=None), renewed=False),
    "log.bad_kind": dict(given="dance", kinds=("call", "visit")),
    "log.usage": {},
    "log.owned_elsewhere": dict(lead="Acme", owner="U0REP1", department="Enterprise"),
    "log.future_date": dict(given="2031-01-01"),
    "lead.name_too_long": dict(limit=200, length=600),
    "lead.reason_too_long": dict(limit=400, length=401),
    "lead.mine_usage": dict(given="bob"),
    "lead.expiry_warnings": dict(items=[_item(i) for i in range(20)], total=MANY),
    "lead.released_by": dict(item=_item(1), actor="U0MGR1"),
    "lead.pool_usage": dict(given="page two"),
    "log.old_date": dict(given="2020-01-01", days=90),
    "log.nothing_to_undo": dict(minutes=10),
    "log.undone": dict(activity=ACTIVITY, lead=_lead(1), removed=True),
    "log.new_customer": dict(
        new=NewCustomer(
            kind="email",
            company=Company(name="Acme | <Corp>", key="acme", domain="acme.com"),
            note="a|b\n<@U0X> “quoted” " + "长" * 300,
            on=None,
        )
    ),
    "log.note_too_long": dict(limit=2000, length=2001),
    "lead.merged": dict(merged=Merged(retired=_item(1), kept=_item(2, owner=None), activities=3)),
    "lead.deleted": dict(item=_item(1)),
    "lead.merge_usage": {},
    "lead.merge_same": dict(lead="Acme"),
    "lead.retire_denied": dict(
        action="merge", lead="Acme", department="SMB", managers=["U0MGR2"], admins=[]
    ),
    "log.new_too_long": dict(company="Acme", kind="call"),
    "lead.out_of_territory": dict(
        lead="Huawei", territory="Enterprise", managers=["U0MGR1"], admins=[], caller="U0REP3"
    ),
    "lead.attribute_set": dict(
        lead=_lead(1), attribute="employees", value="1200", previous="800", territory="Enterprise"
    ),
    "lead.set_usage": dict(given="size"),
    "lead.bad_attribute": dict(attribute="country", given="China"),
    "lead.set_denied": dict(
        lead="Acme", owner="U0REP1", department="Enterprise", managers=["U0MGR1"], admins=[]
    ),
    "lead.transfer_out_of_territory": dict(
        lead="Huawei", to_user="U0REP3", territory="Enterprise", managers=["U0MGR1"], admins=[]
    ),
}
# Pieces of the modal (plain text, not messages); the modal itself is validated in test_log.
MODAL_PIECES = {"kind_name", "modal_new_company"}


def _macros(area: str) -> set[str]:
    text = (Path(render.TEMPLATES) / "en" / f"{area}.j2").read_text()
    return {m for m in re.findall(r"{%-? macro (\w+)\(", text) if not m.startswith("modal")}


def test_every_message_has_a_sample() -> None:
    expected = {f"lead.{m}" for m in _macros("lead")} | {
        f"log.{m}" for m in _macros("log") - MODAL_PIECES
    }
    assert expected == set(SAMPLES)


@pytest.mark.parametrize("locale", render.LOCALES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_valid_block_kit_within_limits(name: str, locale: str) -> None:
    message = render.message(name, locale, **SAMPLES[name])
    assert message.text.strip()
    assert 0 < len(message.blocks) <= 50
    for block in message.blocks:
        Block.parse(block).validate_json()
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert "<@U0X>" not in message.text  # a note cannot mention anyone
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == "log_new_lead":  # the button carries the whole log
                new = SAMPLES[name]["new"]
                assert NewCustomer.parse(element["value"]) == new
