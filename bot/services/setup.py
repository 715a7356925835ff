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

from bot.render import LOCALES
from bot.services.departments import (
    OPTIONS,
    STAGE_WEIGHT_DEFAULTS,
    STAGE_WEIGHTS_EXAMPLE,
    check_channel,
    name_key,
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
from bot.store.models import Department, Member, Setting, utcnow

TOP_KEYS = ("timezone", "locale", "admins", "free_mail_domains", "department")
MAX_SETTING_KEY = 64  # setting.key
DEPARTMENT_KEYS = ("name", "channel", "managers", "reps", *OPTIONS, "stage_weights")


class SetupError(InvalidInput):
    """The setup file is wrong; ``data`` names the key and the line."""


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


def _user_list(value: Any, *, key: str, line: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SetupError("setup_not_user_list", key=key, line=line)
    bad = next((v for v in value if not valid_user_id(v.strip())), None)
    if bad is not None:
        raise SetupError("setup_bad_user", key=key, line=line, value=bad)
    return [v.strip() for v in value]


def _mail_domains(text: str, value: Any) -> list[str]:
    """``free_mail_domains = ["corp-mail.cn"]``: more mail providers whose domain is never a
    customer key (:func:`bot.services.names.is_mail_provider`), as registrable domains."""
    line = _line_of(text, "free_mail_domains", None)
    values = value if isinstance(value, list) else [value]
    domains = []
    for item in values:
        domain = domain_key(item) if isinstance(item, str) else None
        if domain is None or len(MAIL_PROVIDER_PREFIX + domain) > MAX_SETTING_KEY:
            raise SetupError(
                "setup_bad_value",
                key="free_mail_domains",
                line=line,
                value=str(item),
                expected='free_mail_domains = ["corp-mail.cn"]',
            )
        domains.append(domain)
    return sorted(set(domains))


def parse_setup(text: str) -> dict[str, Any]:
    """Parse and check the whole file before anything is written."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SetupError("setup_syntax", detail=str(error)) from None
    for key in data:
        if key not in TOP_KEYS:
            raise SetupError("setup_unknown_key", key=key, line=_line_of(text, key, None))
    if "timezone" in data:
        _option(text, "timezone", data["timezone"], None)
    if "locale" in data and data["locale"] not in LOCALES:
        raise SetupError(
            "setup_bad_value",
            key="locale",
            line=_line_of(text, "locale", None),
            value=str(data["locale"]),
            expected=OPTIONS["locale"],
        )
    data["admins"] = _user_list(
        data.get("admins", []), key="admins", line=_line_of(text, "admins", None)
    )
    if "free_mail_domains" in data:
        data["free_mail_domains"] = _mail_domains(text, data["free_mail_domains"])
    departments = data.get("department", [])
    if not isinstance(departments, list):
        raise SetupError("setup_syntax", detail="[[department]]")
    seen_names: dict[str, int] = {}
    seen_members: dict[str, str] = {}
    for index, entry in enumerate(departments):
        for key in entry:
            if key not in DEPARTMENT_KEYS:
                raise SetupError("setup_unknown_key", key=key, line=_line_of(text, key, index))
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SetupError("setup_missing_name", line=_line_of(text, "name", index))
        if name_key(name) in seen_names:
            raise SetupError(
                "setup_duplicate_department", name=name, line=_line_of(text, "name", index)
            )
        seen_names[name_key(name)] = index
        if "channel" in entry:
            try:
                check_channel(str(entry["channel"]))
            except ServiceError:
                raise SetupError(
                    "setup_bad_value",
                    key="channel",
                    line=_line_of(text, "channel", index),
                    value=str(entry["channel"]),
                    expected="C0123ABCD",
                ) from None
        for key in OPTIONS:
            if key in entry:
                entry[key] = _option(text, key, entry[key], index)
        if "stage_weights" in entry:
            entry["stage_weights"] = _stage_weights(text, entry["stage_weights"], index)
        for role_key in ("managers", "reps"):
            line = _line_of(text, role_key, index)
            entry[role_key] = _user_list(entry.get(role_key, []), key=role_key, line=line)
            for user in entry[role_key]:
                if user in seen_members:
                    raise SetupError(
                        "setup_member_twice",
                        user=user,
                        first=seen_members[user],
                        second=name,
                        line=line,
                    )
                seen_members[user] = name
    data["department"] = departments
    return data


def _option(text: str, key: str, value: Any, index: int | None) -> Any:
    try:
        return parse_option(key, value)
    except ServiceError:
        raise SetupError(
            "setup_bad_value",
            key=key,
            line=_line_of(text, key, index),
            value=str(value),
            expected=OPTIONS[key],
        ) from None


def _stage_weights(text: str, value: Any, index: int) -> dict[str, float]:
    """``stage_weights = { qualified = 0.25, … }``: open stages, each 0–1; the stages a file
    leaves out get the defaults (the file says the whole truth each time it is run)."""
    try:
        return STAGE_WEIGHT_DEFAULTS | parse_stage_weights(value)
    except ServiceError:
        raise SetupError(
            "setup_bad_value",
            key="stage_weights",
            line=_line_of(text, "stage_weights", index),
            value=str(value),
            expected=STAGE_WEIGHTS_EXAMPLE,
        ) from None


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
    data = parse_setup(text)
    result = SetupResult()
    now = utcnow()
    for key in ("timezone", "locale"):
        if key in data:
            row = session.get(Setting, key) or Setting(key=key, value="")
            row.value = str(data[key])
            session.add(row)
    if "free_mail_domains" in data:
        _store_mail_domains(session, data["free_mail_domains"])
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
        for key in OPTIONS:
            if key in entry:
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
                    require_no_leads(
                        session, user_id, session.get(Department, member.department_id)
                    )
                member.department_id, member.role, member.updated_at = department.id, role, now
                session.add(member)
                result.members += 1
    session.commit()
    return result
