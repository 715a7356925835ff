"""One Jinja2 environment: every word a user reads comes from ``templates/<locale>/``.

A template file holds one macro per message (``templates/en/dept.j2`` → ``dept.created``).
A macro renders Slack mrkdwn plus a few line markers that become Block Kit structure:

==============================================  ============================================
``<:header:> Title``                            header block (plain text)
``<:divider:>``                                 divider
``<:context:> text``                            context block
``<:button ACTION|VALUE|STYLE:> Label``         button; consecutive buttons share one block
``<:image URL|ALT:>``                           image block
a blank line                                    ends the current section
any other line                                  section text (mrkdwn)
==============================================  ============================================

Every value interpolated with ``{{ }}`` is escaped for Slack (``& < >``), so user input can
neither forge a mention nor a marker: markers start with ``<``. Because escaping happens on
output, templates share pieces with ``{% include %}``, not by calling one macro from another.

Slack's limits are enforced here, once: at most 50 blocks and 3,000 characters per section;
what does not fit is cut with the locale's "and N more" line.

Dates and times: every template shows an instant with the filters ``|day`` (``2026-12-15``)
and ``|moment`` (``2026-12-15 16:04 (UTC+8)``), in the zone of the message being rendered:
``message(…, zone="America/New_York")``, else the zone of the current reader
(:func:`reading_in`, set per request for the caller and per recipient for a DM), else UTC.
The reader's zone is their department's ``timezone``, or the company default for a user in
no department. Plain text, not Slack's ``<!date^…>`` token: the token shows each viewer's
Slack profile zone, so a rep in New York reading a Shanghai department's digest would see a
different day than the department's meeting, and "expires" would disagree between the DM,
the digest and the Home tab. In the department's zone every message names the same day.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

import templates as _templates_pkg
from bot.ids import SLACK_SOURCE, Action
from bot.money import format_money

TEMPLATES = Path(_templates_pkg.__file__).parent
LOCALES = ("en", "zh-CN")
DEFAULT_LOCALE = "en"
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_TEXT = 3000

_MARKER = re.compile(r"^<:(?P<kind>[a-z]+)(?: (?P<args>[^>]*?))?:>\s?(?P<rest>.*)$")


def slack_escape(value: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackMarkup(str):
    """Text already in Slack markup (a mention built by a filter): not escaped again."""


def _finalize(value: Any) -> Any:
    if type(value) is str:  # most values: plain text, escaped (checked first: it is hot)
        return slack_escape(value)
    if isinstance(value, SlackMarkup) or not isinstance(value, str):
        return value
    return slack_escape(value)


def _mention(user_id: str | None) -> str:
    return SlackMarkup(f"<@{user_id}>") if user_id else "—"


def _source(source: str | None) -> str:
    """Where a routed lead came from: a person for one added in Slack, else the intake
    token's (or the sender's) own words, made inert."""
    if source and source.startswith(SLACK_SOURCE):
        return _mention(source[len(SLACK_SOURCE) :])
    return _literal(source or "")


@pass_context
def _money(context: Any, cents: int | None) -> str:
    """An amount in the company's currency, formatted for the template's locale (the first
    part of its name, ``zh-CN/digest.j2``): :func:`bot.money.format_money`."""
    return format_money(cents, (context.name or "").partition("/")[0])


_ENTITY = re.compile(r"<([@#!]?)([^<>|]*)(?:\|([^<>]*))?>")


def plain(markup: str) -> str:
    """Slack markup as plain text, for the places Slack shows text verbatim (a modal's inline
    errors): ``<@U1>`` → ``@U1``, a date token → its fallback, no ``*`` or backticks."""

    def entity(match: re.Match[str]) -> str:
        sigil, target, label = match.groups()
        if label:
            return label if sigil == "!" else sigil + label
        return sigil + target if sigil in "@#" else target

    text = _ENTITY.sub(entity, markup)
    text = text.replace("*", "").replace("`", "")
    return html.unescape(text)


#: The zone dates are shown in while a message renders (see the module docstring).
_ZONE: ContextVar[tzinfo] = ContextVar("salesbot_render_zone", default=UTC)


@cache
def _zone_info(zone: str | None) -> tzinfo:
    """An IANA zone by name; an unknown or empty name reads as UTC rather than failing a reply."""
    if not zone or zone == "UTC":
        return UTC
    try:
        return ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return UTC


def set_reader_zone(zone: str | None) -> None:
    """The zone of the reader of the replies rendered from here on in this context: a request
    sets it for its own context (``SalesApp.dispatch`` runs each in a copy)."""
    _ZONE.set(_zone_info(zone))


@contextmanager
def reading_in(zone: str | None) -> Iterator[None]:
    """Render in ``zone`` within the block (a DM to another user, a department's post)."""
    token = _ZONE.set(_zone_info(zone))
    try:
        yield
    finally:
        _ZONE.reset(token)


def local(when: datetime) -> datetime:
    """``when`` in the zone of the message being rendered (naive values are UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(_ZONE.get())


def _offset(when: datetime) -> str:
    """``UTC+8``, ``UTC-5``, ``UTC+5:30`` or ``UTC``."""
    delta = when.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta else 0
    if minutes == 0:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _day(when: datetime | None) -> str:
    """The date of an instant in the reader's zone: ``2026-12-15``."""
    if when is None:
        return "—"
    return f"{local(when):%Y-%m-%d}"


def _moment(when: datetime | None) -> str:
    """The date and time of an instant in the reader's zone: ``2026-12-15 16:04 (UTC+8)``."""
    if when is None:
        return "—"
    at = local(when)
    return f"{at:%Y-%m-%d %H:%M} ({_offset(at)})"


def _counts(counts: dict[str, int], labels: dict[str, str]) -> str:
    """``{"call": 3, "visit": 2}`` → ``Call 3 · Visit 2``, each key by its label from the
    template (the one place a template lists counts by kind)."""
    return " · ".join(f"{labels.get(key, key)} {count}" for key, count in counts.items())


#: Slack mrkdwn's formatting characters where they can open or close formatting: not between
#: two letters or digits (``snake_case``, ``a*b`` and URLs never format, so they stay as typed).
_FORMATTING = re.compile(r"(?<![^\W_])[*_~`]|[*_~`](?![^\W_])")
#: Each replaced by a look-alike that Slack never reads as formatting.
_INERT = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}


