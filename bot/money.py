"""Amounts and counts as users type them: ``50000``, ``50,000``, ``$5,000.50``, ``50k``,
``1.2m``, ``5万``, ``3千``.

Amounts are whole currency units with up to two decimals, stored as integer cents; the
currency itself is the company's one currency and is not stored.
"""

from __future__ import annotations

import re
import unicodedata
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from sqlmodel import Session

from bot.store.models import Setting

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


# ── the company's currency, and amounts as users read them ───────────────────────────────────

#: ISO 4217 code of the company's one currency when the setup file names none.
DEFAULT_CURRENCY = "USD"
#: The currency of what is being rendered now: set per request (each request runs in a
#: context of its own, bot.app.SalesApp.dispatch) and per job run, never shared between them.
_CURRENCY: ContextVar[str] = ContextVar("salesbot_currency", default=DEFAULT_CURRENCY)


def parse_currency(value: object) -> str:
    """An ISO 4217 code as the setup file gives it (``"cny"`` → ``CNY``); raises
    InvalidInput for anything babel does not know as a currency."""
    from babel.numbers import is_currency

    from bot.services.errors import InvalidInput

    code = str(value).strip().upper()
    if not (len(code) == 3 and code.isalpha() and is_currency(code)):
        raise InvalidInput("bad_option", key="currency", value=str(value), expected="CNY")
    return code


def use_currency(code: str | None) -> None:
    """Set the currency amounts are shown in for the current request or job run: the company
    has one, read from the ``setting`` table with the reader's locale and zone
    (``departments.reader_and_currency``) or by ``currency_of``."""
    _CURRENCY.set(code or DEFAULT_CURRENCY)


def currency() -> str:
    return _CURRENCY.get()


def currency_of(session: Session) -> str:
    """The company's currency from the ``setting`` table (the setup file's ``currency``), and
    make it the one amounts are shown in (a job run's; a request reads it with its reader)."""
    row = session.get(Setting, "currency")
    use_currency(row.value if row is not None else None)
    return _CURRENCY.get()


_BABEL_LOCALES = {"en": "en_US", "zh-CN": "zh_Hans_CN"}


def format_money(cents: int | None, locale: str | None = None, code: str | None = None) -> str:
    """The one way an amount is shown: in the company's currency and the reader's locale,
    by babel (``$5,000.50``, ``US$5,000.50`` in Chinese, ``¥5,000`` for CNY in Chinese).
    Whole amounts show no decimals (``$50,000``); others show the currency's digits."""
    if cents is None:
        return "—"
    return _formatted(cents, _BABEL_LOCALES.get(locale or "en", "en_US"), code or _CURRENCY.get())


@lru_cache(maxsize=4096)
def _formatted(cents: int, where: str, code: str) -> str:
    """Babel's formatting of one amount, kept: a digest shows the same few amounts many times
    and babel takes a tenth of a millisecond each."""
    from babel.numbers import format_currency

    amount = Decimal(cents) / 100
    if cents % 100 == 0:
        return format_currency(amount, code, format="¤#,##0", locale=where, currency_digits=False)
    return format_currency(amount, code, locale=where)
