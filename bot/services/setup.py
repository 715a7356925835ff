"""``salesbot setup FILE.toml``: an idempotent import of departments, members, roles, schedules.

Running it again updates in place. Departments are matched by name (case-insensitively);
members listed are placed in their department with their role; members who were in a department
but are no longer listed there stay where they are (removing someone is an explicit
``/sales dept remove``), so a partial file never drops people silently. Admins listed are made
admins; admins not listed stay admins.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from bot.money import parse_currency
from bot.services.departments import (
    OPTIONS,
    STAGE_WEIGHT_DEFAULTS,
    STAGE_WEIGHTS_EXAMPLE,
    check_channel,
    name_key,
    open_lead_count,
    parse_option,
    parse_stage_weights,
    require_no_leads,
    store_stage_weights,
    valid_user_id,
    workspace_setting,
)
from bot.services.errors import InvalidInput, ServiceError
from bot.services.leads import MAIL_PROVIDER_PREFIX, mail_providers
from bot.services.names import domain_key
from bot.services.territories import EXAMPLES as TERRITORY_EXAMPLES
from bot.services.territories import POLICIES, TERRITORY_KEYS, parse_territory
from bot.store.models import Department, Member, Setting, utcnow

TOP_KEYS = (
    "timezone",
    "locale",
    "currency",
    "admins",
    "free_mail_domains",
    "territory_policy",
    "default_department",
    "department",
)
MAX_SETTING_KEY = 64  # setting.key
DEPARTMENT_KEYS = ("name", "channel", "managers", "reps", *OPTIONS, "stage_weights", "territory")


class SetupError(InvalidInput):
    """The setup file is wrong; ``data`` names the key and the line.

    ``errors`` holds every problem of the file, in line order (this one is the first), so that
    ``salesbot setup`` reports them all at once instead of one per run.
    """

    errors: list[SetupError]

    def __init__(self, template: str, **data: Any) -> None:
        super().__init__(template, **data)
        self.errors = [self]


@dataclass
class SetupResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    members: int = 0
    admins: int = 0


def _line_of(text: str, key: str, department_index: int | None) -> int:
    """The 1-based line where ``key`` is set (within the n-th [[department]] when given)."""
    lines = text.splitlines()
    start, seen = 0, -1
    if department_index is not None:
        for number, line in enumerate(lines):
            if re.match(r"^\s*\[\[\s*department\s*\]\]", line):
                seen += 1
                if seen == department_index:
                    start = number
                    break
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for number in range(start, len(lines)):
        if (
            number > start
            and department_index is not None
            and lines[number].lstrip().startswith("[")
        ):
            break
        if department_index is None and lines[number].lstrip().startswith("["):
            break
        if pattern.match(lines[number]):
            return number + 1
    return start + 1


class _Problems:
    """Collects the file's errors; ``check`` raises them all, first line first."""

    def __init__(self) -> None:
        self.found: list[SetupError] = []

    def add(self, template: str, **data: Any) -> None:
        self.found.append(SetupError(template, **data))

    def check(self) -> None:
        if self.found:
            ordered = sorted(self.found, key=lambda e: e.data.get("line", 0))
            ordered[0].errors = ordered
            raise ordered[0]


def _user_list(value: Any, *, key: str, line: int, problems: _Problems) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add("setup_not_user_list", key=key, line=line)
        return []
    good = []
    for raw in value:
        if valid_user_id(raw.strip()):
            good.append(raw.strip())
        else:
            problems.add("setup_bad_user", key=key, line=line, value=raw)
    return good


def _mail_domains(text: str, value: Any, problems: _Problems) -> list[str]:
    """``free_mail_domains = ["corp-mail.cn"]``: more mail providers whose domain is never a
    customer key (:func:`bot.services.names.is_mail_provider`), as registrable domains."""
    line = _line_of(text, "free_mail_domains", None)
    values = value if isinstance(value, list) else [value]
    domains = []
    for item in values:
        domain = domain_key(item) if isinstance(item, str) else None
        if domain is None or len(MAIL_PROVIDER_PREFIX + domain) > MAX_SETTING_KEY:
            problems.add(
                "setup_bad_value",
                key="free_mail_domains",
                line=line,
                value=str(item),
                expected='["corp-mail.cn"]',
            )
        else:
            domains.append(domain)
    return sorted(set(domains))


