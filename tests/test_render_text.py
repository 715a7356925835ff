"""Block Kit rendered as terminal text."""

from __future__ import annotations

from bot.devslack.render_text import (
    RULE,
    Button,
    buttons,
    mrkdwn_to_text,
    render_message,
    render_view,
)

LEAD_BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "New lead"}},
    {
        "type": "section",
        "block_id": "lead",
        "text": {"type": "mrkdwn", "text": "*Acme* &amp; Co — owner <@U1|ada>"},
        "fields": [
            {"type": "mrkdwn", "text": "*Stage*\nOpen"},
            {"type": "mrkdwn", "text": "*Channel*\n<#C1|sales>"},
        ],
        "accessory": {
            "type": "overflow",
            "action_id": "lead_menu",
            "options": [
                {"text": {"type": "plain_text", "text": "Edit"}, "value": "edit"},
                {"text": {"type": "plain_text", "text": "Delete"}, "value": "delete"},
            ],
        },
    },
    {"type": "divider"},
    {
        "type": "actions",
        "block_id": "lead_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "claim",
                "value": "42",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Claim"},
            },
            {
                "type": "button",
                "action_id": "pass",
                "value": "42",
                "style": "danger",
                "text": {"type": "plain_text", "text": "Pass"},
            },
        ],
    },
    {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "Expires in 2 days · <https://crm.example/42|CRM>"},
            {"type": "image", "image_url": "https://x/y.png", "alt_text": "logo"},
        ],
    },
    {"type": "image", "image_url": "https://x/chart.png", "alt_text": "pipeline chart"},
]


def test_mrkdwn_conversion() -> None:
    assert mrkdwn_to_text("hi <@U123>") == "hi @U123"
    assert mrkdwn_to_text("hi <@U123|bob>") == "hi @bob"
    assert mrkdwn_to_text("in <#C1|general>") == "in #general"
    assert mrkdwn_to_text("see <http://x|label>") == "see label (http://x)"
    assert mrkdwn_to_text("see <http://x>") == "see http://x"
    assert mrkdwn_to_text("<!here> 1 &lt; 2 &amp;&amp; 3 &gt; 2") == "@here 1 < 2 && 3 > 2"
    assert mrkdwn_to_text("*bold* and _italic_") == "*bold* and _italic_"
    assert mrkdwn_to_text("<!subteam^S1|@sales-team> ping") == "@sales-team ping"


def test_render_message_blocks() -> None:
    out = render_message(text="fallback", blocks=LEAD_BLOCKS, title="#sales · salesbot")
    lines = out.split("\n")
    assert lines[0] == "--- #sales · salesbot ---"
    assert lines[1] == "== New lead =="
    assert lines[2] == "*Acme* & Co — owner @ada  [1: ⋯ Edit | Delete]"
    assert "  *Stage*" in lines
    assert "  Open" in lines
    assert "  #sales" in lines
    assert RULE in lines
    assert "[2: Claim]  [3: Pass]" in lines
    assert "  · Expires in 2 days · CRM (https://crm.example/42)  [image: logo]" in lines
    assert lines[-1] == "[image: pipeline chart]"
    assert "fallback" not in out
    assert "\x1b[" not in out


def test_buttons_numbered_like_the_rendering() -> None:
    found = buttons(LEAD_BLOCKS)
    assert [b.index for b in found] == [1, 2, 3]
    assert found[0].type == "overflow"
    assert found[0].options == (("Edit", "edit"), ("Delete", "delete"))
    assert found[1] == Button(
        index=2,
        label="Claim",
        action_id="claim",
        value="42",
        block_id="lead_actions",
        style="primary",
    )
    assert found[2].label == "Pass"
    assert found[2].style == "danger"
    rendered = render_message(blocks=LEAD_BLOCKS)
    for button in found[1:]:
        assert f"[{button.index}: {button.label}]" in rendered


def test_buttons_of_a_message_include_attachments() -> None:
    message = {
        "blocks": LEAD_BLOCKS[3:4],
        "attachments": [{"color": "#f00", "blocks": LEAD_BLOCKS[3:4]}],
    }
    found = buttons(message)
    assert [b.index for b in found] == [1, 2, 3, 4]
    rendered = render_message(blocks=message["blocks"], attachments=message["attachments"])
    assert "│ [3: Claim]  [4: Pass]" in rendered


def test_text_fallback_without_blocks() -> None:
    assert render_message(text="Hello <@U1|ada>, &lt;3") == "Hello @ada, <3"
    assert render_message(text="plain", blocks=[]) == "plain"
    assert buttons([]) == []


