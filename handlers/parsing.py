"""Turning slash-command text into arguments: quoting, mentions, channels."""

from __future__ import annotations

import re
import shlex

from bot.services.departments import valid_channel_id, valid_user_id
from bot.services.errors import InvalidInput

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$")


#: What ``shlex.split`` treats specially; text without any of them splits at its whitespace.
_SHELL_SPECIAL = re.compile(r"[\"'\\]")
_SHELL_SPACE = re.compile(r"[ \t\r\n]+")


def tokens(text: str | None) -> list[str]:
    """Split like a shell, so ``"Key Accounts"`` stays one argument.

    Most commands carry no quote or backslash: those split as ``shlex.split`` would (on
    spaces, tabs and newlines only, so a full-width space stays inside a word) without its
    character-by-character lexer.
    """
    text = text or ""
    if not _SHELL_SPECIAL.search(text):
        return [word for word in _SHELL_SPACE.split(text) if word]
    try:
        return shlex.split(text)
    except ValueError:
        raise InvalidInput("unbalanced_quotes", text=text) from None


def as_user(token: str) -> str | None:
    """``<@U123|alice>`` (what Slack sends with should_escape) or a bare ``U123`` → ``U123``."""
    match = _MENTION.match(token)
    if match:
        return match.group(1)
    return token if valid_user_id(token) else None


def user_id(token: str) -> str:
    """Like :func:`as_user`, but a token that is not a user is bad input."""
    found = as_user(token)
    if found is None:
        raise InvalidInput("bad_user", value=token)
    return found


def as_channel_mention(token: str) -> str | None:
    """``<#C123|sales>`` → ``C123``; anything else (a word of a name) → None."""
    match = _CHANNEL.match(token)
    return match.group(1) if match else None


def channel_id(token: str) -> str:
    """``<#C123|sales>`` or a bare ``C123`` → ``C123``."""
    match = _CHANNEL.match(token)
    if match:
        return match.group(1)
    if valid_channel_id(token):
        return token
    raise InvalidInput("bad_channel", value=token)


def is_help(args: list[str]) -> bool:
    return bool(args) and args[0].lower() in ("help", "-h", "--help", "帮助", "?")
