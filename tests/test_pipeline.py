"""Pipeline by stage, the weighted forecast and the week's lost deals, in ``/sales report``,
the weekly digest and the agenda; stage weights from the setup file and ``/sales dept set``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.services import reports
from bot.services.departments import stage_weights
from bot.services.setup import SetupError, import_setup
from bot.store.db import make_engine
from bot.store.models import Department, OwnershipEvent, TransferRequest
from jobs import posts
from tests.conftest import LiveServer
from tests.digest_support import SETUP, add_lead, setup_org

#: Friday 27 Nov 2026 09:00 in Shanghai: the weekly digest covers Mon 23 – Sun 29 Nov.
FRI_0900_SHANGHAI = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
#: Monday 30 Nov 2026 09:00 in Shanghai: the agenda of the 10:00 meeting.
MON_0900_SHANGHAI = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

WEIGHTED = SETUP.replace(
    'meeting = "mon 10:00"\n',
    'meeting = "mon 10:00"\n'
    "stage_weights = { qualified = 0.2, proposal = 0.5, negotiation = 0.8 }\n",
    1,
)


def _enterprise(session: Session) -> Department:
    return session.exec(select(Department).where(Department.name == "Enterprise")).one()


def _seed_pipeline(session: Session, ent: Department, at: datetime) -> None:
    """Open deals in three stages, a won one (not in the pipeline) and a lost one."""
    for name, owner, stage, cents in [
        ("Hooli", "U0REP1", "qualified", 10_000_000),
        ("Umbrella", "U0REP1", "proposal", 4_000_000),
        ("Stark", "U0REP2", "proposal", 6_000_000),
        ("Wayne", "U0REP2", "negotiation", 2_000_000),
        ("Tyrell", "U0REP2", "new", None),
        ("Globex", "U0REP2", "won", 9_900_000),
    ]:
        add_lead(
            session,
            name,
            owner=owner,
            department=ent,
            stage=stage,
            claimed_at=at,
            amount_cents=cents,
        )
    lost = add_lead(
        session, "Soylent", owner=None, department=None, stage="lost", amount_cents=3_000_000
    )
    quiet = add_lead(session, "Cyberdyne", owner=None, department=None, stage="lost")
    for lead, reason in ((lost, "went with a cheaper vendor"), (quiet, None)):
        session.add(
            OwnershipEvent(
                lead_id=lead.id,
                at=at,
                actor_id="U0REP1",
                action="lost",
                from_owner="U0REP1",
                from_department_id=ent.id,
                from_stage="proposal",
                to_stage="lost",
                reason=reason,
            )
        )
    # lost the week before: not this week's business
    old = add_lead(session, "Oldco", owner=None, department=None, stage="lost")
    session.add(
        OwnershipEvent(
            lead_id=old.id,
            at=at - timedelta(days=14),
            actor_id="U0REP1",
            action="lost",
            from_owner="U0REP1",
            from_department_id=ent.id,
            reason="too old to mention",
        )
    )
    session.commit()


def test_weekly_digest_and_agenda_show_pipeline_forecast_and_lost_deals(engine) -> None:
    setup_org(engine, WEIGHTED)
    with Session(engine, expire_on_commit=False) as session:
        ent = _enterprise(session)
        _seed_pipeline(session, ent, FRI_0900_SHANGHAI - timedelta(days=2))
        found = reports.pipeline(session, ent.id)
        assert [(s.stage, s.count, s.amount_cents) for s in found.stages] == [
            ("new", 1, 0),
            ("qualified", 1, 10_000_000),
            ("proposal", 2, 10_000_000),
            ("negotiation", 1, 2_000_000),
        ]
        assert found.forecast_cents == 2_000_000 + 5_000_000 + 1_600_000
        weekly = posts.weekly_digest(session, ent, FRI_0900_SHANGHAI).message.text
        agenda = posts.agenda(session, ent, MON_0900_SHANGHAI)
    assert agenda is not None
    for text in (weekly, agenda.message.text):
        assert "*Pipeline* — 5 open deals · $220,000 · forecast *$86,000*" in text
        assert "• proposal: 2 · $100,000 × 50% = $50,000" in text
        assert "• negotiation: 1 · $20,000 × 80% = $16,000" in text
        assert "*Lost deals* (2)" in text
        assert "*Soylent* — <@U0REP1> · $30,000 · “went with a cheaper vendor”" in text
        assert "*Cyberdyne* — <@U0REP1> · no reason given" in text
        assert "Oldco" not in text and "Globex* — " not in text.split("*Pipeline*")[1]


def test_pipeline_in_chinese(engine) -> None:
    setup_org(engine, WEIGHTED)
    with Session(engine, expire_on_commit=False) as session:
        farmers = session.exec(select(Department).where(Department.name == "Farmers")).one()
        add_lead(
            session,
            "Initech",
            owner="U0REP3",
            department=farmers,
            stage="proposal",
            claimed_at=FRI_0900_SHANGHAI,
            amount_cents=1_000_000,
        )
        text = posts.weekly_digest(session, farmers, FRI_0900_SHANGHAI).message.text
    assert "*销售漏斗* — 在跟商机 1 个 · US$10,000 · 预测 *US$5,000*" in text
    assert "*输单*（0）" in text


def test_stage_weights_in_the_setup_file_are_checked(engine) -> None:
    bad = SETUP.replace(
        'meeting = "mon 10:00"\n', 'meeting = "mon 10:00"\nstage_weights = { proposal = 1.5 }\n', 1
    )
    with Session(engine) as session, pytest.raises(SetupError) as refused:
        import_setup(session=session, text=bad)
    assert refused.value.template == "setup_bad_value"
    assert refused.value.data["key"] == "stage_weights"
    unknown = SETUP.replace(
        'meeting = "mon 10:00"\n', 'meeting = "mon 10:00"\nstage_weights = { won = 1 }\n', 1
    )
    with Session(engine) as session, pytest.raises(SetupError):
        import_setup(session=session, text=unknown)
    setup_org(engine, WEIGHTED)
    with Session(engine) as session:
        ent = _enterprise(session)
        assert stage_weights(session, ent.id) == {
            "new": 0.05,
            "contacted": 0.1,
            "qualified": 0.2,
            "proposal": 0.5,
            "negotiation": 0.8,
        }


def test_admin_sets_stage_weights_and_the_report_shows_the_forecast(org: LiveServer) -> None:
    set_ = org.command(
        "/sales", "dept set Enterprise stage_weights proposal=0.6, negotiation=90%", user="U0ADMIN"
    )
    assert (
        "*Enterprise*: stage_weights is now new=0.05 contacted=0.1 qualified=0.25 "
        "proposal=0.6 negotiation=0.9." in set_.text
    )
    bad = org.command("/sales", "dept set Enterprise stage_weights proposal=2", user="U0ADMIN")
    assert "“proposal=2” is not a valid stage_weights" in bad.text
    assert "qualified=0.25 proposal=0.5 negotiation=0.75" in bad.text
    junk = org.command("/sales", "dept set Enterprise stage_weights lots", user="U0ADMIN")
    assert "“lots” is not a valid stage_weights" in junk.text
    rep = org.command("/sales", "dept set Enterprise stage_weights proposal=0.1", user="U0REP1")
    assert "stage_weights is now" not in rep.text
    with Session(make_engine(org.db_url), expire_on_commit=False) as session:
        ent = _enterprise(session)
        add_lead(
            session,
            "Umbrella",
            owner="U0REP1",
            department=ent,
            stage="proposal",
            claimed_at=datetime.now(UTC),
            amount_cents=5_000_000,
        )
        session.commit()
    report = org.command("/sales", "report", user="U0REP2")
    assert "*Pipeline* — 1 open deal · $50,000 · forecast *$30,000*" in report.text
    assert "• proposal: 1 · $50,000 × 60% = $30,000" in report.text


def test_agenda_lists_only_transfer_requests_still_waiting(engine) -> None:
    setup_org(engine)
    at = MON_0900_SHANGHAI - timedelta(days=3)
    with Session(engine, expire_on_commit=False) as session:
        ent = _enterprise(session)
        waiting = add_lead(session, "Hooli", owner="U0REP1", department=ent, claimed_at=at)
        moved_on = add_lead(session, "Wayne", owner="U0REP2", department=ent, claimed_at=at)
        released = add_lead(session, "Stark", owner=None, department=None)
        decided = add_lead(session, "Umbrella", owner="U0REP2", department=ent, claimed_at=at)
        for lead, status in (
            (waiting, "pending"),
            (moved_on, "pending"),  # the manager gave it to U0REP2 directly since
            (released, "pending"),  # released to the pool since
            (decided, "approved"),
        ):
            session.add(
                TransferRequest(
                    lead_id=lead.id,
                    from_user="U0REP1",
                    to_user="U0REP2",
                    requested_by="U0REP1",
                    status=status,
                    created_at=at,
                )
            )
        session.commit()
        agenda = posts.agenda(session, ent, MON_0900_SHANGHAI)
    assert agenda is not None
    text = agenda.message.text
    assert "*and transfer requests* (1)" in text
    assert "*Hooli* — <@U0REP1> → <@U0REP2>, waiting for a decision" in text
    for settled in ("Wayne", "Stark", "Umbrella"):
        assert f"*{settled}* —" not in text
