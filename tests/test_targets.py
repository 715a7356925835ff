"""``/target set|show`` through the real endpoint, and ``progress`` on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot import render
from bot.periods import period
from bot.services import targets
from bot.services.errors import InvalidInput, PermissionDenied
from bot.services.setup import import_setup
from bot.store.models import Lead, OwnershipEvent, Target, utcnow
from tests.conftest import SETUP_TOML
from tests.targets_support import (
    activity,
    assert_valid_blocks,
    db,
    department,
    in_all_periods,
    open_lead,
    won_lead,
)

#: Wednesday 18 November 2026, 12:00 in Shanghai (UTC+8).
NOW = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)


@pytest.fixture
def company(engine):
    with Session(engine, expire_on_commit=False) as session:
        import_setup(session=session, text=SETUP_TOML)
        yield session


def _target(session, dept, metric, period_kind, value, user=""):
    session.add(
        Target(department_id=dept.id, user_id=user, metric=metric, period=period_kind, value=value)
    )
    session.commit()


def test_progress_counts_each_metric_in_the_department_zone(company) -> None:
    s = company
    ent, smb = department(s, "Enterprise"), department(s, "SMB")
    # Revenue and wins: this week, earlier this month, earlier this quarter.
    won_lead(
        s, owner="U0REP1", department_id=ent.id, amount_cents=2_000_000, at=NOW - timedelta(days=1)
    )
    won_lead(
        s,
        owner="U0REP2",
        department_id=ent.id,
        amount_cents=3_000_000,
        at=datetime(2026, 11, 3, tzinfo=UTC),
    )
    won_lead(
        s,
        owner="U0REP1",
        department_id=ent.id,
        amount_cents=1_000_000,
        at=datetime(2026, 10, 5, tzinfo=UTC),
    )
    # 1 November 00:30 in Shanghai is still 31 October in UTC: it belongs to November.
    won_lead(
        s,
        owner="U0REP2",
        department_id=ent.id,
        amount_cents=500_000,
        at=datetime(2026, 10, 31, 16, 30, tzinfo=UTC),
    )
    # 31 October 23:30 in Shanghai: October.
    won_lead(
        s,
        owner="U0REP2",
        department_id=ent.id,
        amount_cents=70_000,
        at=datetime(2026, 10, 31, 15, 30, tzinfo=UTC),
    )
    # Another department's win and a lost lead do not count.
    won_lead(
        s, owner="U0REP3", department_id=smb.id, amount_cents=9_900_000, at=NOW - timedelta(hours=1)
    )
    lost = Lead(
        name="Gone",
        name_key="gone",
        owner_id="U0REP1",
        department_id=ent.id,
        stage="lost",
        amount_cents=5,
        stage_changed_at=NOW - timedelta(hours=2),
    )
    s.add(lost)
    s.commit()
    # Activities: three this week by REP1, one last week by REP2, one in SMB.
    for hours in (1, 2, 3):
        activity(s, user="U0REP1", department_id=ent.id, at=NOW - timedelta(hours=hours))
    activity(s, user="U0REP2", department_id=ent.id, at=NOW - timedelta(days=7))
    activity(s, user="U0REP3", department_id=smb.id, at=NOW - timedelta(hours=1))
    # Claims: two this month, one last month.
    open_lead(
        s,
        owner="U0REP1",
        department_id=ent.id,
        name="New One",
        claimed=NOW - timedelta(days=2),
        expires=None,
    )
    open_lead(
        s,
        owner="U0REP2",
        department_id=ent.id,
        name="New Two",
        claimed=NOW - timedelta(days=10),
        expires=None,
    )
    open_lead(
        s,
        owner="U0REP2",
        department_id=ent.id,
        name="Old",
        claimed=datetime(2026, 10, 20, tzinfo=UTC),
        expires=None,
    )
    # A release event is not a claim.
    s.add(OwnershipEvent(lead_id=lost.id, at=NOW, action="release", to_department_id=ent.id))
    s.commit()

    _target(s, ent, "revenue", "month", 10_000_000)
    _target(s, ent, "revenue", "quarter", 10_000_000)
    _target(s, ent, "wins", "week", 4)
    _target(s, ent, "activities", "week", 6)
    _target(s, ent, "new-leads", "month", 4)
    _target(s, ent, "revenue", "week", 1_000_000, user="U0REP1")
    _target(s, ent, "activities", "month", 8, user="U0REP2")
    _target(s, smb, "revenue", "month", 1, user="U0REP3")

    found = {(p.user_id, p.metric, p.period): p for p in targets.progress(s, ent, NOW)}
    assert set(found) == {
        ("", "revenue", "month"),
        ("", "revenue", "quarter"),
        ("", "wins", "week"),
        ("", "activities", "week"),
        ("", "new-leads", "month"),
        ("U0REP1", "revenue", "week"),
        ("U0REP2", "activities", "month"),
    }
    month = found[("", "revenue", "month")]
    assert (month.actual, month.percent) == (5_500_000, 55)
    assert found[("", "revenue", "quarter")].actual == 6_570_000
    assert found[("", "wins", "week")].actual == 1
    assert (
        found[("", "activities", "week")].actual,
        found[("", "activities", "week")].percent,
    ) == (3, 50)
    assert found[("", "new-leads", "month")].actual == 2
    rep1 = found[("U0REP1", "revenue", "week")]
    assert (rep1.actual, rep1.percent) == (2_000_000, 200) and not rep1.behind
    rep2 = found[("U0REP2", "activities", "month")]
    assert rep2.actual == 1 and rep2.percent == 12
    # Wednesday noon: 2.5 of 7 days of the week have gone, 17.5 of 30 days of the month.
    assert found[("", "activities", "week")].expected_percent == 35
    assert rep2.expected_percent == 58 and rep2.behind
    assert (rep2.first_day, rep2.last_day) == ("2026-11-01", "2026-11-30")
    # The department's own targets come first.
    order = [p.user_id for p in targets.progress(s, ent, NOW)]
    assert order == sorted(order, key=lambda u: (u != "", u))
    # Filters: only the department's own targets, or one rep's.
    assert {p.user_id for p in targets.progress(s, ent, NOW, user_id="")} == {""}
    only = targets.progress(s, ent, NOW, user_id="U0REP1")
    assert [(p.metric, p.actual) for p in only] == [("revenue", 2_000_000)]
    assert targets.progress(s, smb, NOW, user_id="U0REP3")[0].actual == 9_900_000


def test_progress_without_targets_is_empty(company) -> None:
    assert targets.progress(company, department(company, "SMB"), NOW) == []


@pytest.mark.parametrize(
    ("metric", "text", "expected"),
    [
        ("revenue", "50000", 5_000_000),
        ("revenue", "50k", 5_000_000),
        ("revenue", "50,000", 5_000_000),
        ("revenue", "1.5m", 150_000_000),
        ("revenue", "5万", 5_000_000),
        ("revenue", "¥1200.50", 120_050),
        ("wins", "12", 12),
        ("activities", "1k", 1000),
        ("wins", "0", 0),
    ],
)
def test_values_are_whole_units(metric, text, expected) -> None:
    assert targets.parse_value(metric, text) == expected


@pytest.mark.parametrize(
    ("metric", "text"),
    [
        ("wins", "2.5"),
        ("revenue", "lots"),
        ("revenue", "-5"),
        ("wins", "1e9"),
        ("revenue", "1.005"),
    ],
)
def test_bad_values_are_refused(metric, text) -> None:
    with pytest.raises(InvalidInput) as error:
        targets.parse_value(metric, text)
    assert error.value.template == "target.bad_value"


def test_set_target_checks_permission_before_writing(company) -> None:
    with pytest.raises(PermissionDenied):
        targets.set_target(
            session=company,
            actor="U0REP1",
            department_name="Enterprise",
            metric="wins",
            value="3",
            now=NOW,
        )
    with pytest.raises(PermissionDenied):
        targets.set_target(
            session=company, actor="U0MGR2", user_id="U0REP1", metric="wins", value="3", now=NOW
        )
    assert company.exec(select(Target)).all() == []


# ── through the real endpoint ────────────────────────────────────────────────────────────────


def test_manager_sets_department_and_rep_targets(org) -> None:
    reply = org.command("/target", "set Enterprise revenue 50k", user="U0MGR1")
    assert reply.json()["response_type"] == "ephemeral"
    assert "*Enterprise*'s monthly revenue target is now *$50,000*" in reply.text
    reply = org.command("/target", "set Enterprise revenue 60000 month", user="U0MGR1")
    assert "now *$60,000* (was $50,000)" in reply.text
    reply = org.command("/target", "set <@U0REP1|ana> activities 40 week", user="U0MGR1")
    assert "<@U0REP1>'s weekly activities target is now *40*" in reply.text
    reply = org.command("/target", "set <@U0REP3|li> wins 3 quarter", user="U0ADMIN")
    assert "<@U0REP3>" in reply.text
    with db(org) as s:
        rows = {
            (t.user_id, t.metric, t.period): (t.value, t.set_by) for t in s.exec(select(Target))
        }
    assert rows == {
        ("", "revenue", "month"): (6_000_000, "U0MGR1"),
        ("U0REP1", "activities", "week"): (40, "U0MGR1"),
        ("U0REP3", "wins", "quarter"): (3, "U0ADMIN"),
    }
    reply = org.command("/target", "set Enterprise revenue 0 month", user="U0MGR1")
    assert "Removed *Enterprise*'s monthly revenue target" in reply.text
    with db(org) as s:
        assert len(s.exec(select(Target)).all()) == 2


def test_multiword_department_needs_no_quotes(org) -> None:
    org.command("/sales", "dept create Key Accounts", user="U0ADMIN")
    reply = org.command("/target", "set Key Accounts wins 7 quarter", user="U0ADMIN")
    assert "*Key Accounts*'s quarterly wins target is now *7*" in reply.text


def test_rep_and_other_manager_are_refused_and_told_who_may(org) -> None:
    reply = org.command("/target", "set Enterprise wins 5", user="U0REP1")
    assert reply.json()["response_type"] == "ephemeral"
    assert "Only a manager of *Enterprise*" in reply.text
    assert "<@U0MGR1>" in reply.text and "<@U0ADMIN>" in reply.text
    reply = org.command("/target", "set <@U0REP1|ana> wins 5", user="U0MGR2")  # SMB's manager
    assert "只有 *Enterprise* 的经理或管理员" in reply.text and "<@U0MGR1>" in reply.text
    with db(org) as s:
        assert s.exec(select(Target)).all() == []


def test_bad_input_says_what_to_type(org) -> None:
    reply = org.command("/target", "set Enterprise happiness 5", user="U0MGR1")
    assert "/target set" in reply.text and "&lt;metric&gt;" in reply.text
    reply = org.command("/target", "set Enterprise wins lots", user="U0MGR1")
    assert "“lots” is not a valid wins target" in reply.text and "`40`" in reply.text
    reply = org.command("/target", "set Enterprise revenue 5k fortnight", user="U0MGR1")
    assert "“fortnight” is not a target period" in reply.text and "quarter" in reply.text
    reply = org.command("/target", "set Nowhere wins 5", user="U0ADMIN")
    assert "no department called “Nowhere”" in reply.text
    reply = org.command("/target", "set <@U0STRANGER|x> wins 5", user="U0ADMIN")
    assert "not in a department" in reply.text and "/sales dept add" in reply.text
    reply = org.command("/target", "frobnicate", user="U0MGR1")
    assert "/target help" in reply.text
    reply = org.command("/target", 'set "Enterprise wins 5', user="U0MGR1")
    assert reply.status == 200 and "quote" in reply.text
    with db(org) as s:
        assert s.exec(select(Target)).all() == []


def test_show_draws_bars_and_only_managers_see_who_is_behind(org) -> None:
    with db(org) as s:
        ent = department(s, "Enterprise")
        at = in_all_periods(s)
        won_lead(s, owner="U0REP1", department_id=ent.id, amount_cents=2_500_000, at=at)
        for _ in range(3):
            activity(s, user="U0REP1", department_id=ent.id, at=at)
    org.command("/target", "set Enterprise revenue 50k month", user="U0MGR1")
    org.command("/target", "set <@U0REP1|ana> activities 6 month", user="U0MGR1")
    org.command("/target", "set <@U0REP2|bo> wins 1000000 quarter", user="U0MGR1")

    rep_view = org.command("/target", "show", user="U0REP1")
    assert "Targets — Enterprise" in rep_view.text
    assert "`█████░░░░░` 50% — $25,000 of $50,000" in rep_view.text
    assert "<@U0REP1> *Activities* this month: `█████░░░░░` 50% — 3 of 6" in rep_view.text
    assert "<@U0REP2> *Wins* this quarter: `░░░░░░░░░░` 0% — 0 of 1000000" in rep_view.text
    assert "Behind pace" not in rep_view.text and "on pace" not in rep_view.text
    assert_valid_blocks(rep_view.json()["blocks"])

    manager_view = org.command("/target", "show Enterprise", user="U0MGR1")
    with db(org) as s:
        tz = department(s, "Enterprise").timezone
    quarter, now = period("quarter", utcnow(), tz), utcnow()
    # Computed here, not by the function under test: in the first 1% of a quarter (about a
    # day) nobody can be behind yet; the tests' pinned clock is mid-quarter.
    if (now - quarter.start) / (quarter.end - quarter.start) >= 0.01:
        assert "*Behind pace*" in manager_view.text
        assert "• <@U0REP2>: Wins 0% with" in manager_view.text
    else:
        assert "Everyone is on pace" in manager_view.text

    one = org.command("/target", "show <@U0REP1|ana>", user="U0REP2")
    assert "<@U0REP1> in *Enterprise*" in one.text and "3 of 6" in one.text
    assert "$25,000" not in one.text  # the department's target is not the rep's


def test_show_without_targets_and_in_chinese(org) -> None:
    reply = org.command("/target", "show", user="U0REP3")  # SMB speaks zh-CN
    assert "还没有目标" in reply.text and "/target set SMB revenue 50k month" in reply.text
    org.command("/target", "set SMB wins 4 week", user="U0MGR2")
    reply = org.command("/target", "show", user="U0MGR2")
    assert "*赢单数*（本周）" in reply.text and "0 / 4" in reply.text
    assert_valid_blocks(reply.json()["blocks"])
    reply = org.command("/target", "show", user="U0NOBODY")
    assert "/target show &lt;department&gt;" in reply.text


def test_every_target_message_is_valid_block_kit_in_both_locales(engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        import_setup(session=s, text=SETUP_TOML)
        ent = department(s, "Enterprise")
        for n in range(40):
            _target(s, ent, "activities", "week", 10 + n, user=f"U0REP{n:03d}")
        _target(s, ent, "revenue", "month", 1_000)
        report = targets.show_targets(
            session=s, viewer="U0MGR1", department_name="Enterprise", now=NOW
        )
        change = targets.TargetChange(ent, "U0REP1", "revenue", "month", 5_000_000, 4_000_000)
    assert len(report.items) == 41 and report.behind
    for locale in render.LOCALES:
        for name, data in (
            ("target.show", {"report": report}),
            ("target.saved", {"change": change}),
            ("target.set_usage", {}),
            ("target.bad_value", {"metric": "revenue", "value": "x"}),
            ("target.bad_metric", {"value": "x", "metrics": list(targets.METRICS)}),
            ("target.bad_period", {"value": "x", "periods": list(targets.PERIOD_KINDS)}),
            ("target.not_in_department", {"user": "U0X"}),
            ("target.show_which", {}),
        ):
            message = render.message(name, locale, **data)
            assert len(message.blocks) <= render.MAX_BLOCKS
            assert_valid_blocks(message.blocks)
