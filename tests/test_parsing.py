"""Command text into arguments (``handlers.parsing.tokens``): the same words as
``shlex.split``, whether or not the text takes its fast path (no quote, no backslash)."""

from __future__ import annotations

import random
import shlex

import pytest

from bot.services.errors import InvalidInput
from handlers.parsing import tokens

# spaces shlex splits at, spaces it keeps inside a word, quotes, escapes, shell punctuation
ALPHABET = [
    *"ab中é-.@#<>|();&$`*?~!=,",
    " ",
    "\t",
    "\n",
    "\r",
    "\u3000",
    "\xa0",
    "\x0b",
    "\x0c",
    '"',
    "'",
    "\\",
]


def test_examples() -> None:
    assert tokens('call "Acme Corp" met the CFO') == ["call", "Acme Corp", "met", "the", "CFO"]
    assert tokens("  call\tAcme\n note ") == ["call", "Acme", "note"]
    assert tokens("拜访 华为\u3000技术 谈合同") == ["拜访", "华为\u3000技术", "谈合同"]
    assert tokens(None) == [] and tokens("") == [] and tokens("   ") == []


def test_same_words_as_shlex_on_random_text() -> None:
    rng = random.Random(20261124)
    for _ in range(20000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
        try:
            expected = shlex.split(text)
        except ValueError:
            with pytest.raises(InvalidInput):
                tokens(text)
            continue
        assert tokens(text) == expected, repr(text)
