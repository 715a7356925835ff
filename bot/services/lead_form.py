"""The "New lead" form (DESIGN §8): what a Slack message suggests, and the fields a person
submits, checked all at once.

The form is opened by the "New lead" message shortcut on any message (an inbound e-mail
pasted in a channel, a colleague's tip …) and pre-filled with a guess, which the person
corrects before submitting:

- the **contact e-mail** is the first e-mail address in the message;
- the **domain** is the first web domain in the message, or the e-mail's domain, that is not a
  mail provider's (the free-mail rule of §8: ``jane@gmail.com`` says nothing about her
  company, so it gives no domain);
- the **company** is the message's first line, trimmed, when it is short (at most
  :data:`MAX_GUESSED_NAME` characters) and has a name in it; otherwise the field starts empty
  rather than holding half a sentence;
- the **note** is the message's text, cut at :data:`MAX_NOTE` characters.

On submission every field is checked the way ``/lead new`` and the intake API check it
(employees a whole number, country an ISO alpha-2 code, industry at most 80 characters, e-mail
by the ``email-validator`` library without DNS, note at most 2,000 characters); every wrong
field is named at once so nothing typed is lost. A domain left empty is taken from the e-mail
unless that is a mail provider's; a mail provider's domain typed in the domain field is not
kept either (:func:`bot.services.routing.company_from`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from bot.services import territories
from bot.services.errors import InvalidInput
from bot.services.names import MAX_NAME, domain_key, is_mail_provider, looks_like_domain, name_key
from bot.services.text import free_text

MAX_NOTE = 2000
MAX_GUESSED_NAME = 60
MAX_EMAIL = 254
#: what the form's fields are called (the modal's block ids), in the order they are shown
FIELDS = ("company", "domain", "employees", "country", "industry", "email", "note")

#: an address inside a word ("邮箱：wang@huawei.com"); its local part in ASCII, so the Chinese
#: words written right before it are not taken for part of it
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[\w-]+(?:\.[\w-]+)+")
#: what separates the words of a message, in English and Chinese writing
_SEPARATORS = re.compile(r"[\s\"'“”‘’()\[\]{}<>,;:!?|。，、；：！？（）【】《》「」]+")


@dataclass(frozen=True)
class Guess:
    company: str
    domain: str
    email: str
    note: str


def guess(message_text: str, mail_providers: Collection[str] = ()) -> Guess:
    """The form's first values for a Slack message's (escaped) text; see the module."""
    text = free_text(message_text or "").strip()
    email = ""
    domains: list[str] = []
    for raw in _SEPARATORS.split(text):
        token = raw.strip(".")
        found = _EMAIL.search(token) if "@" in token else None
        if found:
            address = found.group(0).strip(".")
            email = email or address
            domain = domain_key(address)
        elif token and "@" not in token and looks_like_domain(token):
            domain = domain_key(token)
        else:
            continue
        if domain and not is_mail_provider(domain, mail_providers):
            domains.append(domain)
    # a mention (``<!channel>``, ``<@U1>``) names no customer: judged on Slack's own text
    raw_first = (message_text or "").strip().split("\n", 1)[0]
    first_line = " ".join(free_text(raw_first).split())
    company = first_line if len(first_line) <= MAX_GUESSED_NAME and name_key(raw_first) else ""
    return Guess(
        company=company,
        domain=domains[0] if domains else "",
        email=email,
        note=text[:MAX_NOTE],
    )


@dataclass(frozen=True)
class LeadForm:
    """A submitted form, checked: what :func:`bot.services.routing.route_new` is given."""

    name: str
    domain: str | None
    employees: int | None
    country: str | None
    industry: str | None
    email: str | None
    note: str | None

    @property
    def contact(self) -> dict[str, Any]:
        return {"email": self.email, "note": self.note}


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def check(values: dict[str, str | None]) -> tuple[LeadForm | None, list[InvalidInput]]:
    """The submitted form, or every field's refusal (each with its ``block``)."""
    problems: list[InvalidInput] = []

    def refuse(block: str, template: str, **data: Any) -> None:
        problems.append(InvalidInput(f"new_lead.{template}", block=block, **data))

    name = " ".join((values.get("company") or "").split())
    if not name:
        refuse("company", "required")
    elif not name_key(name):
        refuse("company", "bad_company", given=name)
    elif max(len(name), len(name_key(name))) > MAX_NAME:
        refuse("company", "name_too_long", limit=MAX_NAME, length=len(name))

    domain = _clean(values.get("domain"))
    if domain is not None and domain_key(domain) is None:
        refuse("domain", "bad_domain", given=domain)

    employees = _clean(values.get("employees"))
    count = territories.employee_count(employees) if employees is not None else None
    if employees is not None and count is None:
        refuse("employees", "bad_employees", given=employees)

    country = _clean(values.get("country"))
    code = territories.country_code(country) if country is not None else None
    if country is not None and code is None:
        refuse("country", "bad_country", given=country)

    industry = _clean(values.get("industry"))
    if industry is not None:
        industry = " ".join(industry.split())
        if territories.industry_word(industry) is None:
            refuse("industry", "bad_industry", given=industry, limit=territories.MAX_INDUSTRY)

    email = _clean(values.get("email"))
    if email is not None:
        try:
            if len(email) > MAX_EMAIL:
                raise EmailNotValidError(email)
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            refuse("email", "bad_email", given=email[:100])

    note = _clean(values.get("note"))
    if note is not None and len(note) > MAX_NOTE:
        refuse("note", "note_too_long", length=len(note), limit=MAX_NOTE)

    if problems:
        return None, problems
    if domain is None and email is not None:
        domain = email.rsplit("@", 1)[1]  # a mail provider's is dropped by route_new
    return (
        LeadForm(
            name=name,
            domain=domain,
            employees=count,
            country=code,
            industry=industry,
            email=email,
            note=note,
        ),
        [],
    )
