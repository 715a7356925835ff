"""Amounts as users type them: ``50000``, ``50,000``, ``$5,000.50``, ``50k``, ``1.2m``, ``5万``.

Amounts are whole currency units with up to two decimals, stored as integer cents; the
currency itself is the company's one currency and is not stored.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_AMOUNT = re.compile(r"^[$€£¥]?(?P<number>\d[\d,]*(?:\.\d+)?|\.\d+)(?P<unit>k|m|万|w|亿)?$")
_UNITS = {None: 1, "k": 1_000, "m": 1_000_000, "万": 10_000, "w": 10_000, "亿": 100_000_000}
MAX_CENTS = 10**15


def parse_amount(text: str) -> int | None:
    """Cents for a typed amount, or None when it is not a positive amount."""
    folded = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    folded = folded.removesuffix("元").removesuffix("rmb").removesuffix("usd")
    match = _AMOUNT.match(folded)
    if match is None:
        return None
    try:
        value = Decimal(match["number"].replace(",", "")) * _UNITS[match["unit"]]
    except InvalidOperation:
        return None
    cents = int((value * 100).to_integral_value())
    return cents if 0 < cents < MAX_CENTS else None
