"""Territories (DESIGN §7): which department a customer belongs to.

A department's ``[department.territory]`` is stored as JSON on the department
(``department.territory``, migration 0005)::

    {"employees_min": 500, "employees_max": 0, "countries": ["CN"], "industries": ["finance"],
     "accounts": [{"name": "Huawei", "key": "huawei", "domain": "huawei.com"}]}

The workspace's ``territory_policy`` ("strict" or "warn") and ``default_department`` are
``setting`` rows written by the setup file.

Decisions where the design is silent:

- ``employees_min`` of 0 (or absent) and ``employees_max`` of 0 are not criteria; each other
  key that is set (a positive bound, a non-empty list) is one criterion.
- A territory with no criteria covers only its named accounts (it does not take every
  customer).
- "Listed first" is the order departments were created in, which is the order of the setup
  file for departments it created.
- Industries are compared case-folded and with inner spaces collapsed.
- ``default_department`` is kept as the department's name key: it must name a department of
  the file or of the database; renaming that department needs the setup file run again.
- Claims are refused (strict) for anyone outside the territory, managers included: a claim
  is for oneself. A manager or admin moves a lead across on purpose with ``/lead transfer``
  (recorded as a ``territory`` event); an owner's transfer request outside the territory is
  refused under strict, and a request approved by managers counts as on purpose.
- A territory's named accounts apply to a customer that is not a lead yet (``/lead claim``,
  the Add button of ``/log``); its criteria need attributes, which only an existing lead has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pycountry
from sqlmodel import Session, col, select

from bot.services.names import split_company
from bot.store.models import Department, Lead, Setting
from bot.store.prepared import Prepared

POLICIES = ("strict", "warn")
DEFAULT_POLICY = "strict"
TERRITORY_KEYS = ("employees_min", "employees_max", "countries", "industries", "accounts")
ATTRIBUTES = ("employees", "country", "industry")
MAX_EMPLOYEES = 10_000_000
MAX_INDUSTRY = 80  # lead.industry

#: How each key is written in a setup file (shown when a value is wrong).
EXAMPLES = {
    "employees_min": "500",
    "employees_max": "0",
    "countries": '["CN", "SG"]',
    "industries": '["finance", "energy"]',
    "accounts": '["Huawei huawei.com", "Alibaba Group"]',
    "territory_policy": '"strict"',
    "default_department": '"SMB"',
}


class TerritoryValueError(ValueError):
    """One key of a territory is wrong; ``key`` and ``value`` name it."""

    def __init__(self, key: str, value: Any) -> None:
        super().__init__(key)
        self.key = key
        self.value = value


def country_code(value: Any) -> str | None:
    """``"cn"`` → ``"CN"`` when it is an ISO 3166-1 alpha-2 code, else None."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        return None
    return code


def industry_word(value: Any) -> str | None:
    """An industry as compared: case-folded, spaces collapsed; None when empty or too long."""
    if not isinstance(value, str):
        return None
    word = " ".join(value.split()).casefold()
    return word if word and len(word) <= MAX_INDUSTRY else None