def _literal(value: Any) -> str:
    """User text (a company, a department, a note, a reason, kudos) shown among Slack mrkdwn
    formatting, as typed and inert: ``*Bold* Inc`` inside ``*…*`` stays one bold name
    (``∗Bold∗ Inc``) instead of breaking the formatting around it. Slack has no escape for
    ``* _ ~ ` ``, so each that could format becomes a look-alike (∗ ˍ ∼ ˋ); ``& < >`` are
    escaped on output like every value. Used in mrkdwn only: headers, buttons, modals, code
    spans and file titles show text verbatim and do not use it. The kudos post and a coaching
    DM quote their author's words with the formatting the author typed, as Slack shows a
    message."""
    if value is None:
        return "—"
    return _FORMATTING.sub(lambda m: _INERT[m.group(0)], str(value))


_ENGLISH = Locale("en")


def _plural(count: int, one: str, other: str | None = None, bold: bool = False) -> str:
    """A count with its noun in the right form: ``1|plural("lead")`` → ``1 lead``,
    ``3|plural("activity", "activities")`` → ``3 activities``; ``bold`` stars the number
    (``*3* activities``). The one/other choice is CLDR's English plural rule (Babel); the
    words come from the template. English templates only: Chinese has no plural, it puts a
    measure word before the noun (``3 条线索``), so zh-CN templates write the count plainly."""
    form = one if _ENGLISH.plural_form(abs(count)) == "one" else (other or f"{one}s")
    return f"*{count}* {form}" if bold else f"{count} {form}"


def _bar(fraction: float, width: int = 10) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "█" * filled + "░" * (width - filled)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=False,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=StrictUndefined,
        auto_reload=False,  # templates ship with the package; no stat() per message
    )
    env.filters["money"] = _money
    env.filters["bar"] = _bar
    env.filters["counts"] = _counts
    env.filters["plural"] = _plural
    env.filters["literal"] = _literal
    env.filters["mention"] = _mention
    env.filters["source"] = _source
    env.globals["Action"] = Action
    env.filters["day"] = _day
    env.filters["moment"] = _moment
    env.filters["local"] = local
    return env


