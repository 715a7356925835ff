"""Words users trust: counts in the right grammatical number, user text that cannot break the
formatting around it, Chinese stage names and the same Chinese term for the same thing."""

from __future__ import annotations

import re
from datetime import date

from bot import render
from jobs.exports import ExportSummary

EN = render.TEMPLATES / "en"
ZH = render.TEMPLATES / "zh-CN"


# ── plurals ──────────────────────────────────────────────────────────────────────────────────


def test_the_plural_filter_picks_one_or_other() -> None:
    env = render.environment()
    assert env.from_string('{{ 1|plural("lead") }}').render() == "1 lead"
    assert env.from_string('{{ 0|plural("lead") }}').render() == "0 leads"
    assert env.from_string('{{ 2|plural("activity", "activities") }}').render() == "2 activities"
    assert env.from_string('{{ 1|plural("win", bold=true) }}').render() == "*1* win"


def test_english_templates_make_no_plural_by_hand() -> None:
    """Every count goes through ``|plural``: no ``lead(s)``, no ``"" if n == 1 else "s"``."""
    for path in sorted(EN.glob("*.j2")):
        source = path.read_text()
        assert "(s)" not in source, path.name
        assert not re.search(r"== 1 else", source), path.name
        assert not re.search(r"!= 1 ?\}\}", source), path.name
        assert not re.search(r"\bif [^%}]*!= 1\b", source), path.name


def test_a_count_of_one_reads_in_the_singular() -> None:
    one = ExportSummary("Enterprise", "month", date(2026, 11, 1), date(2026, 11, 30), 1, 1)
    assert "1 activity and 1 lead." in render.message("export.queued", "en", export=one).text
    limit = render.message("lead.limit_reached", "en", limit=1, department="Enterprise")
    assert "You already hold 1 open lead, the most *Enterprise* allows" in limit.text
    allowance = render.message("kudos.allowance_set", "en", value=1)
    assert allowance.text == "Everyone may now give 1 kudo a day."
    assert render.message("lead.pool", "en", leads=[], total=1).text.startswith(
        "The pool — 1 unowned lead"
    )


def test_one_lead_per_rep_through_slack(org) -> None:
    """``/sales dept set Enterprise max_leads_per_rep 1``, then a second claim."""
    org.command("/sales", "dept set Enterprise max_leads_per_rep 1", user="U0ADMIN")
    shown = org.command("/sales", "dept show Enterprise", user="U0REP1")
    assert "at most 1 lead per rep" in shown.text
    assert "*Acme* is now yours" in org.command("/lead", "claim Acme", user="U0REP1").text
    refused = org.command("/lead", "claim Globex", user="U0REP1")
    assert "You already hold 1 open lead, the most *Enterprise* allows." in refused.text


# ── user text inside mrkdwn ──────────────────────────────────────────────────────────────────


def test_user_text_cannot_break_the_formatting_around_it() -> None:
    env = render.environment()
    shown = env.from_string("*{{ name|literal }}*").render(name="*Bold* Inc _x_ ~y~ `z` <&>")
    assert shown == "*∗Bold∗ Inc ˍxˍ ∼y∼ ˋzˋ &lt;&amp;&gt;*"
    # where a character cannot format (inside a word, a URL), it stays as typed
    assert env.from_string("{{ n|literal }}").render(n="snake_case a*b x.com/a_b") == (
        "snake_case a*b x.com/a_b"
    )


def test_newer_lead_messages_keep_a_bold_company_name_whole() -> None:
    from types import SimpleNamespace as NS

    item = NS(lead=NS(name="*Bold* Inc", id=1, owner_id="U0REP1"), department_name="_Ent_")
    previous = NS(lead=NS(owner_id="U0REP2"), department_name="*SMB*")
    request = NS(decided_by="U0MGR1", to_user="U0REP1", from_user="U0REP2")
    for locale in ("en", "zh-CN"):
        shown = [
            render.message(
                "lead.transfer_agreed", locale, request=request, item=item, waiting_on=[]
            ).text,
            render.message(
                "lead.transfer_left_department",
                locale,
                item=item,
                previous=previous,
                to_user="U0REP1",
            ).text,
            render.message("lead.deleted", locale, item=item).text,
            render.message("lead.released_by", locale, item=item, actor="U0MGR1").text,
        ]
        for text in shown:
            assert "*∗Bold∗ Inc*" in text and "**" not in text, text
        assert "*∗SMB∗*" in shown[1] and "ˍEntˍ" in shown[1], shown[1]