def _territory_line(text: str, key: str | None, department_index: int) -> int:
    """The line of ``key`` in the n-th department's ``[department.territory]`` table (the
    table's own line when ``key`` is None or not found)."""
    lines = text.splitlines()
    seen, table = -1, None
    for number, line in enumerate(lines):
        stripped = line.strip()
        if re.match(r"^\[\[\s*department\s*\]\]", stripped):
            seen += 1
            if seen > department_index:
                break
        elif seen == department_index and re.match(
            r"^\[\s*department\s*\.\s*territory\s*\]", stripped
        ):
            table = number
        elif table is not None and stripped.startswith("["):
            break
        elif table is not None and key and re.match(rf"^\"?{re.escape(key)}\"?\s*=", stripped):
            return number + 1
    if table is not None:
        return table + 1
    return _line_of(text, "territory", department_index)


def _territory(text: str, value: Any, index: int, problems: _Problems) -> dict[str, Any]:
    """``[department.territory]``: every key checked, each problem with its line."""
    if isinstance(value, dict):
        for key in value:
            if key not in TERRITORY_KEYS:
                problems.add(
                    "setup_unknown_key",
                    key=f"territory.{key}",
                    line=_territory_line(text, key, index),
                )
    clean, wrong = parse_territory(value)
    for error in wrong:
        problems.add(
            "setup_bad_territory",
            key=error.key,
            line=_territory_line(text, error.key, index),
            value=str(error.value),
            expected=TERRITORY_EXAMPLES.get(error.key, "{ employees_min = 500 }"),
        )
    return clean


#: Settings as a department gets them when neither the file nor the database says otherwise.
_DEFAULTS = {"claim_days": 14, "warn_days": 3}


