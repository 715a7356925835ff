"""Slack's escaped text as a person typed it (``/kudos``, ``/coach`` and ``/log`` notes)."""

from __future__ import annotations

import html
import re

#: ``<@U1|ana>``, ``<#C1|sales>``, ``<!here>`` inside free text.
_SLACK_REF = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")
#: ``<http://acme.com|acme.com>``, ``<mailto:a@acme.com|a@acme.com>``, ``<https://x.y>``.
_SLACK_LINK = re.compile(r"<((?:https?|mailto|tel):[^>|]+)(?:\|([^>]*))?>")


def free_text(text: str) -> str:
    """Slack's escaped text as a person typed it: mentions become ``@name``, links their label
    (else the address, ``mailto:`` dropped), entities decoded.

    Templates escape it again on output, so a message can neither ping nor forge markup.
    """

    def plain(match: re.Match[str]) -> str:
        sigil, ref, label = match.group(1), match.group(2), match.group(3)
        if sigil == "!":
            return "@" + (label or ref.split("^")[0])
        return sigil + (label or ref)

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        return label or url.removeprefix("mailto:").removeprefix("tel:")

    return html.unescape(_SLACK_LINK.sub(link, _SLACK_REF.sub(plain, text)))