def _normalise_locale(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def text(name: str, locale: str | None = None, /, **data: Any) -> str:
    """Render the macro ``area.macro`` of ``templates/<locale>/area.j2`` to a string (``zone=``
    as for :func:`message`)."""
    if "zone" in data:
        with reading_in(data.pop("zone")):
            return text(name, locale, **data)
    area, _, macro = name.partition(".")
    template = environment().get_template(f"{_normalise_locale(locale)}/{area}.j2")
    function = getattr(template.module, macro, None)
    if function is None:
        raise LookupError(f"no macro {macro!r} in {template.name}")
    return str(function(**data)).strip("\n")


@dataclass(frozen=True)
class Message:
    """A rendered message: the notification text and its Block Kit blocks (read-only: static
    messages are shared between requests)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def ephemeral(self) -> dict[str, Any]:
        return {"response_type": "ephemeral", "text": self.text, "blocks": self.blocks}

    def in_channel(self) -> dict[str, Any]:
        return {"response_type": "in_channel", "text": self.text, "blocks": self.blocks}

    def as_post(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def _plain(value: str, limit: int) -> dict[str, Any]:
    value = html.unescape(value)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return {"type": "plain_text", "text": value, "emoji": True}


def _split_section(body: str) -> list[str]:
    """Split mrkdwn longer than a section allows at line boundaries."""
    chunks: list[str] = []
    current = ""
    for line in body.split("\n"):
        while len(line) > MAX_SECTION:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:MAX_SECTION])
            line = line[MAX_SECTION:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > MAX_SECTION:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def to_blocks(markup: str) -> tuple[list[dict[str, Any]], str]:
    """Turn rendered markup into (blocks, fallback text)."""
    blocks: list[dict[str, Any]] = []
    fallback: list[str] = []
    section: list[str] = []
    buttons: list[dict[str, Any]] = []

    def flush_section() -> None:
        if section:
            body = "\n".join(section).strip("\n")
            if body.strip():
                fallback.append(body)
                blocks.extend(
                    {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
                    for chunk in _split_section(body)
                )
            section.clear()

    def flush_buttons() -> None:
        # An actions block holds at most 25 elements.
        for start in range(0, len(buttons), 25):
            blocks.append({"type": "actions", "elements": buttons[start : start + 25]})
        buttons.clear()

    for line in markup.split("\n"):
        match = _MARKER.match(line)
        if match is None:
            flush_buttons()
            if line.strip():
                section.append(line)
            else:
                flush_section()
            continue
        kind, args, rest = match["kind"], (match["args"] or ""), match["rest"]
        if kind == "button":
            flush_section()
            action_id, _, tail = args.partition("|")
            value, _, style = tail.partition("|")
            button: dict[str, Any] = {
                "type": "button",
                "action_id": action_id,
                "text": _plain(rest, 75),
                "value": html.unescape(value)[:2000],
            }
            if style in ("primary", "danger"):
                button["style"] = style
            buttons.append(button)
            continue
        flush_section()
        flush_buttons()
        if kind == "pick":
            # ``<:pick ACTION|VALUE:> Placeholder``: a menu of the workspace's people; the value
            # travels in the block id (a select carries none of its own).
            action_id, _, value = args.partition("|")
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"{action_id}:{html.unescape(value)}"[:255],
                    "elements": [
                        {
                            "type": "users_select",
                            "action_id": action_id,
                            "placeholder": _plain(rest, 150),
                        }
                    ],
                }
            )
            continue
        if kind == "header":
            blocks.append({"type": "header", "text": _plain(rest, MAX_HEADER)})
            fallback.append(html.unescape(rest))
        elif kind == "divider":
            blocks.append({"type": "divider"})
        elif kind == "context":
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": rest}]})
            fallback.append(rest)
        elif kind == "image":
            url, _, alt = args.partition("|")
            blocks.append({"type": "image", "image_url": url, "alt_text": alt or "image"})
        else:
            raise ValueError(f"unknown marker <:{kind}:>")
    flush_section()
    flush_buttons()
    return blocks, "\n".join(fallback)


def message(name: str, locale: str | None = None, /, **data: Any) -> Message:
    """Render a macro to a Slack message within Slack's limits.

    ``zone=`` (an IANA name) renders its dates in that zone; without it, the current reader's
    (:func:`reading_in`). A message without data (help texts) is the same every time: it is
    rendered once per locale.
    """
    if "zone" in data:
        with reading_in(data.pop("zone")):
            return message(name, locale, **data)
    if not data:
        return _static_message(name, _normalise_locale(locale))
    return _build_message(name, locale, data)


@cache
def _static_message(name: str, locale: str) -> Message:
    return _build_message(name, locale, {})


def _items(hidden: list[dict[str, Any]]) -> int:
    """How many items the cut blocks held, for "and N more": the lines of their sections and
    their images (a lead and its Claim button are one item, not two blocks); the number of
    blocks when they held no line at all."""
    count = 0
    for block in hidden:
        if block["type"] == "section":
            count += sum(1 for line in block["text"]["text"].split("\n") if line.strip())
        elif block["type"] == "image":
            count += 1
    return count or len(hidden)


def _build_message(name: str, locale: str | None, data: dict[str, Any]) -> Message:
    blocks, fallback = to_blocks(text(name, locale, **data))
    if len(blocks) > MAX_BLOCKS:
        kept, hidden = blocks[: MAX_BLOCKS - 1], blocks[MAX_BLOCKS - 1 :]
        if hidden[0]["type"] == "actions" and kept[-1]["type"] == "section":
            hidden.insert(0, kept.pop())  # a line goes with its buttons, or not at all
        more = text("common.and_more", locale, count=_items(hidden))
        blocks = [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": more}]}]
    if len(fallback) > MAX_TEXT:
        fallback = fallback[: MAX_TEXT - 1] + "…"
    return Message(text=fallback, blocks=blocks)