def test_a_company_called_bold_claims_and_reads_as_one_bold_name(org) -> None:
    reply = org.command("/lead", "claim *Bold* Inc", user="U0REP1")
    assert reply.text.startswith(":white_check_mark: *∗Bold∗ Inc* is now yours"), reply.text
    who = org.command("/lead", "who *Bold* Inc", user="U0REP2")
    assert "*∗Bold∗ Inc*" in who.text and "**" not in who.text
    org.command("/lead", "lost Bold Inc price_too_high *again*", user="U0REP1")
    who = org.command("/lead", "who Bold Inc", user="U0REP2")
    assert "lost: price_too_high ∗again∗" in who.text, who.text
    zh = org.command("/lead", "claim _Under_ Co", user="U0REP3")
    assert "*ˍUnderˍ Co*" in zh.text


# ── Chinese stage names ──────────────────────────────────────────────────────────────────────


def test_every_chinese_stage_label_is_accepted_back() -> None:
    from bot.services.leads import STAGES, stage_of

    labels = render.environment().get_template("zh-CN/_report_labels.j2").module.STAGE
    assert set(labels) == set(STAGES)
    for key, label in labels.items():
        assert stage_of(label) == key
    assert [stage_of(w) for w in ("新建", "已确认", "方案", "丢单", "Won", "胜利")] == [
        "new",
        "qualified",
        "proposal",
        "lost",
        "won",
        None,
    ]


def test_chinese_stage_words_and_chinese_replies(org) -> None:
    org.command("/lead", "claim 华为", user="U0REP3")
    moved = org.command("/lead", "stage 华为 谈判", user="U0REP3")
    assert moved.text.startswith("*华为*（<@U0REP3>，SMB）：新建 → *谈判*"), moved.text
    won = org.command("/lead", "stage 华为 赢单 50000", user="U0REP3")
    assert "谈判 → *赢单*" in won.text and "赢单后不再过期" in won.text
    history = org.command("/lead", "history 华为", user="U0REP3")
    assert "赢单（谈判 → 赢单）" in history.text and "proposal" not in history.text
    bad = org.command("/lead", "stage 华为 胜利", user="U0REP3")
    assert "“胜利”不是有效阶段。阶段有：新建（`new`）、已联系（`contacted`）" in bad.text
    org.command("/lead", "claim Acme", user="U0REP1")
    english = org.command("/lead", "stage Acme 方案阶段", user="U0REP1")
    assert "new → *proposal*" in english.text
    help_text = org.command("/lead", "help", user="U0REP3").text
    assert "谈判 negotiation" in help_text and "方案阶段 proposal" in help_text
    en_help = org.command("/lead", "help", user="U0REP1").text
    assert "won, lost (or 新建 已联系 已确认需求 方案阶段 谈判 赢单 输单)" in en_help


def test_transfer_status_in_chinese() -> None:
    decided = render.message(
        "lead.request_decided", "zh-CN", lead="华为", status="approved", by="U0MGR2"
    )
    assert decided.text == "*华为* 的转移申请已处理（已批准），处理人 <@U0MGR2>。"
    assert (
        "（已拒绝）"
        in render.message(
            "lead.request_decided", "zh-CN", lead="华为", status="rejected", by=None
        ).text
    )


# ── one Chinese term for one thing ───────────────────────────────────────────────────────────


def test_chinese_templates_use_one_term_for_each_thing() -> None:
    """An activity is 跟进 (跟进数, 跟进记录), a new lead 新线索, revenue 业绩; the stage
    ``new`` is 新建, so it is not mistaken for the 新线索 metric."""
    for path in sorted(ZH.glob("*.j2")):
        source = path.read_text()
        for other in ("活动", "新客户", "收入"):
            assert other not in source, (path.name, other)
    labels = render.environment().get_template("zh-CN/_report_labels.j2").module
    assert labels.METRIC == {
        "revenue": "业绩",
        "wins": "赢单数",
        "activities": "跟进数",
        "new-leads": "新线索",
    }
    for name in ("home.j2", "target.j2"):
        assert '"activities": "跟进数", "new-leads": "新线索"' in (ZH / name).read_text()


def test_a_chinese_target_reads_with_the_same_terms(org) -> None:
    """``/target set SMB 跟进数 30 week`` (the word the replies use) is taken and echoed."""
    reply = org.command("/target", "set SMB 跟进数 30 week", user="U0MGR2")
    assert reply.text.startswith("*SMB* 的每周跟进数目标现为 *30*。"), reply.text
    shown = org.command("/target", "show SMB", user="U0REP3")
    assert "跟进数" in shown.text and "活动" not in shown.text, shown.text
