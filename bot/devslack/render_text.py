"""Render Slack messages and views (Block Kit) as readable terminal text.

Pure functions, no I/O. Every interactive element is numbered in document order, and the
same numbers are used by :func:`render_message` / :func:`render_view` (``[1: Claim]``) and
by :func:`buttons`, so a terminal user can type a number to "click".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Button", "buttons", "mrkdwn_to_text", "render_message", "render_view"]

RULE_WIDTH = 40
RULE = "─" * RULE_WIDTH

_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_GREEN = "\x1b[32m"
_RED = "\x1b[31m"
_RESET = "\x1b[0m"

#: Element types a user acts on in a message or view (outside input blocks).
INTERACTIVE_TYPES = frozenset(
    {
        "button",
        "workflow_button",
        "overflow",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "rich_text_input",
    }
)

_ENTITY = re.compile(r"<([^<>]+)>")


@dataclass(frozen=True)
class Button:
    """One interactive element, numbered from 1 in document order.

    ``label`` is the button text (or a select's placeholder / current choice);
    ``options`` holds ``(text, value)`` pairs for selects, overflows, checkboxes and radios.
    """

    index: int
    label: str
    action_id: str
    value: str | None
    block_id: str | None
    style: str | None
    type: str = "button"
    url: str | None = None
    options: tuple[tuple[str, str], ...] = field(default=())


# ---------------------------------------------------------------------- text


def _entity(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        if label:
            return label
        keyword = target[1:].split("^")[0]
        return "@" + keyword
    if label and label != target:
        return f"{label} ({target})"
    return target


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn_to_text(text: str) -> str:
    """Convert Slack mrkdwn to terminal text.

    Mentions, channels and links lose their angle brackets (``<@U1|bob>`` → ``@bob``,
    ``<http://x|label>`` → ``label (http://x)``), ``&lt; &gt; &amp;`` are unescaped, and
    ``*bold*`` / ``_italic_`` markers are kept as they are.
    """
    return _unescape(_ENTITY.sub(lambda m: _entity(m.group(1)), text))


def _text_of(obj: Any) -> str:
    """The readable text of a text object (plain_text or mrkdwn), a string, or nothing."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return mrkdwn_to_text(obj)
    if isinstance(obj, dict):
        raw = str(obj.get("text", ""))
        return mrkdwn_to_text(raw) if obj.get("type") == "mrkdwn" else raw
    return str(obj)


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def wrap(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color and text else text

    def bold(self, text: str) -> str:
        return self.wrap(_BOLD, text)

    def dim(self, text: str) -> str:
        return self.wrap(_DIM, text)

    def button(self, text: str, style: str | None) -> str:
        if style == "primary":
            return self.wrap(_GREEN, text)
        if style == "danger":
            return self.wrap(_RED, text)
        return text


# ---------------------------------------------------------------------- elements


def _options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option_pairs(element: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((_text_of(o.get("text")), str(o.get("value", ""))) for o in _options_of(element))


def _initial_values(element: dict[str, Any]) -> list[str]:
    """The element's initial value(s) as display strings."""
    kind = element.get("type", "")
    found: list[str] = []
    if isinstance(element.get("initial_option"), dict):
        found.append(_text_of(element["initial_option"].get("text")))
    for option in element.get("initial_options") or []:
        found.append(_text_of(option.get("text")))
    for key in ("initial_value", "initial_date", "initial_time", "initial_user"):
        if element.get(key) not in (None, ""):
            found.append(str(element[key]))
    if element.get("initial_date_time") is not None:
        found.append(f"@{element['initial_date_time']}")
    for key in ("initial_conversation", "initial_channel"):
        if element.get(key):
            found.append("#" + str(element[key]))
    for key in ("initial_users",):
        found.extend("@" + str(u) for u in element.get(key) or [])
    for key in ("initial_conversations", "initial_channels"):
        found.extend("#" + str(c) for c in element.get(key) or [])
    if kind == "rich_text_input" and isinstance(element.get("initial_value"), dict):
        found = [_rich_text(element["initial_value"]).strip()]
    return found


def _element_label(element: dict[str, Any]) -> str:
    kind = element.get("type", "")
    if kind in ("button", "workflow_button"):
        return _text_of(element.get("text"))
    if kind == "overflow":
        return "⋯"
    initial = [v for v in _initial_values(element) if v]
    if initial:
        return ", ".join(initial)
    placeholder = _text_of(element.get("placeholder"))
    if placeholder:
        return placeholder
    return kind.replace("_", " ")


def _element_value(element: dict[str, Any]) -> str | None:
    if element.get("value") is not None:
        return str(element["value"])
    if isinstance(element.get("initial_option"), dict):
        return str(element["initial_option"].get("value", ""))
    for key in ("initial_date", "initial_time", "initial_user", "initial_conversation"):
        if element.get(key):
            return str(element[key])
    return None


def _is_interactive(element: Any) -> bool:
    return isinstance(element, dict) and element.get("type") in INTERACTIVE_TYPES


def _interactive_in_block(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The block's interactive elements in the order they are rendered and numbered."""
    kind = block.get("type")
    if kind == "section" and _is_interactive(block.get("accessory")):
        yield block["accessory"]
    elif kind == "actions":
        yield from (e for e in block.get("elements") or [] if _is_interactive(e))
    elif kind == "input" and block.get("dispatch_action") and _is_interactive(block.get("element")):
        yield block["element"]


def _to_button(index: int, block: dict[str, Any], element: dict[str, Any]) -> Button:
    return Button(
        index=index,
        label=_element_label(element),
        action_id=str(element.get("action_id", "")),
        value=_element_value(element),
        block_id=block.get("block_id"),
        style=element.get("style"),
        type=str(element.get("type", "button")),
        url=element.get("url"),
        options=_option_pairs(element),
    )


def _blocks_of(source: Any) -> list[dict[str, Any]]:
    """Blocks of a list of blocks, a view, or a message (its attachments' blocks too)."""
    if source is None:
        return []
    if isinstance(source, dict):
        found = list(source.get("blocks") or [])
        for attachment in source.get("attachments") or []:
            found.extend(attachment.get("blocks") or [])
        return found
    return [b for b in source if isinstance(b, dict)]


def buttons(blocks_or_view: list[dict[str, Any]] | dict[str, Any] | None) -> list[Button]:
    """Every interactive element of a list of blocks, a view or a message, numbered from 1.

    The numbers match the ``[n: label]`` markers that :func:`render_message` and
    :func:`render_view` print. Elements of plain input blocks are not included (they are
    filled in, not clicked) unless the block has ``dispatch_action``.
    """
    found: list[Button] = []
    for block in _blocks_of(blocks_or_view):
        for element in _interactive_in_block(block):
            found.append(_to_button(len(found) + 1, block, element))
    return found


# ---------------------------------------------------------------------- rich text

_RICH_MARKS = (("code", "`"), ("bold", "*"), ("italic", "_"), ("strike", "~"))


def _rich_inline(element: dict[str, Any]) -> str:
    kind = element.get("type")
    style = element.get("style") or {}
    if kind == "text":
        out = str(element.get("text", ""))
    elif kind == "link":
        url = str(element.get("url", ""))
        label = str(element.get("text") or "")
        out = f"{label} ({url})" if label and label != url else url
    elif kind == "user":
        out = "@" + str(element.get("user_id", ""))
    elif kind == "channel":
        out = "#" + str(element.get("channel_id", ""))
    elif kind == "usergroup":
        out = "@" + str(element.get("usergroup_id", ""))
    elif kind == "broadcast":
        out = "@" + str(element.get("range", "here"))
    elif kind == "emoji":
        out = _emoji_char(str(element.get("unicode", ""))) or f":{element.get('name', '')}:"
    elif kind == "date":
        out = str(element.get("fallback") or element.get("timestamp", ""))
    else:
        out = str(element.get("text", ""))
    if isinstance(style, dict) and out.strip():
        for name, mark in _RICH_MARKS:
            if style.get(name):
                out = f"{mark}{out}{mark}"
    return out


def _emoji_char(code: str) -> str:
    if not code:
        return ""
    try:
        return "".join(chr(int(part, 16)) for part in str(code).split("-"))
    except ValueError:
        return ""


def _rich_section(element: dict[str, Any]) -> str:
    return "".join(_rich_inline(e) for e in element.get("elements") or [] if isinstance(e, dict))


def _rich_text(block: dict[str, Any]) -> str:
    lines: list[str] = []
    for element in block.get("elements") or []:
        kind = element.get("type")
        if kind == "rich_text_section":
            lines.extend(_rich_section(element).split("\n"))
        elif kind == "rich_text_list":
            indent = "  " * int(element.get("indent") or 0)
            ordered = element.get("style") == "ordered"
            start = int(element.get("offset") or 0)
            for n, item in enumerate(element.get("elements") or [], start=start + 1):
                bullet = f"{n}." if ordered else "•"
                lines.append(f"{indent}{bullet} {_rich_section(item)}")
        elif kind == "rich_text_preformatted":
            lines.extend("    " + line for line in _rich_section(element).split("\n"))
        elif kind == "rich_text_quote":
            lines.extend("> " + line for line in _rich_section(element).split("\n"))
        else:
            lines.append(_rich_section(element))
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


# ---------------------------------------------------------------------- blocks


class _Renderer:
    def __init__(self, color: bool) -> None:
        self.style = _Style(color)
        self.count = 0

    def element(self, block: dict[str, Any], element: dict[str, Any]) -> str:
        self.count += 1
        button = _to_button(self.count, block, element)
        label = button.label
        if button.type not in ("button", "workflow_button") and button.options:
            choices = " | ".join(text for text, _ in button.options)
            label = f"{label} ▾ {choices}" if button.type != "overflow" else f"⋯ {choices}"
        elif button.type not in ("button", "workflow_button", "overflow"):
            label = f"{label} ▾"
        if button.url:
            label = f"{label} ↗ {button.url}"
        return self.style.button(f"[{button.index}: {label}]", button.style)

    def blocks(self, blocks: Iterable[dict[str, Any]]) -> list[str]:
        lines: list[str] = []
        for block in blocks:
            if isinstance(block, dict):
                lines.extend(self.block(block))
        return lines

    def block(self, block: dict[str, Any]) -> list[str]:
        kind = block.get("type")
        method = getattr(self, f"_{kind}", None)
        if method is None:
            return [self.style.dim(f"[{kind} block]")]
        result: list[str] = method(block)
        return result

    def _header(self, block: dict[str, Any]) -> list[str]:
        return [self.style.bold(f"== {_text_of(block.get('text'))} ==")]

    def _section(self, block: dict[str, Any]) -> list[str]:
        lines = _text_of(block.get("text")).split("\n") if block.get("text") else []
        for item in block.get("fields") or []:
            lines.extend("  " + line for line in _text_of(item).split("\n"))
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            if _is_interactive(accessory):
                extra = self.element(block, accessory)
            elif accessory.get("type") == "image":
                extra = f"[image: {accessory.get('alt_text', '')}]"
            else:
                extra = f"[{accessory.get('type')}]"
            if lines:  # Slack shows the accessory beside the section's first line
                lines[0] = f"{lines[0]}  {extra}"
            else:
                lines.append(extra)
        return lines

    def _context(self, block: dict[str, Any]) -> list[str]:
        parts = []
        for element in block.get("elements") or []:
            if element.get("type") == "image":
                parts.append(f"[image: {element.get('alt_text', '')}]")
            else:
                parts.append(_text_of(element))
        return [self.style.dim("  · " + "  ".join(p for p in parts if p))]

    def _divider(self, block: dict[str, Any]) -> list[str]:
        return [self.style.dim(RULE)]

    def _image(self, block: dict[str, Any]) -> list[str]:
        title = _text_of(block.get("title"))
        alt = block.get("alt_text", "")
        return [f"[image: {alt}]" + (f" {title}" if title else "")]

    def _actions(self, block: dict[str, Any]) -> list[str]:
        parts = [self.element(block, e) for e in block.get("elements") or [] if _is_interactive(e)]
        return ["  ".join(parts)] if parts else []

    def _input(self, block: dict[str, Any]) -> list[str]:
        element = block.get("element") or {}
        label = _text_of(block.get("label"))
        kind = element.get("type", "")
        head = f"[{label}] (input: {element.get('action_id', '')}"
        head += f", {kind})" if kind and kind != "plain_text_input" else ")"
        if block.get("optional"):
            head += " optional"
        if block.get("dispatch_action") and _is_interactive(element):
            head += "  " + self.element(block, element)
        lines = [head]
        options = _options_of(element)
        chosen = set(_initial_values(element))
        if options:
            box = {"checkboxes": ("[x]", "[ ]"), "radio_buttons": ("(•)", "( )")}
            on, off = box.get(kind, ("*", "-"))
            for option in options:
                text = _text_of(option.get("text"))
                mark = on if text in chosen else off
                lines.append(f"    {mark} {text} = {option.get('value', '')}")
        else:
            initial = [v for v in _initial_values(element) if v]
            if initial:
                lines.append("    = " + ", ".join(initial))
            elif element.get("placeholder"):
                lines.append(self.style.dim(f"    ({_text_of(element['placeholder'])})"))
        if block.get("hint"):
            lines.append(self.style.dim("    " + _text_of(block["hint"])))
        return lines

    def _rich_text(self, block: dict[str, Any]) -> list[str]:
        return _rich_text(block).split("\n")

    def _markdown(self, block: dict[str, Any]) -> list[str]:
        return str(block.get("text", "")).split("\n")

    def _file(self, block: dict[str, Any]) -> list[str]:
        return [f"[file: {block.get('external_id', '')}]"]

    def _video(self, block: dict[str, Any]) -> list[str]:
        return [f"[video: {_text_of(block.get('title'))} {block.get('video_url', '')}]".strip()]

    def _table(self, block: dict[str, Any]) -> list[str]:
        lines = []
        for row in block.get("rows") or []:
            cells = []
            for cell in row:
                if isinstance(cell, dict) and cell.get("type") == "rich_text":
                    cells.append(_rich_text(cell).replace("\n", " "))
                else:
                    cells.append(_text_of(cell))
            lines.append(" | ".join(cells))
        return lines


def render_message(
    *,
    text: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    title: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    color: bool = False,
) -> str:
    """Render a message: its blocks (and attachments), else its ``text`` fallback.

    ``title`` (e.g. ``"#sales · salesbot"``) is printed first. Buttons are numbered like
    :func:`buttons` numbers them for ``{"blocks": blocks, "attachments": attachments}``.
    """
    renderer = _Renderer(color)
    lines: list[str] = []
    if title:
        lines.append(renderer.style.bold(f"--- {title} ---"))
    if blocks:
        lines.extend(renderer.blocks(blocks))
    elif text:
        lines.extend(mrkdwn_to_text(text).split("\n"))
    for attachment in attachments or []:
        inner: list[str] = []
        if attachment.get("pretext"):
            lines.extend(mrkdwn_to_text(str(attachment["pretext"])).split("\n"))
        if attachment.get("title"):
            inner.append(renderer.style.bold(mrkdwn_to_text(str(attachment["title"]))))
        if attachment.get("blocks"):
            inner.extend(renderer.blocks(attachment["blocks"]))
        elif attachment.get("text") or attachment.get("fallback"):
            body = str(attachment.get("text") or attachment.get("fallback"))
            inner.extend(mrkdwn_to_text(body).split("\n"))
        lines.extend("│ " + line for line in inner)
    return "\n".join(lines)


def render_view(view: dict[str, Any], *, color: bool = False) -> str:
    """Render a modal or Home tab: title, blocks, inputs with their initial values/options."""
    renderer = _Renderer(color)
    kind = view.get("type", "modal")
    title = _text_of(view.get("title")) or ("Home" if kind == "home" else "")
    head = f"[{kind}] {title}".rstrip()
    if view.get("callback_id"):
        head += f" (callback_id: {view['callback_id']})"
    lines = [renderer.style.bold(head), RULE]
    lines.extend(renderer.blocks(view.get("blocks") or []))
    footer = []
    if view.get("close"):
        footer.append(f"[close: {_text_of(view['close'])}]")
    if view.get("submit"):
        footer.append(renderer.style.button(f"[submit: {_text_of(view['submit'])}]", "primary"))
    if footer:
        lines.extend([RULE, "  ".join(footer)])
    return "\n".join(lines)
