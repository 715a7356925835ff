"""Templates: both locales complete, Slack-escaped, within limits, valid Block Kit."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

from slack_sdk.models.blocks import Block

from bot import render
from bot.services.departments import DepartmentSummary

MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\((.*?)\)\s*-?%}")


def _macros(locale: str) -> dict[str, dict[str, str]]:
    found = {}
    for path in sorted((render.TEMPLATES / locale).glob("*.j2")):
        found[path.name] = dict(MACRO.findall(path.read_text()))
    return found


def test_both_locales_define_the_same_messages() -> None:
    assert _macros("en") == _macros("zh-CN")
    assert len(_macros("en")) >= 7


def test_user_input_cannot_forge_mentions_or_markers() -> None:
    message = render.message("errors.bad_user", "en", value="<!channel> <:header:> hi")
    assert "<!channel>" not in message.text
    assert "&lt;!channel&gt;" in message.text
    assert all(block["type"] == "section" for block in message.blocks)


def test_long_messages_respect_slack_limits() -> None:
    departments = [
        DepartmentSummary(
            name=f"Dept {i} " + "x" * 60,
            channel=f"C{i:05d}",
            timezone="UTC",
            locale="en",
            managers=["U0MGR1"],
            reps=i,
        )
        for i in range(300)
    ]
    for locale in render.LOCALES:
        message = render.message("dept.list", locale, departments=departments)
        assert len(message.blocks) <= render.MAX_BLOCKS
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= render.MAX_SECTION
            Block.parse(block).validate_json()
        assert len(message.text) <= render.MAX_TEXT


def test_markers_become_valid_block_kit() -> None:
    blocks, fallback = render.to_blocks(
        "<:header:> Title\nline one\n\n<:divider:>\n<:button claim|42|primary:> Claim\n"
        "<:button release|42:> Release\n<:context:> small print"
    )
    assert [b["type"] for b in blocks] == ["header", "section", "divider", "actions", "context"]
    assert blocks[3]["elements"][0]["style"] == "primary"
    assert blocks[3]["elements"][1]["action_id"] == "release"
    for block in blocks:
        Block.parse(block).validate_json()
    assert "Title" in fallback and "small print" in fallback


def test_every_static_message_is_valid_in_both_locales() -> None:
    for locale in render.LOCALES:
        for name in (
            "help.all",
            "help.dept",
            "help.lead",
            "help.log",
            "help.kudos",
            "help.coach",
            "help.target",
        ):
            message = render.message(name, locale)
            assert message.blocks, name
            for block in message.blocks:
                Block.parse(block).validate_json()


def test_templates_folder_is_packaged() -> None:
    assert (Path(render.TEMPLATES) / "en" / "help.j2").exists()


def test_plain_text_for_modal_errors() -> None:
    markup = "*Acme* is <@U1>'s, <#C2|sales>, since <!date^1^{date_short}|2026-11-23> `x` &lt;y&gt;"
    assert render.plain(markup) == "Acme is @U1's, #sales, since 2026-11-23 x <y>"


def test_no_line_runs_into_the_next() -> None:
    """Jinja drops the newline after a block tag (``trim_blocks``): a line of text that ends in
    ``{% endif %}`` would run into the next line (a header swallowing its context line, two
    help lines joined). Such a line ends in ``+%}`` instead, which keeps its newline."""
    runs_on = []
    for path in sorted(Path(render.TEMPLATES).glob("*/*.j2")):
        lines = path.read_text().splitlines()
        for number, (line, following) in enumerate(pairwise(lines), start=1):
            text_line = not line.lstrip().startswith("{%") and not line.endswith("-%}")
            loses_newline = line.endswith("%}") and not line.endswith("+%}")
            if text_line and loses_newline and following and not following.startswith("{%"):
                runs_on.append(f"{path.parent.name}/{path.name}:{number}")
    assert runs_on == []
