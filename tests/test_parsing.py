"""Command text into arguments (``handlers.parsing.tokens``): split at spaces like
``shlex.split``, but only a quote that opens a word is a quote, so apostrophes and quotes inside
names are part of the name."""

from __future__ import annotations

import contextlib
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


def test_apostrophes_and_quotes_inside_names_are_part_of_the_name() -> None:
    assert tokens("claim O'Reilly Media") == ["claim", "O'Reilly", "Media"]
    assert tokens("claim McDonald's") == ["claim", "McDonald's"]
    assert tokens("claim 'O'Reilly Media' acme.com") == ["claim", "O'Reilly Media", "acme.com"]
    assert tokens('claim 5" Displays') == ["claim", '5"', "Displays"]
    assert tokens("claim “华为 技术” 谈") == ["claim", "华为 技术", "谈"]
    assert tokens("claim 's-Hertogenbosch Trading") == ["claim", "'s-Hertogenbosch", "Trading"]
    assert tokens("claim “华为”技术 有限公司") == ["claim", "“华为”技术", "有限公司"]
    assert tokens(r"claim A\B") == ["claim", r"A\B"]
    with pytest.raises(InvalidInput):
        tokens('claim "Acme Corp')


def test_same_words_as_shlex_on_random_text_without_quotes() -> None:
    rng = random.Random(20261124)
    plain = [c for c in ALPHABET if c not in "\"'\\"]
    for _ in range(20000):
        text = "".join(rng.choice(plain) for _ in range(rng.randint(0, 14)))
        assert tokens(text) == shlex.split(text), repr(text)


def test_words_come_back_as_typed_on_random_text() -> None:
    """Words joined by spaces, those with a space in quotes, split back into the same words;
    any text at all either splits or is refused as unbalanced, never anything else."""
    rng = random.Random(20261204)
    inside = [c for c in ALPHABET if c not in " \t\n\r"]
    for _ in range(20000):
        words = []
        for _ in range(rng.randint(0, 5)):
            word = "".join(rng.choice(inside) for _ in range(rng.randint(1, 6)))
            if word[0] in "\"'":
                word = "x" + word
            words.append(word)
        text = " ".join(words)
        assert tokens(text) == words, repr(text)
        spaced = ["a " + w.replace('" ', "") for w in words]
        quoted = " ".join(f'"{w}"' for w in spaced)
        assert tokens(quoted) == spaced, repr(quoted)
        noise = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
        with contextlib.suppress(InvalidInput):
            assert all(isinstance(w, str) for w in tokens(noise))
