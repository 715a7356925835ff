"""Amounts and counts as users type them: ``50000``, ``50,000``, ``$5,000.50``, ``50k``,
``1.2m``, ``5万``, ``3千``.

Amounts are whole currency units with up to two decimals, stored as integer cents; the
currency itself is the company's one currency and is not stored.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"^[$€£¥]?(?P<number>\d[\d,_]*(?:\.\d+)?|\.\d+)(?P<unit>k|m|千|万|w|亿)?$")
_UNITS = {
    None: 1,
    "k": 1_000,
    "千": 1_000,
    "m": 1_000_000,
    "万": 10_000,
    "w": 10_000,
    "亿": 100_000_000,
}
MAX_CENTS = 10**15


def parse_number(text: str) -> Decimal | None:
    """The non-negative number typed (units applied), or None when it is not one."""
    folded = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    folded = folded.removesuffix("元").removesuffix("rmb").removesuffix("usd")
    match = _NUMBER.match(folded)
    if match is None:
        return None
    try:
        return Decimal(match["number"].replace(",", "").replace("_", "")) * _UNITS[match["unit"]]
    except InvalidOperation:
        return None


def to_cents(number: Decimal) -> int | None:
    """Cents for an amount in currency units; None below a cent's precision or too large."""
    cents = number * 100
    if cents != cents.to_integral_value() or cents >= MAX_CENTS:
        return None
    return int(cents)


def parse_amount(text: str) -> int | None:
    """Cents for a typed positive amount, or None when it is not one."""
    number = parse_number(text)
    if number is None or number <= 0:
        return None
    return to_cents(number)
