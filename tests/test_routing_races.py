"""The rotation under load (DESIGN §8): leads routed at the same moment by several web processes
go to different reps, and an Accept, claims of the same customer, a manager's assignment and
the time-out moving the offer on, all at once, leave exactly one owner. On SQLite and
PostgreSQL; the invariants are checked in the database afterwards, not only in the replies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlmodel import select

from bot.ids import Action
from bot.services.audit import ownership_violations
from bot.store.db import make_engine
from bot.store.models import Lead, Offer, Routing
from jobs.runner import run_job
from tests.conftest import LiveServer
from tests.digest_support import client_for
from tests.leads_support import click, db
from tests.race_support import racing_server, together

REPS = [f"U0IN{n}" for n in range(1, 7)]
SETUP = f"""
admins = ["U0ADMIN"]
default_department = "Inbound"

[[department]]
name = "Inbound"
channel = "C0IN"
managers = ["U0MGR1"]
reps = {REPS!r}

[[department]]
name = "Field"
managers = ["U0MGR2"]
reps = ["U0FLD1"]
""".replace("'", '"')


@pytest.fixture
def racing(db_url: str, fake_slack, tmp_path: Path) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    yield from racing_server(db_url, fake_slack, tmp_path, SETUP)


def test_leads_routed_at_once_go_to_different_reps(racing) -> None:
    new = partial(racing.command, "/lead")
    for batch in range(2):
        replies = together(
            [partial(new, f"new Burst{batch}x{n} Co", user="U0MGR1") for n in range(len(REPS))]
        )
        assert all(r.status == 200 and "offered to" in r.text for r in replies)
    with db(racing) as session:
        offers = session.exec(select(Offer)).all()
        counts = Counter(o.user_id for o in offers)
        # twelve leads, six reps: each offered exactly two, never one rep twice in a batch
        assert len(offers) == 12 and set(counts) == set(REPS)
        assert max(counts.values()) - min(counts.values()) == 0, counts
        assert ownership_violations(session) == []
    # every rep got their DMs at the fake Slack
    for rep in REPS:
        assert len(racing.fake.messages("D" + rep)) == 2, rep


def test_accept_claims_assign_and_time_out_at_once_leave_one_owner(racing) -> None:
    engine = make_engine(racing.db_url)
    client = client_for(racing.fake)
    for n in range(6):
        name = f"Contested{n} Co"
        assert "offered to" in racing.command("/lead", f"new {name}", user="U0MGR1").text
        with db(racing) as session:
            lead = session.exec(select(Lead).where(Lead.name_key == f"contested{n}")).one()
            routing = session.exec(select(Routing).where(Routing.lead_id == lead.id)).one()
            offer = session.exec(
                select(Offer).where(Offer.routing_id == routing.id, Offer.status == "open")
            ).one()
        rep, other = offer.user_id, next(r for r in REPS if r != offer.user_id)
        lead_cmd = partial(racing.command, "/lead")
        results = together(
            [
                partial(click, racing, rep, Action.OFFER_ACCEPT, str(offer.id), f"a{n}"),
                partial(lead_cmd, f"claim {name}", user=rep),
                partial(lead_cmd, f"claim {name}", user=other),
                partial(lead_cmd, f"claim {name}", user="U0FLD1"),
                partial(lead_cmd, f"assign {name} <@{REPS[-1]}|last>", user="U0MGR1"),
                partial(
                    run_job,
                    "offers",
                    engine=engine,
                    client=client,
                    now=offer.due_at + timedelta(seconds=1),
                ),
            ]
        )
        for reply in results[1:5]:
            assert reply.status == 200, reply.body
        with db(racing) as session:
            lead = session.get(Lead, lead.id)
            routing = session.get(Routing, routing.id)
            offers = session.exec(select(Offer).where(Offer.routing_id == routing.id)).all()
            assert lead.owner_id is not None, name
            # the routing settled once, naming the owner the lead has
            assert routing.status in ("accepted", "assigned", "claimed"), routing.status
            assert routing.owner_id == lead.owner_id
            assert sum(o.status == "accepted" for o in offers) <= 1
            assert sum(o.status == "open" for o in offers) == 0
            assert ownership_violations(session) == []
    engine.dispose()
