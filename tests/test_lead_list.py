"""``/lead list [@user|department] [stage]`` for managers and admins, through the live server."""

from __future__ import annotations

from sqlmodel import select

from bot.store.models import Department
from tests.digest_support import add_lead
from tests.leads_support import db


def _seed(org, count: int = 3) -> None:
    with db(org) as session:
        ent = session.exec(select(Department).where(Department.name == "Enterprise")).one()
        smb = session.exec(select(Department).where(Department.name == "SMB")).one()
        for n in range(count):
            add_lead(session, f"Acme {n:02d}", owner="U0REP1", department=ent, stage="proposal")
        add_lead(session, "Globex", owner="U0REP2", department=ent, stage="qualified")
        add_lead(session, "Initech", owner="U0REP3", department=smb, stage="proposal")
        add_lead(session, "Pool Co", owner=None, department=None)
        session.commit()


def test_a_manager_lists_their_department_by_default(org) -> None:
    _seed(org)
    reply = org.command("/lead", "list", user="U0MGR1")
    assert reply.json()["response_type"] == "ephemeral"
    assert "*Leads of Enterprise* — 4" in reply.text
    assert "*Globex* — <@U0REP2>, Enterprise · qualified" in reply.text
    assert "Initech" not in reply.text and "Pool Co" not in reply.text


def test_by_person_by_department_and_by_stage(org) -> None:
    _seed(org)
    by_rep = org.command("/lead", "list <@U0REP2|bob>", user="U0MGR1")
    assert "*Leads of <@U0REP2>* — 1" in by_rep.text and "Acme" not in by_rep.text
    by_stage = org.command("/lead", "list Enterprise qualified", user="U0MGR1")
    assert "*Leads of Enterprise · qualified* — 1" in by_stage.text
    other = org.command("/lead", "list SMB", user="U0ADMIN")
    assert "*Leads of SMB* — 1" in other.text and "*Initech*" in other.text
    everyone = org.command("/lead", "list", user="U0ADMIN")
    assert "*Leads of every department* — 5" in everyone.text
    chinese = org.command("/lead", "list proposal", user="U0MGR2")
    assert "*SMB 的客户 · 方案阶段* — 共 1 个" in chinese.text
    nowhere = org.command("/lead", "list Nope", user="U0MGR1")
    assert "Nope" in nowhere.text and "Leads of" not in nowhere.text


def test_a_long_list_says_how_many_more(org) -> None:
    _seed(org, count=45)
    reply = org.command("/lead", "list Enterprise", user="U0MGR1")
    assert "*Leads of Enterprise* — 46" in reply.text
    assert "…and 6 more leads. Narrow it down with a stage or a person" in reply.text


def test_a_rep_is_told_who_may_list(org) -> None:
    _seed(org)
    reply = org.command("/lead", "list", user="U0REP1")
    assert (
        "Only managers and admins can list a department's leads: ask <@U0MGR1> or an admin "
        "(<@U0ADMIN>). Your own leads: `/lead mine`." in reply.text
    )
    assert "Acme" not in reply.text
