"""What the modals share: Block Kit plain text, and problems shown on the fields they concern."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot import render
from bot.services.errors import ServiceError

#: Slack shows at most this much of a plain text or an inline error.
MAX_TEXT = 150


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:MAX_TEXT] or " ", "emoji": True}


def inline_errors(
    problems: Iterable[ServiceError], locale: str, default_block: str
) -> dict[str, str]:
    """``response_action: errors`` for a submission: each problem's message on its input block
    (``default_block`` when it names none), the first one when a block has several."""
    errors: dict[str, str] = {}
    for problem in problems:
        reply = render.message(problem.template_path, locale, **problem.data)
        errors.setdefault(problem.block or default_block, render.plain(reply.text)[:MAX_TEXT])
    return errors
