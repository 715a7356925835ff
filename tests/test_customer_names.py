"""Recognising customers as people type them (``/lead claim``): mail providers' domains,
apostrophes, look-alike letters, short Chinese names, names with nothing left, bare mentions."""

from __future__ import annotations

import io

from sqlmodel import Session, func, select

from bot.config import load_settings
from bot.devslack.shell import run_shell
from bot.services.names import core_key, is_mail_provider, name_key, skeleton, split_company
from bot.services.setup import import_setup
from bot.store.models import Lead, Setting
from tests.conftest import SETUP_TOML, import_setup_text
from tests.leads_support import db, lead_named


def test_mail_providers_come_from_the_maintained_list_and_our_additions() -> None:
    for domain in ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com"):
        assert is_mail_provider(domain)
    for domain in ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "aliyun.com"):
        assert is_mail_provider(domain)
    assert is_mail_provider("263.net")  # one we add
    assert not is_mail_provider("acme.com") and not is_mail_provider(None)
    assert is_mail_provider("corp-mail.cn", {"corp-mail.cn"})
    company = split_company(["李四五金店", "zhang@vip.qq.com"])
    assert (company.name, company.domain, company.mail_domain) == ("李四五金店", None, "qq.com")


def test_a_mail_providers_domain_is_never_a_customer_key(org) -> None:
    reply = org.command("/lead", "claim Gmail Customer gmail.com", user="U0REP1")
    assert "*Gmail Customer* is now yours" in reply.text
    assert "gmail.com is a public mail provider's domain" in reply.text
    reply = org.command("/lead", "claim Another Small Shop gmail.com", user="U0REP2")
    assert "*Another Small Shop* is now yours" in reply.text
    assert "already claimed" not in reply.text
    assert "gmail.com is a public mail provider's domain" in reply.text
    assert lead_named(org, "anothersmallshop").domain is None

    org.command("/lead", "claim 张三餐馆 qq.com", user="U0REP1")
    reply = org.command("/lead", "claim 李四五金店 qq.com", user="U0REP3")
    assert "*李四五金店* 现在归你了" in reply.text
    assert "qq.com 是公共邮箱服务商的域名" in reply.text
    with db(org) as session:
        assert session.exec(select(func.count()).select_from(Lead)).one() == 4
        assert session.exec(select(Lead).where(Lead.domain.is_not(None))).all() == []

    # The owner naming a provider's domain later does not give the lead that domain either.
    org.command("/lead", "who Gmail Customer gmail.com", user="U0REP1")
    assert lead_named(org, "gmailcustomer").domain is None


def test_the_setup_file_adds_mail_providers(org) -> None:
    import_setup_text(org.db_url, 'free_mail_domains = ["corp-mail.cn"]\n' + SETUP_TOML)
    with db(org) as session:
        assert session.get(Setting, "free_mail:corp-mail.cn") is not None
    org.command("/lead", "claim Wang Trading corp-mail.cn", user="U0REP1")
    reply = org.command("/lead", "claim Li Hardware corp-mail.cn", user="U0REP2")
    assert "*Li Hardware* is now yours" in reply.text
    assert "corp-mail.cn is a public mail provider's domain" in reply.text
    # The owner's /log with the domain does not give the lead a domain either.
    logged = org.command("/log", "call Wang Trading corp-mail.cn met the buyer", user="U0REP1")
    assert "Wang Trading" in logged.text
    assert lead_named(org, "wangtrading").domain is None
    # Given again without it, the list is replaced; a file without the key keeps it.
    import_setup_text(org.db_url, SETUP_TOML)
    with db(org) as session:
        assert session.get(Setting, "free_mail:corp-mail.cn") is not None
    import_setup_text(org.db_url, "free_mail_domains = []\n" + SETUP_TOML)
    with db(org) as session:
        assert session.get(Setting, "free_mail:corp-mail.cn") is None
    reply = org.command("/lead", "claim Zhao Foods corp-mail.cn", user="U0REP2")
    assert "*Zhao Foods* (corp-mail.cn) is now yours" in reply.text


def test_apostrophes_and_quotes_inside_names_are_part_of_the_name(org) -> None:
    reply = org.command("/lead", "claim O'Reilly Media", user="U0REP1")
    assert "*O'Reilly Media* is now yours" in reply.text
    reply = org.command("/lead", "claim McDonald's", user="U0REP2")
    assert "*McDonald's* is now yours" in reply.text
    reply = org.command("/lead", 'claim 5" Displays', user="U0REP2")
    assert '*5" Displays* is now yours' in reply.text
    reply = org.command("/lead", "who O'Reilly Media", user="U0REP3")
    assert "O'Reilly Media" in reply.text and "<@U0REP1>" in reply.text
    reply = org.command("/lead", 'claim "Acme Corp', user="U0REP1")
    assert "A quote is not closed" in reply.text


def test_look_alike_letters_get_the_near_duplicate_warning(org) -> None:
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    # Cyrillic А, с and е: another key, but it looks the same.
    reply = org.command("/lead", "claim Асmе Corp", user="U0REP3")
    assert "*Асmе Corp* 现在归你了" in reply.text
    assert "名称相近：*Acme Corp* — <@U0REP1>，Enterprise" in reply.text
    reply = org.command("/lead", "claim Αcmе Corp", user="U0REP2")  # Greek Α, Cyrillic е
    assert "Similar name: *Acme Corp* — <@U0REP1>, Enterprise" in reply.text


