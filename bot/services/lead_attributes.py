"""``/lead set <company> employees|country|industry <value>``: the attributes a territory is
decided on (DESIGN §7).

The lead's owner, a manager of its department or an admin may set them (a lead in the pool:
an admin). Each change is one locked write of the lead row with an ``attribute`` event in the
audit trail ("country: — → CN"). Values are checked: ``employees`` a whole number from 1 to
10,000,000 (``1,200`` is read as 1200), ``country`` an ISO 3166-1 alpha-2 code (any case,
stored upper case), ``industry`` a word or phrase of at most 80 characters (stored as typed,
compared case-insensitively). A value of ``-`` or ``none`` clears the attribute (unknown again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.services import leads, territories
from bot.services.errors import InvalidInput
from bot.store.models import Department, Lead

CLEAR = ("-", "none", "无")


@dataclass(frozen=True)
class AttributeSet:
    lead: Lead
    attribute: str
    value: Any
    previous: Any
    territory: Department | None


def parse_value(attribute: str, raw: str) -> Any:
    """The stored value of ``raw`` for ``attribute`` (None clears it), or a refusal that says
    what to type."""
    if raw.strip().lower() in CLEAR:
        return None
    if attribute == "employees":
        value: Any = territories.employee_count(raw)
    elif attribute == "country":
        value = territories.country_code(raw)
    else:
        value = " ".join(raw.split()) or None
        if value is not None and territories.industry_word(value) is None:
            value = None
    if value is None:
        raise InvalidInput("lead.bad_attribute", attribute=attribute, given=raw)
    return value


def split_words(words: list[str]) -> tuple[list[str], str, str]:
    """``["Acme", "Corp", "industry", "financial", "services"]`` → company words, attribute,
    value: the last attribute word that has a company before it and a value after it."""
    for index in range(len(words) - 2, 0, -1):
        if words[index].lower() in territories.ATTRIBUTES:
            value = " ".join(words[index + 1 :])
            if words[index].lower() != "industry" and index != len(words) - 2:
                continue
            return words[:index], words[index].lower(), value
    raise InvalidInput("lead.set_usage", given=None)


def set_attribute(session: Session, *, actor: str, words: list[str], now: datetime) -> AttributeSet:
    company, attribute, raw = split_words(words)
    value = parse_value(attribute, raw)
    lead = leads.find_whole(session, company, actor=actor)
    lead = leads._locked(session, lead)
    leads._require_owner_or_manager(session, actor, lead, "lead.set_denied")
    previous = getattr(lead, attribute)
    if previous != value:
        setattr(lead, attribute, value)
        lead.updated_at = now
        session.add(lead)
        shown = ("—" if previous is None else previous, "—" if value is None else value)
        session.add(
            leads.event(
                lead,
                "attribute",
                actor,
                now,
                reason=f"{attribute}: {shown[0]} → {shown[1]}"[: leads.MAX_REASON],
            )
        )
    session.commit()
    session.refresh(lead)
    return AttributeSet(
        lead=lead,
        attribute=attribute,
        value="—" if value is None else value,
        previous=previous,
        territory=territories.territory_department(session, lead),
    )
