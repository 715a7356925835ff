"""Fifty reps of two departments claim one customer at the same moment, through the real
HTTP endpoint: exactly one wins, every other caller is told who did (DESIGN §5)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.store.models import ClaimConflict, Lead, OwnershipEvent
from tests.conftest import LiveServer, import_setup_text
from tests.leads_support import db

CLAIMS = 50
ENTERPRISE = [f"U0ENT{i:03d}" for i in range(CLAIMS // 2)]
SMB = [f"U0SMB{i:03d}" for i in range(CLAIMS // 2)]
SETUP = f"""
admins = ["U0ADMIN"]

[[department]]
name = "Enterprise"
managers = ["U0MGR1"]
reps = {ENTERPRISE!r}

[[department]]
name = "SMB"
managers = ["U0MGR2"]
reps = {SMB!r}
""".replace("'", '"')

SPELLINGS = ["Acme Corp", "ACME Corporation acme.com", "ａｃｍｅ 有限公司", "Acme, Inc."]


@pytest.fixture
def crowd(server: LiveServer, tmp_path: Path) -> LiveServer:
    import_setup_text(server.db_url, SETUP)
    return server


def _race(server: LiveServer, users: list[str]) -> list[tuple[str, str]]:
    start = threading.Barrier(len(users))

    def claim(index: int) -> tuple[str, str]:
        user = users[index]
        start.wait()
        reply = server.command("/lead", f"claim {SPELLINGS[index % len(SPELLINGS)]}", user=user)
        assert reply.status == 200, reply.body
        return user, reply.json()["text"]

    with ThreadPoolExecutor(len(users)) as pool:
        return list(pool.map(claim, range(len(users))))


def _check_one_winner(server: LiveServer, replies: list[tuple[str, str]]) -> str:
    winners = [user for user, text in replies if "is now yours" in text]
    assert len(winners) == 1, replies
    (winner,) = winners
    losers = [text for user, text in replies if user != winner]
    assert len(losers) == CLAIMS - 1
    for text in losers:
        assert re.search(rf"already claimed by <@{winner}> \((Enterprise|SMB)\) since", text), text
    with db(server) as session:
        leads = session.exec(select(Lead)).all()
        assert len(leads) == 1
        assert leads[0].owner_id == winner
    return winner


def test_fifty_concurrent_claims_of_a_new_customer_then_of_a_pool_lead(crowd) -> None:
    users = [u for pair in zip(ENTERPRISE, SMB, strict=True) for u in pair]
    first = _check_one_winner(crowd, _race(crowd, users))

    reply = crowd.command("/lead", "release acme", user="U0ADMIN")
    assert "back in the pool" in reply.text
    second = _check_one_winner(crowd, _race(crowd, users[::-1]))

    with db(crowd) as session:
        claims = session.exec(
            select(OwnershipEvent.to_owner)
            .where(OwnershipEvent.action == "claim")
            .order_by(OwnershipEvent.id)
        ).all()
        conflicts = session.exec(select(func.count()).select_from(ClaimConflict)).one()
    assert claims == [first, second]
    assert conflicts == 2 * (CLAIMS - 1)
