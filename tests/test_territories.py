"""Territories (DESIGN §7): the setup file's ``[department.territory]``, ``/lead set``, the
territory department, and claims under the ``strict`` and ``warn`` policies."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot import render
from bot.services.errors import InvalidInput
from bot.services.setup import import_setup
from bot.services.territories import Attributes, territory_department
from bot.store.models import Department, Lead, OwnershipEvent, Setting
from tests.conftest import SETUP_TOML, import_setup_text
from tests.leads_support import click, db, lead_named, responses

ENTERPRISE_TERRITORY = """
[department.territory]
employees_min = 500
employees_max = 0
countries = ["CN", "sg"]
industries = ["Finance", "energy"]
accounts = ["Huawei huawei.com", "Alibaba Group"]
"""


def territory_setup(policy: str = "strict", smb: str = "") -> str:
    text = SETUP_TOML.replace(
        "max_leads_per_rep = 200\n", "max_leads_per_rep = 200\n" + ENTERPRISE_TERRITORY, 1
    )
    text = text.replace(
        'admins = ["U0ADMIN"]',
        f'admins = ["U0ADMIN"]\nterritory_policy = "{policy}"\ndefault_department = "SMB"',
        1,
    )
    return text + smb


@pytest.fixture
def strict(server):
    import_setup_text(server.db_url, territory_setup("strict"))
    return server


@pytest.fixture
def warn(server):
    import_setup_text(server.db_url, territory_setup("warn"))
    return server


# ------------------------------------------------------------------ setup file


def test_setup_stores_the_territory_policy_and_default(engine) -> None:
    with Session(engine) as session:
        import_setup(session=session, text=territory_setup("warn"))
    with Session(engine) as session:
        enterprise = session.exec(select(Department).where(Department.name == "Enterprise")).one()
        assert enterprise.territory == {
            "employees_min": 500,
            "employees_max": 0,
            "countries": ["CN", "SG"],
            "industries": ["finance", "energy"],
            "accounts": [
                {"name": "Huawei", "key": "huawei", "domain": "huawei.com"},
                {"name": "Alibaba Group", "key": "alibabagroup", "domain": None},
            ],
        }
        smb = session.exec(select(Department).where(Department.name == "SMB")).one()
        assert smb.territory is None
        assert session.get(Setting, "territory_policy").value == "warn"
        assert session.get(Setting, "default_department").value == "smb"


@pytest.mark.parametrize(
    ("change", "template", "expected"),
    [
        (
            ('countries = ["CN", "sg"]', 'countries = ["CN", "XX"]'),
            "setup_bad_territory",
            {"key": "countries", "value": "XX", "line": 23},
        ),
        (
            ("employees_min = 500", 'employees_min = "many"'),
            "setup_bad_territory",
            {"key": "employees_min", "value": "many", "line": 21},
        ),
        (
            ("employees_max = 0", "employees_max = 100"),
            "setup_bad_territory",
            {"key": "employees_max", "value": "100", "line": 22},
        ),
        (
            ('industries = ["Finance", "energy"]', 'industries = "finance"'),
            "setup_bad_territory",
            {"key": "industries", "line": 24},
        ),
        (
            ("employees_max = 0", "employees_max = 0\nregion = 1"),
            "setup_unknown_key",
            {"key": "territory.region", "line": 23},
        ),
        (
            ('territory_policy = "strict"', 'territory_policy = "lenient"'),
            "setup_bad_territory",
            {"key": "territory_policy", "value": "lenient", "line": 5},
        ),
        (
            ('default_department = "SMB"', 'default_department = "Mid-market"'),
            "setup_unknown_department",
            {"key": "default_department", "value": "Mid-market", "line": 6},
        ),
    ],
)
def test_each_territory_error_names_key_and_line(engine, change, template, expected) -> None:
    text = territory_setup().replace(*change, 1)
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text=text)
    assert caught.value.template == template
    for key, value in expected.items():
        assert caught.value.data[key] == value
    with Session(engine) as session:
        assert session.exec(select(Department)).all() == []


def test_all_territory_errors_are_reported_at_once(engine) -> None:
    text = territory_setup().replace('countries = ["CN", "sg"]', 'countries = ["ZZ", "CHN"]')
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text=text)
    assert [(e.data["key"], e.data["value"]) for e in caught.value.errors] == [
        ("countries", "ZZ"),
        ("countries", "CHN"),
    ]
    en = render.message(f"errors.{caught.value.template}", "en", **caught.value.data).text
    assert en.startswith("Line 23: countries = “ZZ” is not valid: use ISO 3166-1 alpha-2")
    zh = render.message(f"errors.{caught.value.template}", "zh-CN", **caught.value.data).text
    assert zh.startswith("第 23 行：countries = “ZZ”无效：请使用 ISO 3166-1 两字母国家代码")


# --------------------------------------------------------- territory department


def test_territory_department_rules(engine) -> None:
    smb = """