def test_short_chinese_names_branches_and_places_get_the_warning(org) -> None:
    org.command("/lead", "claim 华为技术有限公司", user="U0REP1")
    names = ("华为", "华为技术（深圳）有限公司", "华为技术有限公司 北京分公司", "深圳市华为技术")
    for name in names:
        reply = org.command("/lead", f"claim {name}", user="U0REP3")
        assert f"*{name}* 现在归你了" in reply.text, name
        assert "名称相近：*华为技术有限公司* — <@U0REP1>，Enterprise" in reply.text, name
        org.command("/lead", f"release {name}", user="U0REP3")
    # Latin names in brackets or with a branch find the company too.
    org.command("/lead", "claim Globex", user="U0REP1")
    reply = org.command("/lead", "claim Globex (Beijing) Ltd", user="U0REP2")
    assert "Similar name: *Globex* — <@U0REP1>, Enterprise" in reply.text
    reply = org.command("/lead", "claim Globex Inc, Shanghai Branch", user="U0REP2")
    assert "Similar name: *Globex* — <@U0REP1>, Enterprise" in reply.text
    # Different companies sharing no name stay quiet.
    reply = org.command("/lead", "claim 腾讯科技", user="U0REP3")
    assert "名称相近" not in reply.text


def test_core_key_and_skeleton() -> None:
    assert skeleton(name_key("Асmе Corp")) == "acme" != name_key("Асmе Corp")
    assert core_key("华为技术（深圳）有限公司") == "华为技术"
    assert core_key("华为技术有限公司 北京分公司") == "华为技术"
    assert core_key("华为技术有限公司北京分公司") == "华为技术"
    assert core_key("华为北京办事处") == "华为北京"
    assert core_key("Acme (Beijing) Ltd") == core_key("Acme Corp, Shanghai Branch") == "acme"


def test_a_name_with_nothing_left_or_too_long_is_refused_saying_what_to_type(org) -> None:
    for given, shown in (("Ltd", "Ltd"), ("<!channel>", "&lt;!channel&gt;")):
        reply = org.command("/lead", f"claim {given}", user="U0REP1")
        assert f"“{shown}” is only a legal form or a mention" in reply.text
        assert "Type the company's own name, e.g. `/lead claim Acme Ltd acme.com`" in reply.text
    reply = org.command("/lead", "claim 有限公司", user="U0REP3")
    assert "“有限公司”只是公司类型后缀或提及" in reply.text
    reply = org.command("/lead", "claim Acme <!channel>", user="U0REP1")
    assert "*Acme* is now yours" in reply.text
    reply = org.command("/lead", "claim " + "Long" * 51, user="U0REP1")
    assert "at most 200 characters" in reply.text and "this one has 204" in reply.text
    with db(org) as session:
        names = session.exec(select(Lead.name)).all()
    assert names == ["Acme"]


def test_a_bare_mention_is_told_to_pick_the_person_from_the_menu(org) -> None:
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    reply = org.command("/lead", "transfer Acme Corp @U0REP2", user="U0MGR1")
    assert "“@U0REP2” arrived as plain text, not as a mention of a person" in reply.text
    assert "type @ and pick the person from the menu" in reply.text
    assert "type `&lt;@U0REP2&gt;`" in reply.text
    assert lead_named(org, "acme").owner_id == "U0REP1"
    reply = org.command("/kudos", "@ana great demo", user="U0REP1")
    assert "“@ana” arrived as plain text" in reply.text
    assert "`&lt;@U0123ABCD&gt;`" in reply.text
    reply = org.command("/coach", "@U0REP3 加油", user="U0MGR2")
    assert "“@U0REP3”是以纯文本发送的" in reply.text
    reply = org.command("/target", "set @U0REP1 wins 3", user="U0MGR1")
    assert "“@U0REP1” arrived as plain text" in reply.text
    reply = org.command("/sales", "dept add Enterprise @U0NEW rep", user="U0ADMIN")
    assert "“@U0NEW” arrived as plain text" in reply.text


def test_the_shell_says_how_to_type_a_mention(engine, db_url) -> None:
    with Session(engine) as session:
        import_setup(session=session, text=SETUP_TOML)
    out = io.StringIO()
    script = "/lead claim Acme Corp\n:as U0MGR1\n/lead transfer Acme Corp @U0REP2\n"
    run_shell(
        load_settings(database_url=db_url), user="U0REP1", stdin=io.StringIO(script), stdout=out
    )
    assert "In the terminal shell (`salesbot shell` or `salesbot demo`), type `<@U0REP2>`" in (
        out.getvalue()
    )


def test_a_long_new_name_in_the_log_modal_is_refused_naming_the_limit(org) -> None:
    from tests.test_log import _open_modal, _submit, _suggest

    view = _open_modal(org, "U0REP1")
    options = _suggest(org, "U0REP1", view)("company", "company", "Long" * 40)
    assert [o["text"]["text"] for o in options] == [
        "Too long: a new company's name can have at most 146 characters here. Type a shorter name."
    ]
    reply = _submit(org, "U0REP1", view, {"kind": "call", "company": "Long" * 40})
    errors = reply.json()["errors"]
    assert list(errors) == ["company"] and "at most 146 characters" in errors["company"]
    with db(org) as session:
        assert session.exec(select(func.count()).select_from(Lead)).one() == 0