def parse_setup(text: str, session: Session | None = None) -> dict[str, Any]:
    """Parse and check the whole file before anything is written; every problem is reported,
    each with its line (:class:`SetupError` ``errors``).

    With a ``session``, the file is also checked against the database: ``warn_days`` below
    ``claim_days`` counting a department's stored value for the one the file leaves out, and
    no rep or manager who owns open leads moved to another department (reassign or release
    their leads first; setup never moves leads)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SetupError("setup_syntax", detail=str(error)) from None
    problems = _Problems()
    for key in data:
        if key not in TOP_KEYS:
            problems.add("setup_unknown_key", key=key, line=_line_of(text, key, None))
    if "timezone" in data:
        data["timezone"] = _option(text, "timezone", data["timezone"], None, problems)
    if "locale" in data:
        data["locale"] = _option(text, "locale", data["locale"], None, problems)
    if "currency" in data:
        try:
            data["currency"] = parse_currency(data["currency"])
        except ServiceError:
            problems.add(
                "setup_bad_value",
                key="currency",
                line=_line_of(text, "currency", None),
                value=str(data["currency"]),
                expected='"CNY"',
            )
    data["admins"] = _user_list(
        data.get("admins", []),
        key="admins",
        line=_line_of(text, "admins", None),
        problems=problems,
    )
    if "free_mail_domains" in data:
        data["free_mail_domains"] = _mail_domains(text, data["free_mail_domains"], problems)
    if "territory_policy" in data and data["territory_policy"] not in POLICIES:
        problems.add(
            "setup_bad_territory",
            key="territory_policy",
            line=_line_of(text, "territory_policy", None),
            value=str(data["territory_policy"]),
            expected=TERRITORY_EXAMPLES["territory_policy"],
        )
    departments = data.get("department", [])
    if not isinstance(departments, list):
        raise SetupError("setup_syntax", detail="[[department]]")
    if "default_department" in data:
        _check_default_department(text, data, departments, session, problems)
    seen_names: dict[str, int] = {}
    seen_members: dict[str, str] = {}
    for index, entry in enumerate(departments):
        for key in entry:
            if key not in DEPARTMENT_KEYS:
                problems.add("setup_unknown_key", key=key, line=_line_of(text, key, index))
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.add("setup_missing_name", line=_line_of(text, "name", index))
            name = f"#{index + 1}"
        elif name_key(name) in seen_names:
            problems.add(
                "setup_duplicate_department", name=name, line=_line_of(text, "name", index)
            )
        else:
            seen_names[name_key(name)] = index
        existing = (
            session.exec(select(Department).where(Department.name_key == name_key(name))).first()
            if session is not None
            else None
        )
        if "channel" in entry:
            try:
                check_channel(str(entry["channel"]))
            except ServiceError:
                problems.add(
                    "setup_bad_value",
                    key="channel",
                    line=_line_of(text, "channel", index),
                    value=str(entry["channel"]),
                    expected='"C0123ABCD"',
                )
        # warn_days stays below claim_days; a value the file leaves out is the department's
        # stored one (or the default). When both are in the file, warn_days gets the error.
        stored = {
            key: getattr(existing, key) if existing is not None else default
            for key, default in _DEFAULTS.items()
        }
        claim_checked: int | None = None
        for key in sorted(OPTIONS, key=lambda k: k != "claim_days"):
            if key not in entry:
                continue
            if key == "claim_days":
                current = {} if "warn_days" in entry else {"warn_days": stored["warn_days"]}
            elif key == "warn_days":
                claim = claim_checked if "claim_days" in entry else stored["claim_days"]
                current = {"claim_days": claim} if claim is not None else {}
            else:
                current = {}
            before = len(problems.found)
            entry[key] = _option(text, key, entry[key], index, problems, current=current)
            if key == "claim_days":  # an invalid claim_days is no yardstick for warn_days
                claim_checked = entry[key] if len(problems.found) == before else None
        if "stage_weights" in entry:
            entry["stage_weights"] = _stage_weights(text, entry["stage_weights"], index, problems)
        if "territory" in entry:
            entry["territory"] = _territory(text, entry["territory"], index, problems)
        for role_key in ("managers", "reps"):
            line = _line_of(text, role_key, index)
            entry[role_key] = _user_list(
                entry.get(role_key, []), key=role_key, line=line, problems=problems
            )
            for user in entry[role_key]:
                if user in seen_members:
                    problems.add(
                        "setup_member_twice",
                        user=user,
                        first=seen_members[user],
                        second=name,
                        line=line,
                    )
                    continue
                seen_members[user] = name
                if session is not None:
                    _check_move(session, user, existing, line, problems)
    _check_handoffs(text, departments, session, problems)
    problems.check()
    data["department"] = departments
    return data


def _check_handoffs(
    text: str, departments: list[Any], session: Session | None, problems: _Problems
) -> None:
    """``handoff_to`` names another department, of the file or of the database."""
    named = {name_key(d["name"]) for d in departments if isinstance(d.get("name"), str)}
    for index, entry in enumerate(departments):
        target = entry.get("handoff_to")
        if not isinstance(target, str) or not isinstance(entry.get("name"), str):
            continue  # off, or already reported as a bad value
        line = _line_of(text, "handoff_to", index)
        if name_key(target) == name_key(entry["name"]):
            problems.add("setup_handoff_to_itself", line=line, department=entry["name"])
            continue
        known = name_key(target) in named or (
            session is not None
            and session.exec(
                select(Department).where(Department.name_key == name_key(target))
            ).first()
            is not None
        )
        if not known:
            problems.add(
                "setup_unknown_department",
                key="handoff_to",
                line=line,
                value=target,
                departments=sorted(
                    {d["name"] for d in departments if isinstance(d.get("name"), str)}
                ),
            )


def _check_default_department(
    text: str,
    data: dict[str, Any],
    departments: list[Any],
    session: Session | None,
    problems: _Problems,
) -> None:
    """``default_department`` names a department of the file or of the database."""
    value = data["default_department"]
    named = {name_key(d["name"]) for d in departments if isinstance(d.get("name"), str)}
    known = isinstance(value, str) and value.strip() and name_key(value) in named
    if not known and isinstance(value, str) and value.strip() and session is not None:
        known = (
            session.exec(select(Department).where(Department.name_key == name_key(value))).first()
            is not None
        )
    if not known:
        problems.add(
            "setup_unknown_department",
            key="default_department",
            line=_line_of(text, "default_department", None),
            value=str(value),
            departments=sorted({d["name"] for d in departments if isinstance(d.get("name"), str)}),
        )


def _check_move(
    session: Session, user: str, target: Department | None, line: int, problems: _Problems
) -> None:
    """A member who owns open leads is not moved to another department by the setup file."""
    member = session.get(Member, user)
    if member is None or member.department_id is None:
        return
    if target is not None and member.department_id == target.id:
        return
    owned = open_lead_count(session, user)
    if owned:
        current = session.get(Department, member.department_id)
        problems.add(
            "setup_member_has_leads",
            user=user,
            count=owned,
            department=current.name if current else "?",
            line=line,
        )


def _option(
    text: str,
    key: str,
    value: Any,
    index: int | None,
    problems: _Problems,
    *,
    current: dict[str, Any] | None = None,
) -> Any:
    try:
        return parse_option(key, value, current=current)
    except ServiceError as error:
        problems.add(
            "setup_bad_value",
            key=key,
            line=_line_of(text, key, index),
            value=str(value),
            expected=_example(key),
            low=error.data.get("low"),
            high=error.data.get("high"),
        )
        return value


def _example(key: str) -> str:
    """How the value is written in the file: strings quoted, numbers bare."""
    example = OPTIONS[key].split(" | ")[0]
    return example if example.isdigit() else f'"{example}"'


def _stage_weights(text: str, value: Any, index: int, problems: _Problems) -> dict[str, float]:
    """``stage_weights = { qualified = 0.25, … }``: open stages, each 0–1; the stages a file
    leaves out get the defaults (the file says the whole truth each time it is run)."""
    try:
        return STAGE_WEIGHT_DEFAULTS | parse_stage_weights(value)
    except ServiceError:
        problems.add(
            "setup_bad_value",
            key="stage_weights",
            line=_line_of(text, "stage_weights", index),
            value=str(value),
            expected=STAGE_WEIGHTS_EXAMPLE,
        )
        return dict(STAGE_WEIGHT_DEFAULTS)


def _store_mail_domains(session: Session, domains: list[str]) -> None:
    """The setup file's ``free_mail_domains`` replace the ones stored before (a list given
    again is the whole list; a file without the key leaves them as they are)."""
    stored = set(mail_providers(session))
    for domain in stored - set(domains):
        row = session.get(Setting, MAIL_PROVIDER_PREFIX + domain)
        if row is not None:
            session.delete(row)
    for domain in set(domains) - stored:
        session.add(Setting(key=MAIL_PROVIDER_PREFIX + domain, value="1"))


def import_setup(*, session: Session, text: str) -> SetupResult:
    """Apply a setup file in one transaction (all or nothing)."""
    data = parse_setup(text, session)
    result = SetupResult()
    now = utcnow()
    for key in ("timezone", "locale", "currency"):
        if key in data:
            row = session.get(Setting, key) or Setting(key=key, value="")
            row.value = str(data[key])
            session.add(row)
    if "free_mail_domains" in data:
        _store_mail_domains(session, data["free_mail_domains"])
    for key in ("territory_policy", "default_department"):
        if key in data:
            value = data[key] if key == "territory_policy" else name_key(data[key])
            row = session.get(Setting, key) or Setting(key=key, value="")
            row.value = value
            session.add(row)
    default_tz = data.get("timezone") or workspace_setting(session, "timezone", "UTC")
    default_locale = data.get("locale") or workspace_setting(session, "locale", "en")
    for user_id in data["admins"]:
        member = session.get(Member, user_id) or Member(user_id=user_id)
        member.is_admin, member.updated_at = True, now
        session.add(member)
        result.admins += 1
    session.flush()
    for entry in data["department"]:
        clean = " ".join(entry["name"].split())
        department = session.exec(
            select(Department).where(Department.name_key == name_key(clean))
        ).first()
        if department is None:
            department = Department(
                name=clean, name_key=name_key(clean), timezone=default_tz, locale=default_locale
            )
            result.created.append(clean)
        else:
            department.name = clean
            result.updated.append(clean)
        if "channel" in entry:
            department.channel = entry["channel"]
        if "territory" in entry:  # a file without the table leaves the territory as it is
            department.territory = entry["territory"]
        for key in OPTIONS:
            if key in entry and key != "handoff_to":  # a name: resolved once all exist
                setattr(department, key, entry[key])
        department.updated_at = now
        session.add(department)
        session.flush()
        if "stage_weights" in entry:
            assert department.id is not None
            store_stage_weights(session, department.id, entry["stage_weights"])
        for role, key in (("manager", "managers"), ("rep", "reps")):
            for user_id in entry[key]:
                member = session.get(Member, user_id) or Member(user_id=user_id)
                if member.department_id not in (None, department.id):
                    require_no_leads(  # checked in parse_setup; kept for a concurrent claim
                        session, user_id, session.get(Department, member.department_id)
                    )
                member.department_id, member.role, member.updated_at = department.id, role, now
                session.add(member)
                result.members += 1
    _store_handoffs(session, data["department"])
    session.commit()
    return result


def _store_handoffs(session: Session, entries: list[dict[str, Any]]) -> None:
    """``handoff_to`` of each department, once every department of the file exists."""
    session.flush()
    for entry in entries:
        if "handoff_to" not in entry:
            continue
        department = session.exec(
            select(Department).where(Department.name_key == name_key(entry["name"]))
        ).one()
        target = entry["handoff_to"]
        department.handoff_to_id = (
            session.exec(select(Department.id).where(Department.name_key == name_key(target))).one()
            if target
            else None
        )
        session.add(department)