[department.territory]
employees_max = 499
countries = ["CN"]
"""
    with Session(engine) as session:
        import_setup(session=session, text=territory_setup(smb=smb))
    with Session(engine) as session:

        def name(**attributes) -> str | None:
            found = territory_department(session, Attributes(**attributes))
            return found.name if found else None

        # Named accounts, by either key, whatever the attributes say.
        assert name(name_key="huawei", employees=10) == "Enterprise"
        assert name(name_key="other", domain="huawei.com") == "Enterprise"
        assert name(name_key="alibabagroup") == "Enterprise"
        # All criteria must hold; an unknown attribute holds none.
        assert name(employees=800, country="CN", industry="FINANCE") == "Enterprise"
        assert name(employees=800, country="CN") is None
        assert name(employees=800, country="US", industry="finance") is None
        assert name(employees=100, country="CN") == "SMB"
        assert name(country="CN") is None
        assert name() is None


# -------------------------------------------------------------------- /lead set


def test_lead_set_validates_and_records(strict) -> None:
    strict.command("/lead", "claim Initech", user="U0REP3")
    reply = strict.command("/lead", "set Initech employees 1,200", user="U0REP3")
    assert "*Initech*：employees 现在是 1200。它的辖区是开放的。" in reply.text
    reply = strict.command("/lead", "set Initech country sg", user="U0MGR2")
    assert "*Initech*：country 现在是 SG" in reply.text
    reply = strict.command("/lead", "set Initech industry Energy", user="U0ADMIN")
    assert "*Initech*: industry is now Energy. Its territory: *Enterprise*." in reply.text
    lead = lead_named(strict, "initech")
    assert (lead.employees, lead.country, lead.industry) == (1200, "SG", "Energy")

    reply = strict.command("/lead", "set Initech country Germany", user="U0REP3")
    assert "“Germany”不是有效的 country；未做任何更改。" in reply.text
    reply = strict.command("/lead", "set Initech employees lots", user="U0MGR1")
    assert "“lots” is not a valid employees; nothing was changed." in reply.text
    assert "e.g. `1200`" in reply.text
    reply = strict.command("/lead", "set Initech colour red", user="U0REP3")
    assert "/lead set <company> employees|country|industry <value>" in reply.text.replace(
        "&lt;", "<"
    ).replace("&gt;", ">").replace("<公司>", "<company>").replace("<值>", "<value>")
    reply = strict.command("/lead", "set Initech country CN", user="U0REP1")
    assert "Only the owner <@U0REP3>" in reply.text
    assert "change the employees, country or industry of *Initech*" in reply.text
    assert lead_named(strict, "initech").country == "SG"

    with db(strict) as session:
        reasons = [
            e.reason
            for e in session.exec(
                select(OwnershipEvent).where(OwnershipEvent.action == "attribute")
            )
        ]
    assert reasons == ["employees: — → 1200", "country: — → SG", "industry: — → Energy"]
    reply = strict.command("/lead", "history Initech", user="U0REP1")
    assert "<@U0ADMIN> set industry: — → Energy" in reply.text


# ------------------------------------------------------------- claims, policies


def test_strict_refuses_a_claim_outside_the_territory(strict) -> None:
    reply = strict.command("/lead", "claim Huawei Technologies huawei.com", user="U0REP3")
    assert "*Huawei Technologies* 属于 *Enterprise* 的辖区" in reply.text
    assert "<@U0MGR1>" in reply.text
    assert lead_named(strict, "huaweitechnologies") is None
    reply = strict.command("/lead", "claim Huawei", user="U0REP1")
    assert "*Huawei* is now yours" in reply.text
    strict.command("/lead", "release Huawei", user="U0REP1")
    reply = strict.command("/lead", "claim Huawei", user="U0REP3")
    assert "属于 *Enterprise* 的辖区，只有该部门的成员可以认领；未做任何更改" in reply.text
    assert lead_named(strict, "huawei").owner_id is None

    # A lead whose attributes put it in a territory, claimed from the pool.
    strict.command("/lead", "claim Bank of Asia", user="U0REP1")
    for words in ("employees 900", "country CN", "industry finance"):
        strict.command("/lead", f"set Bank of Asia {words}", user="U0REP1")
    strict.command("/lead", "release Bank of Asia", user="U0REP1")
    strict.command("/sales", "dept add SMB <@U0REP9>", user="U0ADMIN")
    reply = strict.command("/lead", "claim Bank of Asia", user="U0REP3")
    assert "*Enterprise*" in reply.text and "<@U0MGR1>" in reply.text
    assert lead_named(strict, "bankofasia").owner_id is None
    # Open territory or unknown attributes: anyone may claim as before.
    reply = strict.command("/lead", "claim Corner Shop", user="U0REP3")
    assert "*Corner Shop* 现在归你了" in reply.text


def test_warn_allows_with_a_warning_and_records_it(warn) -> None:
    reply = warn.command("/lead", "claim Alibaba Group", user="U0REP3")
    assert "*Alibaba Group* 现在归你了" in reply.text
    assert "属于 *Enterprise* 的辖区，而不是 SMB" in reply.text
    assert lead_named(warn, "alibabagroup").owner_id == "U0REP3"
    with db(warn) as session:
        event = session.exec(select(OwnershipEvent).where(OwnershipEvent.action == "claim")).one()
    assert event.reason == "out_of_territory:Enterprise"
    reply = warn.command("/lead", "claim Huawei", user="U0REP2")
    assert "*Huawei* is now yours" in reply.text and "territory" not in reply.text


def test_who_names_the_territory_when_it_differs(warn) -> None:
    warn.command("/lead", "claim Alibaba Group", user="U0REP3")
    reply = warn.command("/lead", "who Alibaba Group", user="U0REP1")
    assert "Territory: *Enterprise* (not the owner's department)" in reply.text
    reply = warn.command("/lead", "who Alibaba Group", user="U0REP3")
    assert "辖区：*Enterprise*（不是负责人所在部门）" in reply.text
    warn.command("/lead", "claim Huawei", user="U0REP1")
    reply = warn.command("/lead", "who Huawei", user="U0REP1")
    assert "Territory" not in reply.text
    with db(warn) as session:
        assert session.exec(select(Lead)).all()


def test_transfers_across_territories(strict) -> None:
    strict.command("/lead", "claim Huawei", user="U0REP1")
    # The owner's request to someone outside the territory: refused under strict.
    reply = strict.command("/lead", "transfer Huawei <@U0REP3>", user="U0REP1")
    assert "*Huawei* is in the territory of *Enterprise*, and <@U0REP3> is not" in reply.text
    assert "<@U0MGR1>" in reply.text and "nothing was changed" in reply.text
    assert lead_named(strict, "huawei").owner_id == "U0REP1"
    # A manager moves it across on purpose: done, and recorded.
    reply = strict.command("/lead", "transfer Huawei <@U0REP3>", user="U0MGR1")
    assert "*Huawei* moved from <@U0REP1> (Enterprise) to <@U0REP3> (SMB)" in reply.text
    assert "outside the territory of *Enterprise* on purpose" in reply.text
    assert lead_named(strict, "huawei").owner_id == "U0REP3"
    reply = strict.command("/lead", "history Huawei", user="U0REP3")
    assert "<@U0MGR1> 有意把它移出了 *Enterprise* 的辖区" in reply.text
    # Back inside the territory: nothing extra is said.
    reply = strict.command("/lead", "transfer Huawei <@U0REP2>", user="U0ADMIN")
    assert "moved from <@U0REP3> (SMB) to <@U0REP2> (Enterprise)" in reply.text
    assert "territory" not in reply.text


def test_dept_show_lists_the_territory(strict) -> None:
    reply = strict.command("/sales", "dept show Enterprise", user="U0REP1")
    assert (
        "*Territory* (strict: others may not claim): employees at least 500 · countries: CN, SG"
        " · industries: finance, energy" in reply.text
    )
    assert "Named accounts: Huawei huawei.com, Alibaba Group" in reply.text
    reply = strict.command("/sales", "dept show Enterprise", user="U0REP3")
    assert "*辖区*（strict：其他部门不能认领）：员工人数至少 500 · 国家：CN、SG" in reply.text
    assert "指名客户：Huawei huawei.com、Alibaba Group" in reply.text
    reply = strict.command("/sales", "dept show SMB", user="U0REP3")
    assert "辖区" not in reply.text


def test_agenda_lists_claims_outside_their_territory(warn) -> None:
    warn.command("/lead", "claim Alibaba Group", user="U0REP3")
    warn.command("/lead", "claim Huawei", user="U0REP1")
    reply = warn.command("/sales", "agenda Enterprise", user="U0MGR1")
    assert "*Claims outside their territory* (1)" in reply.text
    assert (
        "• *Alibaba Group* — <@U0REP3> (SMB) claimed it in the territory of Enterprise"
        in reply.text
    )
    warn.command("/sales", "dept set SMB meeting mon 10:00", user="U0ADMIN")
    reply = warn.command("/sales", "agenda SMB", user="U0MGR2")
    assert "*跨辖区认领*（1）" in reply.text
    assert "<@U0REP3>（SMB）认领了 Enterprise 辖区内的客户" in reply.text


def test_lead_set_without_words_shows_its_usage(strict) -> None:
    reply = strict.command("/lead", "set", user="U0REP1")
    assert "Usage: `/lead set &lt;company&gt; employees|country|industry &lt;value&gt;`" in (
        reply.text
    )
    reply = strict.command("/lead", "set Initech", user="U0REP3")
    assert "用法：`/lead set &lt;公司&gt; employees|country|industry &lt;值&gt;`" in reply.text
    reply = strict.command("/lead", "help", user="U0REP1")
    assert "`/lead set &lt;company&gt; employees|country|industry &lt;value&gt;`" in reply.text


def test_log_add_button_respects_named_accounts(strict) -> None:
    reply = strict.command("/log", "visit Huawei: met the buyer", user="U0REP3")
    button = next(
        element
        for block in reply.json().get("blocks", [])
        for element in block.get("elements", [])
        if element.get("action_id") == "log_new_lead"
    )
    click(strict, "U0REP3", "log_new_lead", button["value"], "add")
    (done,) = responses(strict, "add")
    assert "*Huawei* 属于 *Enterprise* 的辖区" in done["text"]
    assert lead_named(strict, "huawei") is None


def test_lead_set_dash_clears_a_value(strict) -> None:
    strict.command("/lead", "claim Initech", user="U0REP1")
    strict.command("/lead", "set Initech country CN", user="U0REP1")
    reply = strict.command("/lead", "set Initech country -", user="U0REP1")
    assert "*Initech*: country is now — (was CN). Its territory is open." in reply.text
    assert lead_named(strict, "initech").country is None


def test_who_follows_the_attributes(warn) -> None:
    warn.command("/lead", "claim Bank of Asia", user="U0REP3")
    reply = warn.command("/lead", "who Bank of Asia", user="U0REP1")
    assert "Territory" not in reply.text
    for words in ("employees 900", "country CN", "industry Finance"):
        reply = warn.command("/lead", f"set Bank of Asia {words}", user="U0REP3")
    assert "所属辖区：*Enterprise*" in reply.text
    reply = warn.command("/lead", "who Bank of Asia", user="U0REP1")
    assert "Territory: *Enterprise* (not the owner's department)" in reply.text


def test_merge_keeps_the_attributes_the_kept_lead_lacks(strict) -> None:
    strict.command("/lead", "claim Initech", user="U0REP1")
    strict.command("/lead", "claim Initech Holdings", user="U0REP1")
    strict.command("/lead", "set Initech Holdings country SG", user="U0REP1")
    strict.command("/lead", "set Initech Holdings employees 40", user="U0REP1")
    strict.command("/lead", "set Initech employees 60", user="U0REP1")
    reply = strict.command("/lead", "merge Initech Holdings into Initech", user="U0MGR1")
    assert "Initech" in reply.text
    lead = lead_named(strict, "initech")
    assert (lead.country, lead.employees) == ("SG", 60)