def employee_count(value: Any) -> int | None:
    """A head count: a whole number 1–10,000,000 (``1,200`` and ``1200`` alike)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        value = int(text) if text.isdigit() else None
    if isinstance(value, int) and 1 <= value <= MAX_EMPLOYEES:
        return value
    return None


def parse_territory(value: Any) -> tuple[dict[str, Any], list[TerritoryValueError]]:
    """A ``[department.territory]`` table, checked: the clean territory and every problem."""
    problems: list[TerritoryValueError] = []
    clean: dict[str, Any] = {
        "employees_min": 0,
        "employees_max": 0,
        "countries": [],
        "industries": [],
        "accounts": [],
    }
    if not isinstance(value, dict):
        return clean, [TerritoryValueError("territory", value)]
    for key in ("employees_min", "employees_max"):
        if key in value:
            raw = value[key]
            if raw == 0 and not isinstance(raw, bool):
                continue
            number = employee_count(raw) if isinstance(raw, int) else None
            if number is None:
                problems.append(TerritoryValueError(key, raw))
            else:
                clean[key] = number
    if clean["employees_max"] and clean["employees_min"] > clean["employees_max"]:
        problems.append(TerritoryValueError("employees_max", value["employees_max"]))
    for key, check in (("countries", country_code), ("industries", industry_word)):
        items = value.get(key, [])
        if not isinstance(items, list):
            problems.append(TerritoryValueError(key, items))
            continue
        for item in items:
            good = check(item)
            if good is None:
                problems.append(TerritoryValueError(key, item))
            elif good not in clean[key]:
                clean[key].append(good)
    accounts = value.get("accounts", [])
    if not isinstance(accounts, list):
        problems.append(TerritoryValueError("accounts", accounts))
    else:
        for item in accounts:
            company = split_company(item.split()) if isinstance(item, str) else None
            if company is None:
                problems.append(TerritoryValueError("accounts", item))
            else:
                clean["accounts"].append(
                    {"name": company.name, "key": company.key, "domain": company.domain}
                )
    return clean, problems


def criteria_count(territory: dict[str, Any]) -> int:
    """How many criteria a territory sets (named accounts are not criteria)."""
    return sum(
        1
        for key in ("employees_min", "employees_max", "countries", "industries")
        if territory.get(key)
    )


def _holds(territory: dict[str, Any], lead: Any) -> bool:
    """Every criterion of ``territory`` holds for ``lead``; one on an unknown attribute does
    not hold, and a territory with no criteria holds for nobody."""
    if not criteria_count(territory):
        return False
    employees = getattr(lead, "employees", None)
    if territory.get("employees_min") and (
        employees is None or employees < territory["employees_min"]
    ):
        return False
    if territory.get("employees_max") and (
        employees is None or employees > territory["employees_max"]
    ):
        return False
    if territory.get("countries") and getattr(lead, "country", None) not in territory["countries"]:
        return False
    industry = getattr(lead, "industry", None)
    return not (
        territory.get("industries")
        and (industry is None or industry_word(industry) not in territory["industries"])
    )


def _names_account(territory: dict[str, Any], key: str | None, domain: str | None) -> bool:
    return any(
        (key and account.get("key") == key) or (domain and account.get("domain") == domain)
        for account in territory.get("accounts") or []
    )


@dataclass(frozen=True)
class Attributes:
    """What a territory is decided on, for a customer that may not be a lead yet."""

    name_key: str | None = None
    domain: str | None = None
    employees: int | None = None
    country: str | None = None
    industry: str | None = None


#: The departments that have a territory, with it: read by every claim and ``/lead who``, so
#: one prepared read (no ORM objects unless one matches).
_TERRITORIES = Prepared(
    select(col(Department.id), col(Department.territory))
    .where(col(Department.territory).is_not(None))
    .order_by(col(Department.id))
)


def territory_department(session: Session, customer: Lead | Attributes) -> Department | None:
    """The customer's territory department (DESIGN §7): the department naming it in
    ``accounts`` (by name key or domain); else the one whose criteria all hold, the one with
    more criteria set first, then the one listed first. None: the territory is open."""
    departments = [(row.id, row.territory or {}) for row in _TERRITORIES.rows(session.connection())]
    key, domain = customer.name_key, customer.domain
    found = next((d for d, t in departments if _names_account(t, key, domain)), None)
    if found is None:
        matching = [(d, t) for d, t in departments if _holds(t, customer)]
        if matching:
            found = max(matching, key=lambda m: (criteria_count(m[1]), -m[0]))[0]
    return None if found is None else session.get(Department, found)


def policy(session: Session) -> str:
    """The workspace's ``territory_policy``: "strict" unless the setup file says "warn"."""
    row = session.get(Setting, "territory_policy")
    return row.value if row is not None and row.value in POLICIES else DEFAULT_POLICY


def default_department(session: Session) -> Department | None:
    """The setup file's ``default_department`` (where routed leads go when no territory
    matches), or None."""
    row = session.get(Setting, "default_department")
    if row is None:
        return None
    return session.exec(select(Department).where(Department.name_key == row.value)).first()


def describe(territory: dict[str, Any] | None) -> dict[str, Any] | None:
    """The territory as ``/sales dept show`` lists it (None: no territory)."""
    if not territory:
        return None
    return {
        "employees_min": territory.get("employees_min") or 0,
        "employees_max": territory.get("employees_max") or 0,
        "countries": territory.get("countries") or [],
        "industries": territory.get("industries") or [],
        "accounts": [
            " ".join(p for p in (a.get("name"), a.get("domain")) if p)
            for a in territory.get("accounts") or []
        ],
    }