def test_color_only_on_request() -> None:
    plain = render_message(blocks=LEAD_BLOCKS)
    colored = render_message(blocks=LEAD_BLOCKS, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1m== New lead ==\x1b[0m" in colored
    assert "\x1b[32m[2: Claim]\x1b[0m" in colored
    assert "\x1b[31m[3: Pass]\x1b[0m" in colored


MODAL = {
    "type": "modal",
    "callback_id": "log_activity",
    "title": {"type": "plain_text", "text": "Log activity"},
    "submit": {"type": "plain_text", "text": "Save"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {
            "type": "input",
            "block_id": "company",
            "label": {"type": "plain_text", "text": "Company"},
            "element": {
                "type": "plain_text_input",
                "action_id": "company_name",
                "initial_value": "Acme",
            },
        },
        {
            "type": "input",
            "block_id": "kind",
            "label": {"type": "plain_text", "text": "Kind"},
            "element": {
                "type": "static_select",
                "action_id": "activity_kind",
                "initial_option": {
                    "text": {"type": "plain_text", "text": "Call"},
                    "value": "call",
                },
                "options": [
                    {"text": {"type": "plain_text", "text": "Call"}, "value": "call"},
                    {"text": {"type": "plain_text", "text": "Meeting"}, "value": "meeting"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "flags",
            "optional": True,
            "label": {"type": "plain_text", "text": "Flags"},
            "element": {
                "type": "checkboxes",
                "action_id": "flags",
                "options": [
                    {"text": {"type": "plain_text", "text": "Hot"}, "value": "hot"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "Note"},
            "hint": {"type": "plain_text", "text": "Visible to your department"},
            "element": {
                "type": "plain_text_input",
                "action_id": "note",
                "placeholder": {"type": "plain_text", "text": "What happened?"},
            },
        },
    ],
}


def test_render_view_modal() -> None:
    lines = render_view(MODAL).split("\n")
    assert lines[0] == "[modal] Log activity (callback_id: log_activity)"
    assert "[Company] (input: company_name)" in lines
    assert "    = Acme" in lines
    assert "[Kind] (input: activity_kind, static_select)" in lines
    assert "    * Call = call" in lines
    assert "    - Meeting = meeting" in lines
    assert "[Flags] (input: flags, checkboxes) optional" in lines
    assert "    [ ] Hot = hot" in lines
    assert "[Note] (input: note)" in lines
    assert "    (What happened?)" in lines
    assert "    Visible to your department" in lines
    assert lines[-1] == "[close: Cancel]  [submit: Save]"
    assert buttons(MODAL) == []


def test_render_view_home_tab_with_buttons() -> None:
    home = {"type": "home", "blocks": LEAD_BLOCKS[3:4]}
    out = render_view(home)
    assert out.split("\n")[0] == "[home] Home"
    assert "[1: Claim]  [2: Pass]" in out
    assert [b.action_id for b in buttons(home)] == ["claim", "pass"]


def test_selects_and_url_buttons_in_actions() -> None:
    blocks = [
        {
            "type": "actions",
            "block_id": "filters",
            "elements": [
                {
                    "type": "users_select",
                    "action_id": "pick_rep",
                    "placeholder": {"type": "plain_text", "text": "Rep"},
                },
                {"type": "datepicker", "action_id": "day", "initial_date": "2024-05-01"},
                {
                    "type": "button",
                    "action_id": "open_crm",
                    "url": "https://crm.example",
                    "text": {"type": "plain_text", "text": "CRM"},
                },
            ],
        }
    ]
    out = render_message(blocks=blocks)
    assert out == "[1: Rep ▾]  [2: 2024-05-01 ▾]  [3: CRM ↗ https://crm.example]"
    found = buttons(blocks)
    assert [(b.type, b.value) for b in found] == [
        ("users_select", None),
        ("datepicker", "2024-05-01"),
        ("button", None),
    ]
    assert found[2].url == "https://crm.example"


def test_rich_text_best_effort() -> None:
    block = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "Hi "},
                    {"type": "user", "user_id": "U1"},
                    {"type": "text", "text": " see ", "style": {}},
                    {"type": "link", "url": "https://x", "text": "this"},
                    {"type": "text", "text": "now", "style": {"bold": True}},
                    {"type": "emoji", "name": "tada", "unicode": "1f389"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "ordered",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "two"}]},
                ],
            },
            {
                "type": "rich_text_quote",
                "elements": [{"type": "text", "text": "quoted"}],
            },
            {
                "type": "rich_text_preformatted",
                "elements": [{"type": "text", "text": "code()"}],
            },
        ],
    }
    assert render_message(blocks=[block]).split("\n") == [
        "Hi @U1 see this (https://x)*now*🎉",
        "1. one",
        "2. two",
        "> quoted",
        "    code()",
    ]


def test_unknown_block_is_named_not_dropped() -> None:
    assert render_message(blocks=[{"type": "mystery"}]) == "[mystery block]"
