"""The intake API's rules (DESIGN §8): what a body of ``POST /api/leads`` must hold, and the
answer each lead gets, kept per ``external_id``.

The HTTP part (bot/api.py) checks the token, the size and the media type, then hands the body
here. :func:`parse` turns it into a :class:`LeadIn` or refuses it with a reason per bad field,
all fields at once (:class:`Invalid`); :func:`receive` routes it (:mod:`bot.services.routing`)
and keeps the answer when the lead came with an ``external_id``.

Fields (every one optional but ``company``; ``null`` is the same as leaving a field out):

==================  ==========================================================================
``company``         a string of 1–200 characters (spaces collapsed) whose name key (§5) is not
                    empty: "Ltd" alone names nobody
``domain``          a host name or web address (``acme.com``, ``https://www.acme.com/x``); the
                    lead's domain key is its registrable domain. A mail provider's domain
                    (gmail.com) is no customer's: it is dropped, as in ``/lead claim``
``email``           the contact's address (checked by the ``email-validator`` library, no DNS
                    look-up); its domain is the lead's domain when ``domain`` is not given,
                    unless it is a mail provider's (built-in list plus the setup file's
                    ``free_mail_domains``)
``contact_name``    at most 200 characters
``phone``           at most 50 characters, as written
``employees``       a JSON integer 0–10,000,000 (not ``true``, not ``"250"``, not ``2.5``)
``country``         ISO 3166-1 alpha-2, any case (``cn`` → ``CN``), by ``pycountry``
``industry``        at most 80 characters
``note``            at most 2,000 characters
``source``          at most 80 characters; default: the token's name
``external_id``     at most 100 characters: the sender's own id of this lead, for retries
==================  ==========================================================================

Strings must be JSON strings; no string may hold a control character other than tab, line
feed and carriage return (NUL included), nor a lone surrogate (``"\\ud800"``), which no
database column can keep. **Unknown fields are ignored**: web forms and marketing tools send
what they have (``utm_campaign``, ``consent``, hidden fields), and refusing a lead because a
form gained a field would lose leads; the answer's fields are the contract, not the request's.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.services import names, territories
from bot.store.models import ApiToken, Intake

#: The largest body the API reads.
MAX_BODY = 64 * 1024
MAX_COMPANY = names.MAX_NAME
MAX_CONTACT_NAME = 200
MAX_PHONE = 50
MAX_NOTE = 2000
MAX_SOURCE = 80
MAX_EXTERNAL_ID = 100
MAX_EMAIL = 254  # RFC 5321's path limit

#: Characters a string may hold although Unicode calls them control characters.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


class NotJson(Exception):
    """The body is not a JSON document (415)."""


@dataclass
class Invalid(Exception):
    """Bad fields (400): field → (template of templates/<locale>/intake.j2, its data). An
    empty ``fields`` with ``not_object``: the body is JSON but not an object."""

    fields: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    not_object: bool = False


@dataclass(frozen=True)
class LeadIn:
    """A checked lead, ready for routing."""

    company: str
    domain: str | None
    #: a mail provider's domain that was given (as ``domain`` or in ``email``) and not kept
    mail_domain: str | None
    email: str | None
    contact_name: str | None
    phone: str | None
    employees: int | None
    country: str | None
    industry: str | None
    note: str | None
    source: str
    external_id: str | None

    def contact(self) -> dict[str, str]:
        """The contact's details the offer shows (``routing.details``): only what was given."""
        given = {
            "contact_name": self.contact_name,
            "email": self.email,
            "phone": self.phone,
            "note": self.note,
            "external_id": self.external_id,
        }
        return {key: value for key, value in given.items() if value is not None}


def decode(body: bytes, content_type: str | None) -> Any:
    """The JSON document in ``body``; :class:`NotJson` when the media type is not JSON
    (``application/json``, any parameters, or a ``+json`` type) or the body does not parse as
    UTF-8 JSON."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise NotJson
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, a 4,300-digit number, nesting
        raise NotJson from None


def _bad_text(value: str) -> bool:
    if any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in value):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


class _Checker:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.fields: dict[str, tuple[str, dict[str, Any]]] = {}

    def refuse(self, name: str, template: str, **data: Any) -> None:
        self.fields.setdefault(name, (template, data))

    def text(self, name: str, limit: int, *, one_line: bool = True) -> str | None:
        """The string field ``name`` (spaces collapsed when ``one_line``), None when absent,
        empty, or refused."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.refuse(name, "intake.not_string")
            return None
        if _bad_text(value):
            self.refuse(name, "intake.control_character")
            return None
        value = " ".join(value.split()) if one_line else value.strip()
        if len(value) > limit:
            self.refuse(name, "intake.too_long", limit=limit, length=len(value))
            return None
        return value or None


