"""``/sales dept …`` through the real endpoint, with the permission rules."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.store.db import make_engine
from bot.store.models import Department, Member
from tests.conftest import LiveServer


def _db(server: LiveServer) -> Session:
    return Session(make_engine(server.db_url))


def test_list_shows_departments_and_managers(org) -> None:
    reply = org.command("/sales", "dept", user="U0REP1")
    assert "Enterprise" in reply.text and "SMB" in reply.text
    assert "<@U0MGR1>" in reply.text


def test_admin_creates_renames_and_sets_channel(org) -> None:
    reply = org.command("/sales", "dept create Key Accounts <#C0KEY|key>", user="U0ADMIN")
    assert "Created department *Key Accounts*" in reply.text
    reply = org.command("/sales", 'dept rename "key accounts" Strategic', user="U0ADMIN")
    assert "Renamed *Key Accounts* to *Strategic*" in reply.text
    reply = org.command("/sales", "dept channel strategic <#C0STR|strategic>", user="U0ADMIN")
    assert "<#C0STR>" in reply.text
    with _db(org) as session:
        department = session.exec(select(Department).where(Department.name == "Strategic")).one()
    assert department.channel == "C0STR"
    assert department.timezone == "Asia/Shanghai"  # the workspace default from setup


def test_multiword_name_without_channel(org) -> None:
    reply = org.command("/sales", "dept create Key Accounts", user="U0ADMIN")
    assert "Created department *Key Accounts*" in reply.text
    with _db(org) as session:
        department = session.exec(select(Department).where(Department.name == "Key Accounts")).one()
    assert department.channel is None


def test_duplicate_name_is_refused_case_insensitively(org) -> None:
    reply = org.command("/sales", "dept create enterprise", user="U0ADMIN")
    assert "already exists" in reply.text and "*Enterprise*" in reply.text


def test_rep_cannot_create_and_is_told_who_can(org) -> None:
    reply = org.command("/sales", "dept create Rogue", user="U0REP1")
    assert reply.json()["response_type"] == "ephemeral"
    assert "Only a salesbot admin" in reply.text and "<@U0ADMIN>" in reply.text
    with _db(org) as session:
        assert session.exec(select(Department).where(Department.name == "Rogue")).first() is None


def test_manager_adds_and_removes_reps_of_own_department_only(org) -> None:
    reply = org.command("/sales", "dept add Enterprise <@U0NEW|new>", user="U0MGR1")
    assert "Added <@U0NEW> to *Enterprise* as rep" in reply.text
    reply = org.command("/sales", "dept add SMB <@U0NEW2|x>", user="U0MGR1")
    assert "Only a manager of *SMB*" in reply.text and "<@U0MGR2>" in reply.text
    reply = org.command("/sales", "dept add Enterprise <@U0BOSS|b> manager", user="U0MGR1")
    assert "Only a salesbot admin" in reply.text
    reply = org.command("/sales", "dept remove Enterprise <@U0NEW|new>", user="U0MGR1")
    assert "Removed <@U0NEW>" in reply.text
    with _db(org) as session:
        assert session.get(Member, "U0NEW").department_id is None
        assert session.get(Member, "U0BOSS") is None


def test_member_of_another_department_is_refused_naming_both(org) -> None:
    reply = org.command("/sales", "dept add SMB <@U0REP1|ana>", user="U0ADMIN")
    assert "already in *Enterprise*" in reply.text and "*SMB*" in reply.text
    with _db(org) as session:
        assert session.get(Member, "U0REP1").department_id is not None


def test_set_validates_and_says_what_to_type(org) -> None:
    reply = org.command("/sales", "dept set Enterprise weekly_digest thu 16:30", user="U0ADMIN")
    assert "weekly_digest is now thu 16:30" in reply.text
    reply = org.command("/sales", "dept set Enterprise timezone Mars/Olympus", user="U0ADMIN")
    assert "Mars/Olympus" in reply.text and "Asia/Shanghai" in reply.text
    reply = org.command("/sales", "dept set Enterprise colour blue", user="U0ADMIN")
    assert "not a department setting" in reply.text and "claim_days" in reply.text
    with _db(org) as session:
        department = session.exec(select(Department).where(Department.name == "Enterprise")).one()
    assert department.weekly_digest == "thu 16:30"
    assert department.timezone == "Asia/Shanghai"


def test_unknown_department_lists_the_known_ones(org) -> None:
    reply = org.command("/sales", "dept show Nowhere", user="U0REP1")
    assert "no department called “Nowhere”" in reply.text and "*Enterprise*" in reply.text


def test_replies_follow_the_department_locale(org) -> None:
    reply = org.command("/sales", "help", user="U0REP3")  # SMB speaks zh-CN
    assert "/lead" in reply.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reply.text)


def test_unbalanced_quote_is_bad_input_not_a_crash(org) -> None:
    reply = org.command("/sales", 'dept show "Enterprise', user="U0REP1")
    assert reply.status == 200 and "quote" in reply.text
