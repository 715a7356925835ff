"""Turning slash-command text into arguments: quoting, mentions, channels."""

from __future__ import annotations

import re

from bot.services.departments import valid_channel_id, valid_user_id
from bot.services.errors import InvalidInput

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$")


#: Quotes that open a quoted argument, and the quote that closes each.
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d"}
_SPACE = " \t\r\n"
_SHELL_SPACE = re.compile(r"[ \t\r\n]+")


def tokens(text: str | None) -> list[str]:
    """Split at spaces, so ``"Key Accounts"`` stays one argument.

    Names carry apostrophes and quotes of their own (``O'Reilly Media``, ``McDonald's``,
    ``Ben "Big" Foods``), so only a quote that opens a word is a quote: ``"``, ``'`` or ``“``
    at the start of a word runs to the same quote (``”`` for ``“``) at the end of a word, and
    the argument is what lies between. Any other quote, and every backslash, is part of the
    word. A word that opens with ``"`` and is never closed is an error that says so; one that
    opens with ``'`` or ``“`` and is never closed at the end of a word is taken as it is
    (``'s-Hertogenbosch``, ``“华为”技术``: Chinese quotes often end inside a name).
    Words split on spaces, tabs and newlines only, so a full-width space stays inside a word.
    """
    text = text or ""
    if not any(quote in text for quote in _QUOTES):
        return [word for word in _SHELL_SPACE.split(text) if word]
    words: list[str] = []
    i, end = 0, len(text)
    while i < end:
        if text[i] in _SPACE:
            i += 1
            continue
        close = _QUOTES.get(text[i])
        stop = _closing(text, i + 1, close) if close else None
        if stop is not None:
            words.append(text[i + 1 : stop])
            i = stop + 1
            continue
        if close == '"':
            raise InvalidInput("unbalanced_quotes", text=text)
        start = i
        while i < end and text[i] not in _SPACE:
            i += 1
        words.append(text[start:i])
    return words


def _closing(text: str, start: int, close: str) -> int | None:
    """Where the quote ``close`` that ends a word first appears at or after ``start``."""
    at = text.find(close, start)
    while at != -1:
        if at + 1 == len(text) or text[at + 1] in _SPACE:
            return at
        at = text.find(close, at + 1)
    return None


#: ``@U0REP3`` or ``@ana`` typed as plain text: meant as a mention, but Slack did not make it one.
_BARE_MENTION = re.compile(r"^[@＠]\S+$")


def as_user(token: str) -> str | None:
    """``<@U123|alice>`` (what Slack sends with should_escape) or a bare ``U123`` → ``U123``.

    A word that starts with ``@`` (``@U0REP3``, ``@ana``) was meant as a person but reached us
    as plain text (typed past Slack's @-menu, or in the terminal shell): that is bad input
    with a hint on how to mention someone, wherever a user may stand.
    """
    match = _MENTION.match(token)
    if match:
        return match.group(1)
    if _BARE_MENTION.match(token):
        raise InvalidInput("bare_mention", value=token, user=_bare_user(token))
    return token if valid_user_id(token) else None


def _bare_user(token: str) -> str | None:
    """The user id in a bare ``@U0REP3``, if it is one."""
    rest = token[1:]
    return rest if valid_user_id(rest) else None


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