def parse(document: Any, *, token_name: str, mail_providers: Collection[str] = ()) -> LeadIn:
    """The lead in a decoded body, or :class:`Invalid` with a reason for every bad field."""
    if not isinstance(document, dict):
        raise Invalid(not_object=True)
    check = _Checker(document)

    company = check.text("company", MAX_COMPANY)
    if company is None and "company" not in check.fields:
        check.refuse("company", "intake.required", limit=MAX_COMPANY)
    elif company is not None:
        key = names.name_key(company)
        if not key:
            check.refuse("company", "intake.no_name_left", given=company)
        elif len(key) > MAX_COMPANY:
            check.refuse("company", "intake.too_long", limit=MAX_COMPANY, length=len(key))

    domain = mail_domain = None
    given_domain = check.text("domain", 253)
    if given_domain is not None:
        domain = _domain(given_domain)
        if domain is None:
            check.refuse("domain", "intake.bad_domain", given=given_domain)

    email = check.text("email", MAX_EMAIL)
    if email is not None:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            check.refuse("email", "intake.bad_email", given=email)
            email = None
    if given_domain is None and email is not None:
        domain = names.domain_key(email)
    if names.is_mail_provider(domain, mail_providers):
        domain, mail_domain = None, domain

    employees = document.get("employees")
    if employees is not None:
        whole = isinstance(employees, int) and not isinstance(employees, bool)
        if not whole or not 0 <= employees <= territories.MAX_EMPLOYEES:
            check.refuse("employees", "intake.not_integer", limit=territories.MAX_EMPLOYEES)
            employees = None

    country = check.text("country", 2**10)
    if country is not None:
        code = territories.country_code(country)
        if code is None:
            check.refuse("country", "intake.bad_country", given=country[:20])
        country = code

    industry = check.text("industry", territories.MAX_INDUSTRY)
    contact_name = check.text("contact_name", MAX_CONTACT_NAME)
    phone = check.text("phone", MAX_PHONE)
    note = check.text("note", MAX_NOTE, one_line=False)
    source = check.text("source", MAX_SOURCE)
    external_id = check.text("external_id", MAX_EXTERNAL_ID)

    if check.fields:
        raise Invalid(fields=check.fields)
    assert company is not None
    return LeadIn(
        company=company,
        domain=domain,
        mail_domain=mail_domain,
        email=email,
        contact_name=contact_name,
        phone=phone,
        employees=employees,
        country=country,
        industry=industry,
        note=note,
        source=source or token_name,
        external_id=external_id,
    )


def _domain(value: str) -> str | None:
    """The domain key of a host name or web address; None for anything else (an e-mail
    address, a word without a dot, a bare public suffix such as ``co.uk``)."""
    if "@" in value or " " in value:
        return None
    return names.domain_key(value)


# ── receiving ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Answer:
    """What ``POST /api/leads`` answers: the HTTP status code and the JSON body; ``routed``
    (a :class:`bot.services.routing.Routed`) when this request routed the lead and its posts
    are still to be delivered, None when the answer is a stored one."""

    status: int
    body: dict[str, Any]
    routed: Any = None


class _Duplicate(Exception):
    """Another request with the same token and ``external_id`` committed first."""


def stored_answer(session: Session, token_id: int, external_id: str) -> Answer | None:
    row = session.exec(
        select(Intake).where(Intake.token_id == token_id, Intake.external_id == external_id)
    ).first()
    return None if row is None else Answer(row.status_code, dict(row.answer))


def answer_of(routed: Any) -> tuple[int, dict[str, Any]]:
    """The contract's answer for a routed lead (DESIGN §8): 201 for a new lead, offered to a
    rep or waiting in the pool; 200 for a customer someone owns already."""
    department = routed.department.name if routed.department is not None else None
    if routed.status == "existing":
        return 200, {
            "id": routed.lead.id,
            "status": "existing",
            "owner": routed.owner,
            "department": department,
        }
    return 201, {
        "id": routed.lead.id,
        "status": routed.status,
        "department": department,
        "offered_to": routed.offered_to,
    }


def receive(
    session: Session,
    *,
    token: ApiToken,
    lead: LeadIn,
    now: datetime,
    route: Callable[..., Any] | None = None,
) -> Answer:
    """Route ``lead`` and answer; with an ``external_id`` seen before from this token, the
    first answer again and nothing created.

    The answer is kept in the transaction that creates (or finds) the lead, through
    ``route_new``'s ``before_commit``: either both are there or neither. Two requests with the
    same ``external_id`` at once: the unique (token, external_id) lets one commit; the other's
    transaction is rolled back whole (its lead too) and it answers what the first stored.
    Only routed answers are kept: a request refused (400) is not remembered, so the sender may
    fix it and send it again with the same ``external_id``.
    """
    if route is None:
        from bot.services.routing import route_new as route
    if lead.external_id is not None:
        stored = stored_answer(session, token.id, lead.external_id)  # type: ignore[arg-type]
        if stored is not None:
            return stored

    def keep(session: Session, routed: Any) -> None:
        if lead.external_id is None:
            return
        status, body = answer_of(routed)
        session.add(
            Intake(
                token_id=token.id,
                external_id=lead.external_id,
                lead_id=routed.lead.id,
                status_code=status,
                answer=body,
                created_at=now,
            )
        )
        try:
            session.flush()
        except IntegrityError as error:
            raise _Duplicate from error

    try:
        routed = route(
            session,
            actor=None,
            name=lead.company,
            domain=lead.domain,
            employees=lead.employees,
            country=lead.country,
            industry=lead.industry,
            source=lead.source,
            now=now,
            contact=lead.contact(),
            before_commit=keep,
        )
    except (_Duplicate, IntegrityError):
        # the same external_id, or the same customer, committed by a request at the same time
        session.rollback()
        if lead.external_id is None:
            raise
        stored = stored_answer(session, token.id, lead.external_id)  # type: ignore[arg-type]
        if stored is None:
            raise
        return stored
    status, body = answer_of(routed)
    return Answer(status, body, routed)
