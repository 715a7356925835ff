"""Leads and ownership (DESIGN §4 ``/lead``, §5).

Rules, in one place:

* A customer is found by either of its keys (:mod:`bot.services.names`); both are unique
  columns, so the claim of a new customer is one INSERT that a second concurrent INSERT cannot
  pass, and the claim of a pool lead is one conditional UPDATE (``WHERE owner_id IS NULL``)
  that only one caller can win. Every loser gets the conflict message naming the winner.
* A claim is protected for the department's ``claim_days`` from the later of the claim and the
  owner's last logged activity; ``expire-claims`` warns and returns it to the pool. The rep it
  expired from cannot claim it again for 24 hours. Won leads never expire.
* ``lost`` closes the deal and returns the customer to the pool at once, so another department
  may try later; the audit trail keeps who lost it and why.
* Every change of owner, department or stage writes an :class:`OwnershipEvent`.
* Every change of an existing lead locks its row first and re-checks its rules on the row as
  committed now (:mod:`bot.store.locks`); a claim also locks the claimant's member row, so the
  cap of ``max_leads_per_rep`` is counted inside the lock. The database itself holds the rule
  that an owner is a member of the lead's department (a composite foreign key), and that a
  lead has an owner exactly when it has a department.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import bindparam, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services import departments as depts
from bot.services import offers, territories
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.services.names import (
    MAX_NAME,
    Company,
    core_key,
    name_key,
    skeleton,
    split_company,
)
from bot.store.locks import lock_lead, lock_member
from bot.store.models import (
    ClaimConflict,
    Department,
    Lead,
    Member,
    OwnershipEvent,
    Setting,
    TransferRequest,
)
from bot.store.prepared import Prepared, PreparedWrite

STAGES = ("new", "contacted", "qualified", "proposal", "negotiation", "won", "lost")
#: Stages in Chinese: the words the zh-CN templates show (``STAGE`` in
#: templates/zh-CN/_report_labels.j2, listed in ``/lead help``) and the short forms people type.
#: ``/lead stage`` takes them as ``/log`` takes Chinese kinds.
CHINESE_STAGES = {
    "新建": "new",
    "新线索": "new",
    "已联系": "contacted",
    "已确认需求": "qualified",
    "已确认": "qualified",
    "方案阶段": "proposal",
    "方案": "proposal",
    "谈判": "negotiation",
    "赢单": "won",
    "成交": "won",
    "输单": "lost",
    "丢单": "lost",
}


def stage_of(word: str) -> str | None:
    """The stage ``word`` names (``proposal``, ``Proposal``, ``方案阶段``, ``方案``), or None."""
    folded = word.strip().casefold()
    stage = CHINESE_STAGES.get(folded, folded)
    return stage if stage in STAGES else None


CLOSED = ("won", "lost")
COOLDOWN = timedelta(hours=24)
SIMILARITY = 88  # rapidfuzz ratio on name keys, 0–100
MIN_SIMILAR_KEY = 4
LIST_LIMIT = 40
MAX_REASON = 400  # ownership_event.reason, lead.lost_reason


# ----------------------------------------------------------------- lookups


@dataclass(frozen=True)
class LeadInfo:
    """A lead with the names a reply needs."""

    lead: Lead
    department: Department | None

    @property
    def department_name(self) -> str | None:
        return self.department.name if self.department else None


def info(session: Session, lead: Lead) -> LeadInfo:
    department = session.get(Department, lead.department_id) if lead.department_id else None
    return LeadInfo(lead=lead, department=department)


def snapshot(session: Session, lead: Lead) -> LeadInfo:
    """The lead as it is now, unaffected by later changes (for "moved from …" replies)."""
    return info(session, Lead(**lead.model_dump()))


#: Keys and domains are compared against a fixed number of parameters, so the statement's SQL
#: never changes (an expanding IN is re-rendered on every run); more run in further batches.
_KEYS_PER_QUERY, _DOMAINS_PER_QUERY = 8, 2
_BY_KEYS = or_(
    col(Lead.name_key).in_([bindparam(f"k{i}") for i in range(_KEYS_PER_QUERY)]),
    col(Lead.domain).in_([bindparam(f"d{i}") for i in range(_DOMAINS_PER_QUERY)]),
)
# Built once: constructing a statement costs more than running it on the hot path.
_LEADS_BY_KEYS = (
    select(Lead, Department)
    .outerjoin(Department, col(Lead.department_id) == col(Department.id))
    .where(_BY_KEYS)
)
#: A lead as a plain row, with what replies and renewals need of its department.
_LEAD_ROW = select(
    *Lead.__table__.columns,
    col(Department.name).label("department_name"),
    col(Department.claim_days).label("department_claim_days"),
).outerjoin(Department, col(Lead.department_id) == col(Department.id))
#: The same leads as :data:`_LEADS_BY_KEYS`, as rows (``/lead who``, ``/log``).
_LEAD_ROWS_BY_KEYS = Prepared(_LEAD_ROW.where(_BY_KEYS))
_LEAD_ROW_BY_ID = Prepared(_LEAD_ROW.where(col(Lead.id) == bindparam("lead_id")))


def _batches(keys: set[str], domains: set[str]) -> Iterator[dict[str, str | None]]:
    """Parameters for :data:`_BY_KEYS`, unused places NULL (which matches nothing)."""
    keys_left, domains_left = sorted(keys), sorted(domains)
    while keys_left or domains_left:
        params: dict[str, str | None] = {}
        for i in range(_KEYS_PER_QUERY):
            params[f"k{i}"] = keys_left.pop() if keys_left else None
        for i in range(_DOMAINS_PER_QUERY):
            params[f"d{i}"] = domains_left.pop() if domains_left else None
        yield params


def _with_departments(session: Session, keys: set[str], domains: set[str]) -> list[Lead]:
    """Leads having one of the name ``keys`` or ``domains``, with their departments."""
    rows = [
        row
        for params in _batches(keys, domains)
        for row in session.exec(_LEADS_BY_KEYS, params=params)
    ]
    # The session's identity map holds objects weakly: keep the departments for info().
    session.info.setdefault("departments", []).extend(d for _lead, d in rows if d is not None)
    return [lead for lead, _department in rows]


def _rows(session: Session, keys: set[str], domains: set[str]) -> list[Any]:
    """The same leads as plain rows, each with its ``department_name``."""
    connection = session.connection()
    return [
        row
        for params in _batches(keys, domains)
        for row in _LEAD_ROWS_BY_KEYS.rows(connection, **params)
    ]


def row_by_id(session: Session, lead_id: int) -> Any | None:
    """The lead ``lead_id`` as a row (see :data:`_LEAD_ROW`), or None."""
    return _LEAD_ROW_BY_ID.first(session.connection(), lead_id=lead_id)


def row_by_keys(session: Session, company: Company) -> Any | None:
    """Like :func:`by_keys`, as a row."""
    domains = {company.domain} if company.domain else set()
    return _pick(_rows(session, {company.key}, domains), company)


def lookup_row(session: Session, words: list[str]) -> tuple[Any, list[str]] | None:
    """Like :func:`lookup` without an owner's domain to keep, as a row."""
    found = _longest_run(session, words, _rows)
    return None if found is None else (found[0], words[found[1] :])


def _pick(leads: list[Lead], company: Company) -> Lead | None:
    """The lead ``company`` names among ``leads``: name and domain may point at two leads,
    and the owned one is the one that blocks."""
    matching = [
        lead
        for lead in leads
        if lead.name_key == company.key or (company.domain and lead.domain == company.domain)
    ]
    matching.sort(key=lambda lead: (lead.owner_id is None, lead.name_key != company.key))
    return matching[0] if matching else None


def by_keys(session: Session, company: Company) -> Lead | None:
    """The lead with either key of ``company``; its department comes in the same query."""
    domains = {company.domain} if company.domain else set()
    return _pick(_with_departments(session, {company.key}, domains), company)


MAIL_PROVIDER_PREFIX = "free_mail:"


def mail_providers(session: Session) -> frozenset[str]:
    """The mail providers' domains the setup file added (``free_mail_domains``), kept as
    ``setting`` rows ``free_mail:<domain>``; see :func:`bot.services.names.is_mail_provider`."""
    keys = session.exec(
        select(Setting.key).where(col(Setting.key).startswith(MAIL_PROVIDER_PREFIX))
    ).all()
    return frozenset(key.removeprefix(MAIL_PROVIDER_PREFIX) for key in keys)


def _keyable(session: Session | None, company: Company) -> Company:
    """``company`` without a domain that the setup file names as a mail provider's."""
    if session is None or company.domain is None:
        return company
    return company.without_mail_domain(mail_providers(session))


def company_of(
    words: list[str], *, block: str | None = None, session: Session | None = None
) -> Company:
    """The company a new lead is made from: refused when nothing usable was given, or when its
    name or its key is longer than the columns that keep them. With ``session``, a domain the
    setup file names as a mail provider's is dropped too (the built-in list always is)."""
    company = split_company(words)
    if company is None:
        given = " ".join(words)
        # Letters or digits that fold away entirely: only legal forms or mentions ("Ltd").
        template = "lead.no_name_left" if any(c.isalnum() for c in given) else "lead.bad_company"
        raise InvalidInput(template, given=given, block=block)
    company = _keyable(session, company)
    longest = max(len(company.name), len(company.key))
    if longest > MAX_NAME:
        raise InvalidInput("lead.name_too_long", limit=MAX_NAME, length=longest, block=block)
    return company


def lookup(
    session: Session, words: list[str], *, actor: str | None = None
) -> tuple[Lead, list[str]] | None:
    """The lead named by the longest leading run of ``words`` and the words after it; None
    when no leading run names a known lead.

    ``/lead lost Acme Corp went with a competitor`` finds "Acme Corp" and leaves the reason;
    a trailing domain (``Acme acme.com``) is used too, and given by the owner (``actor``) to a
    lead that has none, it is kept.
    """
    found = _longest_run(session, words, _with_departments)
    if found is None:
        return None
    lead, end = found
    if actor is not None and _gain_domain(session, lead, actor, words[:end]):
        session.commit()
    return lead, words[end:]


def _longest_run(
    session: Session, words: list[str], load: Callable[[Session, set[str], set[str]], list[Any]]
) -> tuple[Any, int] | None:
    """The lead (as ``load`` reads it) named by the longest leading run of ``words``, and
    where that run ends; all runs are looked up at once."""
    prefixes = [(end, split_company(words[:end])) for end in range(len(words), 0, -1)]
    named = [(end, company) for end, company in prefixes if company is not None]
    keys = {company.key for _end, company in named}
    domains = {company.domain for _end, company in named if company.domain}
    found = load(session, keys, domains) if named else []
    for end, company in named:
        lead = _pick(found, company)
        if lead is not None:
            return lead, end
    return None


def find(session: Session, words: list[str], *, actor: str | None = None) -> tuple[Lead, list[str]]:
    """Like :func:`lookup`, but a lead that is not found is an error naming similar leads."""
    _require_words(words)
    found = lookup(session, words, actor=actor)
    if found is None:
        raise _not_found(session, words)
    return found


def find_whole(session: Session, words: list[str], *, actor: str | None = None) -> Lead:
    """Like :func:`find`, for commands that take nothing after the name (``history``, ``won``,
    ``stage``): words left over are an error naming the lead that was found."""
    lead, rest = find(session, words, actor=actor)
    _require_whole(words, rest, lead.name)
    return lead


def _require_words(words: list[str]) -> None:
    if not words:
        raise InvalidInput("lead.bad_company", given="")


def _require_whole(words: list[str], rest: list[str], found: str) -> None:
    if rest:
        raise NotFound("lead.not_found", name=" ".join(words), suggestions=[found])


def _not_found(session: Session, words: list[str]) -> NotFound:
    given = " ".join(words)
    suggestions = [lead.name for lead in similar(session, name_key(given), owned_only=False)]
    return NotFound("lead.not_found", name=given, suggestions=suggestions)


@dataclass(frozen=True)
class LeadView:
    """A lead as a reply that only reads shows it: its columns and its department's name."""

    lead: Any
    department_name: str | None


def view(session: Session, words: list[str], *, actor: str) -> LeadView:
    """The lead named by all of ``words``, read as a plain row (``/lead who``).

    The same rules as :func:`find_whole`, without loading ORM objects. When the owner names a
    domain the lead lacks, the lead is read through :func:`find`, which keeps the domain.
    """
    _require_words(words)
    found = lookup_row(session, words)
    if found is None:
        raise _not_found(session, words)
    row, rest = found
    _require_whole(words, rest, row.name)
    if row.owner_id == actor and not row.domain and _domain_of(words):
        lead, _rest = find(session, words, actor=actor)
        return LeadView(lead=lead, department_name=row.department_name)
    return LeadView(lead=row, department_name=row.department_name)


def _domain_of(words: list[str], session: Session | None = None) -> str | None:
    company = split_company(words)
    return _keyable(session, company).domain if company else None


def _gain_domain(session: Session, lead: Lead, actor: str, words: list[str]) -> bool:
    """A lead claimed without a domain gains the one its owner later gives (caller commits);
    never a mail provider's."""
    domain = _domain_of(words, session)
    if lead.domain or lead.owner_id != actor or not domain:
        return False
    taken = session.exec(select(Lead.id).where(Lead.domain == domain)).first()
    if taken is not None:
        return False
    lead.domain = domain
    session.add(lead)
    return True


# ----------------------------------------------------------- near-duplicates


class _KeyIndex:
    """Every lead's name key in memory, in blocks for fuzzy matching.

    Keys never change once written, so the index only appends rows with an id above the last
    one it saw: one indexed query per lookup. A key is compared by its look-alike
    :func:`~bot.services.names.skeleton` (Cyrillic "Асmе" is "acme"), filed under two blocks,
    its first three characters and its next three, and a query is compared (rapidfuzz, in C)
    only with the keys of its own two blocks: a near-duplicate that differs both in its first
    three characters and in the three after them is not reported. That keeps a check at
    100,000 leads to about a millisecond instead of a full scan (see bench/near_duplicates.py).

    Chinese names have no spaces and are often shortened ("华为" for "华为技术有限公司"), so
    fuzzy ratios miss them: a key of two Chinese characters or more, and nothing else, is also
    found when it contains, or is contained in, a query of the same kind. Such keys are filed by
    each pair of adjacent characters (:attr:`pairs`) and by themselves (:attr:`han_keys`). Keys
    that mix in Latin letters or digits ("TCL科技", "华为3") are compared by fuzzy ratio only.
    """

    def __init__(self) -> None:
        self.blocks: dict[str, tuple[list[str], list[int]]] = {}
        #: the key of each lead whose skeleton differs from it
        self.shaped: dict[int, str] = {}
        self.pairs: dict[str, list[int]] = {}
        self.han_keys: dict[str, list[int]] = {}
        self.keys: dict[int, str] = {}
        self.last_id = 0
        self.lock = threading.Lock()

    @staticmethod
    def block_names(key: str) -> tuple[str, ...]:
        return (f"a:{key[:3]}", f"b:{key[3:6]}") if len(key) > 3 else (f"a:{key[:3]}",)

    def refresh(self, session: Session) -> None:
        rows = session.exec(
            select(Lead.id, Lead.name_key).where(Lead.id > self.last_id).order_by(Lead.id)
        ).all()
        if not rows:
            return
        with self.lock:
            for lead_id, key in rows:
                if lead_id <= self.last_id:
                    continue
                shape = key
                if not key.isascii():  # the loop runs once per lead: no calls on the way
                    shape = skeleton(key)
                    if shape != key:
                        self.shaped[lead_id] = key
                    if _CHINESE.fullmatch(key):
                        self.keys[lead_id] = key
                        self.han_keys.setdefault(key, []).append(lead_id)
                        for pair in _pairs(key):
                            self.pairs.setdefault(pair, []).append(lead_id)
                for name in self.block_names(shape):
                    shapes, ids = self.blocks.setdefault(name, ([], []))
                    shapes.append(shape)
                    ids.append(lead_id)
                self.last_id = lead_id

    def matches(self, key: str, limit: int, *, same: str | None = None) -> list[tuple[int, float]]:
        """(lead id, score) of the keys most similar to ``key``, best first; a lead whose key
        is ``same`` (default ``key``: the customer itself) is not one."""
        same = key if same is None else same
        shape = skeleton(key)
        found: dict[int, float] = {}
        for name in self.block_names(shape):
            shapes, ids = self.blocks.get(name, ((), ()))
            for match, score, i in process.extract(
                shape, shapes, scorer=fuzz.ratio, score_cutoff=SIMILARITY, limit=limit + 1
            ):
                if self.shaped.get(ids[i], match) != same:
                    found[ids[i]] = max(score, found.get(ids[i], 0))
        for lead_id, score in self._containing(key, same, limit):
            found[lead_id] = max(score, found.get(lead_id, 0))
        return sorted(found.items(), key=lambda item: -item[1])[:limit]

    def _containing(self, key: str, same: str, limit: int) -> list[tuple[int, float]]:
        """Chinese keys inside ``key`` and Chinese keys that hold it, when ``key`` is Chinese;
        scored by how much of the longer key the shorter one covers."""
        if not _is_chinese(key):
            return []
        hits: list[tuple[int, float]] = []
        for size in range(min(len(key), _MAX_CONTAINED), 1, -1):
            for start in range(len(key) - size + 1):
                part = key[start : start + size]
                if part != same:
                    hits.extend((i, 100 * size / len(key)) for i in self.han_keys.get(part, ()))
        if len(key) <= _MAX_CONTAINED:
            shortest = min((self.pairs.get(pair, []) for pair in _pairs(key)), key=len)
            holders = [(i, self.keys[i]) for i in shortest if key in self.keys[i]]
            holders = [(i, other) for i, other in holders if other != same]
            holders.sort(key=lambda item: len(item[1]))
            hits.extend((i, 100 * len(key) / len(other)) for i, other in holders[:limit])
        return hits


#: The longest Chinese key whose parts are looked up one by one.
_MAX_CONTAINED = 24
_CHINESE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0003134f]{2,}")


def _is_chinese(key: str) -> bool:
    """Two Chinese characters (CJK unified ideographs, with extensions) or more, only."""
    return not key.isascii() and _CHINESE.fullmatch(key) is not None


def _pairs(key: str) -> set[str]:
    return {key[i : i + 2] for i in range(len(key) - 1)}


_INDEXES: weakref.WeakKeyDictionary[Engine, _KeyIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def _index(session: Session) -> _KeyIndex:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _INDEXES_LOCK:
        index = _INDEXES.get(engine)
        if index is None:
            index = _INDEXES[engine] = _KeyIndex()
    index.refresh(session)
    return index


def similar(
    session: Session,
    key: str,
    *,
    name: str | None = None,
    owned_only: bool = True,
    exclude: int | None = None,
    limit=3,
) -> list[Lead]:
    """Leads whose name key is very similar to ``key`` (not equal), best first.

    Similar means: close by fuzzy ratio once look-alike letters are folded
    (:func:`~bot.services.names.skeleton`), or for Chinese names, one contained in the other.
    With the ``name`` as typed, the company behind a branch or a bracketed place
    (:func:`~bot.services.names.core_key`) is looked for too: "Acme (Beijing) Ltd" finds
    "Acme". Keys shorter than :data:`MIN_SIMILAR_KEY` are not compared, except Chinese ones of
    two characters or more (each character says as much as a short Latin word).
    """
    queries = [key]
    core = core_key(name) if name is not None else ""
    if core and core != key:
        queries.append(core)
    queries = [q for q in queries if len(q) >= MIN_SIMILAR_KEY or _is_chinese(q)]
    if not queries:
        return []
    index = _index(session)
    scores: dict[int, float] = {}
    for query in queries:
        for lead_id, score in index.matches(query, limit + 2, same=key):
            scores[lead_id] = max(score, scores.get(lead_id, 0))
    hits = sorted(scores.items(), key=lambda item: -item[1])[: limit + 2]
    ids = [lead_id for lead_id, _score in hits if lead_id != exclude]
    if not ids:
        return []
    query = select(Lead).where(col(Lead.id).in_(ids), col(Lead.deleted_at).is_(None))
    if owned_only:
        query = query.where(col(Lead.owner_id).is_not(None))
    leads = {lead.id: lead for lead in session.exec(query).all()}
    return [leads[i] for i in ids if i in leads][:limit]


# -------------------------------------------------------------- membership


_MEMBER_COLUMNS = list(Member.__table__.columns)
_DEPARTMENT_COLUMNS = list(Department.__table__.columns)
#: Read-only views of a membership: the same attributes as the tables, as plain rows.
MemberRow = namedtuple("MemberRow", [column.key for column in _MEMBER_COLUMNS])  # type: ignore[misc]
DepartmentRow = namedtuple(  # type: ignore[misc]
    "DepartmentRow", [column.key for column in _DEPARTMENT_COLUMNS]
)
_MEMBERSHIP = Prepared(
    select(
        *(column.label(f"member_{column.key}") for column in _MEMBER_COLUMNS),
        *(column.label(f"department_{column.key}") for column in _DEPARTMENT_COLUMNS),
    )
    .outerjoin(Department, col(Member.department_id) == col(Department.id))
    .where(col(Member.user_id) == bindparam("user"))
)


def _membership(session: Session, user: str) -> tuple[Any | None, Any | None]:
    """The member and their department in one read, as :data:`MemberRow` and
    :data:`DepartmentRow` (most commands check who is calling, and only read the answer)."""
    row = _MEMBERSHIP.first(session.connection(), user=user)
    if row is None:
        return None, None
    split = len(_MEMBER_COLUMNS)
    member = MemberRow._make(row[:split])
    department = DepartmentRow._make(row[split:]) if row[split] is not None else None
    return member, department


def require_department(session: Session, user: str) -> tuple[Any, Any]:
    """The caller's membership and department (read-only rows, see :func:`_membership`), or a
    refusal that says how to join."""
    member, department = _membership(session, user)
    if member is None or department is None:
        raise PermissionDenied(
            "lead.no_department",
            admins=depts.admin_ids(session),
            departments=[d.name for d in session.exec(select(Department)).all()],
        )
    return member, department


def may_manage(session: Session, user: str, lead: Lead) -> bool:
    """The lead's manager (of its department) or an admin."""
    if depts.is_admin(session, user):
        return True
    department = session.get(Department, lead.department_id) if lead.department_id else None
    return department is not None and depts.is_manager_of(session, user, department)


def _require_owner_or_manager(session: Session, user: str, lead: Lead, template: str) -> None:
    if lead.owner_id == user or may_manage(session, user, lead):
        return
    department = session.get(Department, lead.department_id) if lead.department_id else None
    raise PermissionDenied(
        template,
        lead=lead.name,
        owner=lead.owner_id,
        department=department.name if department else None,
        managers=depts.managers_of(session, department) if department else [],
        admins=depts.admin_ids(session),
    )


# ------------------------------------------------------------------- claim


@dataclass(frozen=True)
class Claimed:
    lead: Lead
    department: Department
    similar: list[LeadInfo]
    from_pool: bool
    #: A mail provider's domain that was given but not kept as a key (``Shop gmail.com``).
    mail_domain: str | None = None
    #: The territory department the claim is outside of (``territory_policy = "warn"``).
    out_of_territory: Department | None = None

    def reply(self) -> dict[str, Any]:
        """What the ``lead.claimed`` reply shows, the same for a command and a Claim button."""
        outside = self.out_of_territory
        return {
            "lead": self.lead,
            "department": self.department,
            "similar": self.similar,
            "from_pool": self.from_pool,
            "mail_domain": self.mail_domain,
            "territory": outside.name if outside is not None else None,
        }


def expiry(claim_days: int, since: datetime) -> datetime:
    """When a claim made or renewed at ``since`` ends, in a department of ``claim_days``."""
    return since + timedelta(days=claim_days)


def event(lead: Lead, action: str, actor: str | None, now: datetime, **fields) -> OwnershipEvent:
    """The audit line of one change of ``lead`` (``/lead history``), for the caller to add in
    the transaction that makes the change; other services (merging, attributes) use it too."""
    return OwnershipEvent(lead_id=lead.id, action=action, actor_id=actor, at=now, **fields)


def check_limit(session: Session, user: str, department: Department) -> None:
    limit = department.max_leads_per_rep
    if not limit:
        return
    held = session.exec(
        select(func.count())
        .select_from(Lead)
        .where(Lead.owner_id == user, col(Lead.stage).not_in(CLOSED))
    ).one()
    if held >= limit:
        raise Conflict("lead.limit_reached", limit=limit, department=department.name)


def _cooldown_until(session: Session, lead: Lead, user: str, now: datetime) -> datetime | None:
    expired = session.exec(
        select(OwnershipEvent.at)
        .where(
            OwnershipEvent.lead_id == lead.id,
            OwnershipEvent.action == "expire",
            OwnershipEvent.from_owner == user,
            OwnershipEvent.at > now - COOLDOWN,
        )
        .order_by(col(OwnershipEvent.at).desc())
    ).first()
    return expired + COOLDOWN if expired else None


def _refuse_owned(session: Session, lead: Lead, user: str, department: Department, now) -> None:
    """Record the refused claim (weekly digests count them) and raise the conflict."""
    session.add(
        ClaimConflict(
            lead_id=lead.id,
            user_id=user,
            department_id=department.id,
            owner_department_id=lead.department_id,
            at=now,
        )
    )
    session.commit()
    owner = info(session, lead)
    # What the caller can do about it: a teammate may still /log the contact (the lead stays
    # the owner's); anyone may ask the owner; the owner's manager or an admin moves it with
    # the exact /lead transfer command (the caller's id works where a mention is typed).
    raise Conflict(
        "lead.owned",
        lead=lead.name,
        owner=lead.owner_id,
        department=owner.department_name,
        since=lead.claimed_at,
        caller=user,
        same_department=lead.department_id == department.id,
        may_transfer=may_manage(session, user, lead),
        managers=depts.managers_of(session, owner.department) if owner.department else [],
        admins=depts.admin_ids(session),
    )


#: ``ownership_event.reason`` of a claim made outside its territory (warn policy); the
#: department's name follows. The agenda counts these.
OUT_OF_TERRITORY = "out_of_territory:"


def _check_territory(
    session: Session, actor: str, department: Any, customer: Any, name: str
) -> Department | None:
    """The territory rule of a claim (DESIGN §7), checked inside the claim's transaction: the
    claimant's member row (and an existing lead's row) is locked. None when the claimant's
    department is the territory's or the territory is open; the territory department when the
    claim is outside it under ``warn``; under ``strict`` a refusal naming that department, its
    managers and how to ask them."""
    territory = territories.territory_department(session, customer)
    if territory is None or territory.id == department.id:
        return None
    if territories.policy(session) == "warn":
        return territory
    session.rollback()
    raise Conflict(
        "lead.out_of_territory",
        lead=name,
        territory=territory.name,
        managers=depts.managers_of(session, territory),
        admins=depts.admin_ids(session),
        caller=actor,
    )


def _territory_reason(territory: Department | None) -> str | None:
    return None if territory is None else (OUT_OF_TERRITORY + territory.name)[:MAX_REASON]


def claim(
    session: Session,
    *,
    actor: str,
    words: list[str],
    now: datetime,
    company: Company | None = None,
    before_commit: Callable[[Session, Lead], None] | None = None,
) -> Claimed:
    """Claim the customer named by ``words`` for the caller and the caller's department.

    ``company``: the customer already read from ``words``. ``before_commit``: called with a
    lead this claim creates, just before its transaction commits, to write more in that
    transaction (the Add button of ``/log`` writes its activity); it is not called when the
    customer existed, which is claimed as a lead of the pool is."""
    company = company or company_of(words, session=session)
    department = locked_claimant(session, actor)
    lead = by_keys(session, company)
    if lead is None:
        outside = _check_territory(
            session,
            actor,
            department,
            territories.Attributes(name_key=company.key, domain=company.domain),
            company.name,
        )
        check_limit(session, actor, department)
        lead = Lead(
            name=company.name,
            name_key=company.key,
            domain=company.domain,
            owner_id=actor,
            department_id=department.id,
            stage="new",
            claimed_at=now,
            stage_changed_at=now,
            expires_at=expiry(department.claim_days, now),
            created_at=now,
            updated_at=now,
        )
        session.add(lead)
        try:
            session.flush()
        except IntegrityError:
            # Another claim of the same customer committed first: that one won.
            session.rollback()
            department = locked_claimant(session, actor)
            lead = by_keys(session, company)
            if lead is None:
                raise
            done = _claim_existing(session, lead, actor, department, words, now)
            return replace(done, mail_domain=company.mail_domain)
        session.add(
            event(
                lead,
                "claim",
                actor,
                now,
                to_owner=actor,
                to_department_id=department.id,
                reason=_territory_reason(outside),
            )
        )
        if before_commit is not None:
            before_commit(session, lead)
        session.commit()
        near = [
            info(session, other)
            for other in similar(session, company.key, name=company.name, exclude=lead.id)
        ]
        return Claimed(
            lead=lead,
            department=department,
            similar=near,
            from_pool=False,
            mail_domain=company.mail_domain,
            out_of_territory=outside,
        )
    done = _claim_existing(session, lead, actor, department, words, now)
    return replace(done, mail_domain=company.mail_domain)


def locked_claimant(session: Session, actor: str) -> Any:
    """The claimant's department, read inside a lock of their member row (refused, with
    nothing written, when they are in none): a rep's claims run one at a time."""
    require_department(session, actor)
    lock_member(session, actor)
    return require_department(session, actor)[1]


def _locked(session: Session, lead: Lead) -> Lead:
    """``lead`` locked and as committed now (see :mod:`bot.store.locks`)."""
    fresh = lock_lead(session, lead.id)
    if fresh is None:
        session.rollback()
        raise NotFound("lead.not_found", name=lead.name, suggestions=[])
    return fresh


def _claim_existing(
    session: Session,
    lead: Lead,
    actor: str,
    department: Department,
    words: list[str],
    now: datetime,
) -> Claimed:
    """Claim a lead that exists, inside the claimant's member lock: the lead is locked too and
    every rule checked on it as committed now."""
    lead = _locked(session, lead)
    if lead.deleted_at is not None:  # retired meanwhile
        session.rollback()
        raise NotFound("lead.not_found", name=lead.name, suggestions=[])
    if lead.owner_id == actor:
        _gain_domain(session, lead, actor, words)
        session.commit()
        raise Conflict(
            "lead.already_yours",
            lead=lead.name,
            department=department.name,
            expires=lead.expires_at,
        )
    if lead.owner_id is not None:
        _refuse_owned(session, lead, actor, department, now)
    until = _cooldown_until(session, lead, actor, now)
    if until is not None:
        raise Conflict("lead.cooldown", lead=lead.name, until=until)
    hold = offers.check_claim(session, lead, actor)
    outside = _check_territory(session, actor, department, lead, lead.name)
    check_limit(session, actor, department)
    if not take(session, lead, actor, department, now, reason=_territory_reason(outside)):
        session.rollback()
        session.refresh(lead)
        _refuse_owned(session, lead, actor, department, now)
    offers.after_claim(session, hold, actor, now)
    session.commit()
    session.refresh(lead)
    return Claimed(
        lead=lead, department=department, similar=[], from_pool=True, out_of_territory=outside
    )


def take(
    session: Session,
    lead: Lead,
    owner: str,
    department: Department,
    now: datetime,
    *,
    actor: str | None = None,
    action: str = "claim",
    reason: str | None = None,
) -> bool:
    """Make ``owner`` (of ``department``) the owner of a lead in the pool, with one
    conditional UPDATE (``WHERE owner_id IS NULL``) and its audit line: a claim, an accepted
    offer (``accept``) or a manager's assignment (``assign``). False when someone else took it
    first. Inside the caller's locks of the owner's member row and the lead; the caller
    commits. A closed deal taken again starts over as new."""
    stage = "new" if lead.stage in CLOSED else lead.stage
    won = session.execute(
        update(Lead)
        .where(col(Lead.id) == lead.id, col(Lead.owner_id).is_(None))
        .values(
            owner_id=owner,
            department_id=department.id,
            stage=stage,
            amount_cents=None if lead.stage in CLOSED else lead.amount_cents,
            lost_reason=None,
            claimed_at=now,
            stage_changed_at=now if stage != lead.stage else lead.stage_changed_at,
            last_activity_at=None,
            expires_at=expiry(department.claim_days, now),
            warned_at=None,
            updated_at=now,
        )
    )
    if won.rowcount != 1:
        return False
    session.add(
        event(
            lead,
            action,
            actor or owner,
            now,
            to_owner=owner,
            to_department_id=department.id,
            from_stage=lead.stage if stage != lead.stage else None,
            to_stage=stage if stage != lead.stage else None,
            reason=reason,
        )
    )
    return True


def claim_by_id(session: Session, *, actor: str, lead_id: int, now: datetime) -> Claimed:
    """The Claim button of ``/lead pool`` and of reminders."""
    lead = session.get(Lead, lead_id)
    if lead is None or lead.deleted_at is not None:  # merged or deleted since the button
        raise NotFound("lead.not_found", name=lead.name if lead else str(lead_id), suggestions=[])
    department = locked_claimant(session, actor)
    return _claim_existing(session, lead, actor, department, [lead.name], now)


# --------------------------------------------------------- release, transfer


def _to_pool(lead: Lead, now: datetime) -> None:
    lead.owner_id = None
    lead.department_id = None
    lead.expires_at = None
    lead.warned_at = None
    lead.updated_at = now


def release(session: Session, *, actor: str, words: list[str], now: datetime) -> LeadInfo:
    lead, _rest = find(session, words)
    lead = _locked(session, lead)
    if lead.owner_id is None:
        raise Conflict("lead.in_pool", lead=lead.name)
    _require_owner_or_manager(session, actor, lead, "lead.release_denied")
    before = snapshot(session, lead)
    session.add(
        event(
            lead,
            "release",
            actor,
            now,
            from_owner=lead.owner_id,
            from_department_id=lead.department_id,
        )
    )
    _to_pool(lead, now)
    session.add(lead)
    session.commit()
    return before


def release_by_id(session: Session, *, actor: str, lead_id: int, now: datetime) -> LeadInfo:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound("lead.not_found", name=str(lead_id), suggestions=[])
    return release(session, actor=actor, words=[lead.name], now=now)


@dataclass(frozen=True)
class Transfer:
    """A done transfer (``request`` None) or a request waiting for ``approvers``.

    ``losing_managers`` are the managers of the department a done transfer took the lead
    from, when it moved to another department (they are told); for a request across
    departments, ``from_managers`` must agree as well as the target's managers."""

    lead: LeadInfo
    previous: LeadInfo
    to_user: str
    to_department: str
    request: TransferRequest | None = None
    approvers: tuple[str, ...] = ()
    losing_managers: tuple[str, ...] = ()
    from_department: str | None = None
    from_managers: tuple[str, ...] = ()
    #: the territory department a done transfer moved the lead outside of (recorded)
    out_of_territory: str | None = None


def _outside_territory(session: Session, lead: Any, department_id: int) -> Department | None:
    """The lead's territory department when ``department_id`` is not it (None: inside or open)."""
    territory = territories.territory_department(session, lead)
    return territory if territory is not None and territory.id != department_id else None


def _move(session: Session, lead: Lead, to_user: str, actor: str, now, reason=None) -> None:
    """Move the lead (a manager's or admin's decision); a move outside the lead's territory is
    allowed on purpose and recorded as a ``territory`` event naming the territory."""
    _member, department = _target(session, to_user)
    outside = _outside_territory(session, lead, department.id)
    if outside is not None:
        session.add(event(lead, "territory", actor, now, reason=outside.name[:MAX_REASON]))
    session.add(
        event(
            lead,
            "transfer",
            actor,
            now,
            from_owner=lead.owner_id,
            to_owner=to_user,
            from_department_id=lead.department_id,
            to_department_id=department.id,
            reason=reason,
        )
    )
    lead.owner_id = to_user
    lead.department_id = department.id
    lead.claimed_at = now
    lead.expires_at = None if lead.stage == "won" else expiry(department.claim_days, now)
    lead.warned_at = None
    lead.updated_at = now
    session.add(lead)


def _managers_or_admins(session: Session, department: Any) -> tuple[str, ...]:
    return tuple(depts.managers_of(session, department)) or tuple(depts.admin_ids(session))


def _losing_managers(session: Session, previous: LeadInfo, to_department_id: int) -> tuple:
    """Managers of the department a cross-department move takes the lead from (none when the
    lead stays in its department)."""
    department = previous.department
    if department is None or department.id == to_department_id:
        return ()
    return tuple(depts.managers_of(session, department))


def transfer(
    session: Session, *, actor: str, words: list[str], to_user: str, now: datetime
) -> Transfer:
    """``/lead transfer <company> <@user>``.

    A manager of the lead's department or an admin moves it at once (the losing department's
    managers are told when it leaves their department). The owner asks instead: a request the
    target's manager approves; when the lead would leave its department, the losing
    department's manager must agree too (see :func:`decide`)."""
    lead, _rest = find(session, words)
    _target(session, to_user)  # someone salesbot does not know gets no member row
    lock_member(session, to_user)  # member first: not moved out of their department meanwhile
    lead = _locked(session, lead)
    if lead.owner_id is None:
        raise Conflict("lead.in_pool", lead=lead.name)
    if lead.owner_id == to_user:
        raise Conflict("lead.already_owner", lead=lead.name, owner=to_user)
    _member, target_department = _target(session, to_user)
    previous = snapshot(session, lead)
    if may_manage(session, actor, lead):
        outside = _outside_territory(session, lead, target_department.id)
        _move(session, lead, to_user, actor, now)
        session.commit()
        return Transfer(
            lead=info(session, lead),
            previous=previous,
            to_user=to_user,
            to_department=target_department.name,
            losing_managers=_losing_managers(session, previous, target_department.id),
            out_of_territory=outside.name if outside else None,
        )
    if lead.owner_id != actor:
        _require_owner_or_manager(session, actor, lead, "lead.transfer_denied")
    outside = _outside_territory(session, lead, target_department.id)
    if outside is not None and territories.policy(session) == "strict":
        # The owner's request would hand the lead outside its territory: refused (a manager
        # of the territory or an admin may still move it on purpose).
        session.rollback()
        raise Conflict(
            "lead.transfer_out_of_territory",
            lead=lead.name,
            to_user=to_user,
            territory=outside.name,
            managers=depts.managers_of(session, outside),
            admins=depts.admin_ids(session),
        )
    pending = session.exec(
        select(TransferRequest).where(
            TransferRequest.lead_id == lead.id, TransferRequest.status == "pending"
        )
    ).first()
    if pending is not None and pending.from_user != lead.owner_id:
        # asked by an earlier owner: the lead has moved on since, so it is settled
        pending.status, pending.decided_at = "cancelled", now
        session.add(pending)
        session.flush()
        pending = None
    if pending is not None:
        raise Conflict("lead.transfer_pending", lead=lead.name, to_user=pending.to_user)
    request = TransferRequest(
        lead_id=lead.id,
        from_user=lead.owner_id,
        to_user=to_user,
        requested_by=actor,
        created_at=now,
    )
    session.add(request)
    session.commit()
    approvers = _managers_or_admins(session, target_department)
    from_managers: tuple[str, ...] = ()
    source = previous.department
    if source is not None and source.id != target_department.id:
        from_managers = _managers_or_admins(session, source)
    return Transfer(
        lead=previous,
        previous=previous,
        to_user=to_user,
        to_department=target_department.name,
        request=request,
        approvers=approvers,
        from_department=source.name if from_managers and source else None,
        from_managers=from_managers,
    )


def _target(session: Session, user: str) -> tuple[Any, Any]:
    """The member a lead moves to: they must be in a department."""
    member, department = _membership(session, user)
    if member is None or department is None:
        raise InvalidInput("lead.target_not_member", user=user)
    return member, department


@dataclass(frozen=True)
class Decision:
    """A decision on a request. ``waiting_on`` is not empty when the request is still pending:
    one side of a cross-department move agreed and the other side's managers must too."""

    request: TransferRequest
    lead: LeadInfo
    previous: LeadInfo
    waiting_on: tuple[str, ...] = ()
    losing_managers: tuple[str, ...] = ()


def _sides(session: Session, user: str | None, source: Any, target: Any) -> set[str]:
    """The sides of a transfer ``user`` may agree for: ``from`` (a manager of the lead's
    department), ``to`` (a manager of the target's department); an admin for both."""
    if not user:
        return set()
    if depts.is_admin(session, user):
        return {"from", "to"}
    sides = set()
    if source is not None and depts.is_manager_of(session, user, source):
        sides.add("from")
    if depts.is_manager_of(session, user, target):
        sides.add("to")
    return sides


def decide(
    session: Session, *, actor: str, request_id: int, approve: bool, now: datetime
) -> Decision:
    """Approve or reject a transfer request.

    Within a department, the target's manager (or an admin) decides. When the lead would move
    to another department, two sides must agree: a manager of the lead's (losing) department
    and a manager of the target's department, in either order; an admin agrees for both, and
    either side may reject alone. A first agreement leaves the request ``pending`` with
    ``decided_by``/``decided_at`` naming who agreed (the side is the one that person manages);
    the second one moves the lead. Each click is one transaction: the lead is locked, the
    request re-read, and the request row changes with a conditional UPDATE on the status and
    ``decided_by`` it was read with, so two clicks at once never both count."""
    request = session.get(TransferRequest, request_id)
    if request is None:
        raise NotFound("lead.request_not_found")
    lock_member(session, request.to_user)  # member first, as in transfer()
    lead = lock_lead(session, request.lead_id)
    if lead is None:
        raise NotFound("lead.request_not_found")
    # Read again inside the lead's lock: a second approver waits here, then sees the decision.
    session.refresh(request)
    if request.status != "pending":  # settled: whoever clicks learns by whom
        raise Conflict(
            "lead.request_decided", lead=lead.name, status=request.status, by=request.decided_by
        )
    _member, target_department = _target(session, request.to_user)
    source = session.get(Department, lead.department_id) if lead.department_id else None
    cross = source is not None and source.id != target_department.id
    needed = {"from", "to"} if cross else {"to"}
    mine = _sides(session, actor, source, target_department) & needed
    if not mine:
        managers = depts.managers_of(session, target_department)
        names = [target_department.name]
        if cross and source is not None:
            managers = [*depts.managers_of(session, source), *managers]
            names = [source.name, *names]
        raise PermissionDenied(
            "lead.decide_denied",
            departments=names,
            managers=managers,
            admins=depts.admin_ids(session),
        )
    previous = snapshot(session, lead)
    seen_by = request.decided_by
    agreed = _sides(session, seen_by, source, target_department) & needed if approve else set()
    waiting: tuple[str, ...] = ()
    losing: tuple[str, ...] = ()
    if lead.owner_id != request.from_user:
        status = "cancelled"
    elif not approve:
        status = "rejected"
    elif agreed | mine >= needed:
        if cross and source is not None:
            losing = tuple(depts.managers_of(session, source))
        _move(session, lead, request.to_user, actor, now, reason="request")
        status = "approved"
    else:
        status = "pending"
        missing = source if "from" not in agreed | mine else target_department
        waiting = _managers_or_admins(session, missing)
    changed = session.execute(
        update(TransferRequest)
        .where(
            col(TransferRequest.id) == request.id,
            col(TransferRequest.status) == "pending",
            col(TransferRequest.decided_by).is_(None)
            if seen_by is None
            else col(TransferRequest.decided_by) == seen_by,
        )
        .values(status=status, decided_by=actor, decided_at=now)
    ).rowcount
    if changed != 1:
        session.rollback()
        raise Conflict("lead.request_decided", lead=lead.name, status="decided", by=None)
    session.commit()
    session.refresh(request)
    return Decision(
        request=request,
        lead=info(session, lead),
        previous=previous,
        waiting_on=waiting,
        losing_managers=losing,
    )


@dataclass(frozen=True)
class PendingTransfer:
    """A transfer request still waiting, as one person's Home tab shows it."""

    request_id: int
    lead: str
    from_user: str
    to_user: str
    requested_by: str
    to_department: str
    #: who still has to approve (the missing side's managers, or admins when it has none)
    waiting_on: tuple[str, ...]


@dataclass(frozen=True)
class PendingTransfers:
    to_decide: list[PendingTransfer]
    asked: list[PendingTransfer]


HOME_TRANSFERS = 10


def pending_transfers_for(session: Session, user: str) -> PendingTransfers:
    """The requests ``user`` can still approve (a side they manage has not agreed yet; all of
    them for an admin) and the ones ``user`` asked for, each naming who it waits on. Only
    requests still pending whose lead still belongs to the rep who asked: anything else is
    settled. Two bounded queries, whatever the number of old requests."""
    member, department = _membership(session, user)
    admin = bool(member and member.is_admin)
    manager = bool(member and member.role == "manager" and department is not None)
    still = (
        TransferRequest.status == "pending",
        col(Lead.owner_id) == col(TransferRequest.from_user),
    )
    base = (
        select(TransferRequest, Lead.name, Lead.department_id, Member.department_id)
        .join(Lead, col(Lead.id) == col(TransferRequest.lead_id))
        .join(Member, col(Member.user_id) == col(TransferRequest.to_user))
        .where(*still)
        .order_by(col(TransferRequest.created_at), col(TransferRequest.id))
    )
    rows: list[Any] = []
    if admin or manager:
        scope = base
        if not admin:
            scope = base.where(
                or_(
                    col(Member.department_id) == department.id,
                    col(Lead.department_id) == department.id,
                )
            )
        rows = list(session.exec(scope.limit(HOME_TRANSFERS * 2)).all())
    asked = list(
        session.exec(
            base.where(col(TransferRequest.requested_by) == user).limit(HOME_TRANSFERS)
        ).all()
    )
    departments: dict[int, Any] = {}

    def dept(department_id: int | None) -> Any:
        if department_id is None:
            return None
        if department_id not in departments:
            departments[department_id] = session.get(Department, department_id)
        return departments[department_id]

    def line(row: Any) -> tuple[PendingTransfer, set[str]]:
        request, name, source_id, target_id = row
        source, target = dept(source_id), dept(target_id)
        needed = {"from", "to"} if source_id != target_id else {"to"}
        agreed = _sides(session, request.decided_by, source, target) & needed
        missing = needed - agreed
        waiting = _managers_or_admins(session, target if "to" in missing else source)
        mine = _sides(session, user, source, target) & missing
        return (
            PendingTransfer(
                request.id,
                name,
                request.from_user,
                request.to_user,
                request.requested_by,
                target.name if target else "",
                waiting,
            ),
            mine,
        )

    to_decide = [found for found, mine in map(line, rows) if mine][:HOME_TRANSFERS]
    return PendingTransfers(to_decide=to_decide, asked=[line(row)[0] for row in asked])


# ------------------------------------------------------------------ stages


@dataclass(frozen=True)
class StageChange:
    lead: LeadInfo
    from_stage: str
    to_stage: str
    #: the amount of the win this change undid (a won lead moved back to an open stage)
    won_cents: int | None = None
    #: outbox rows to send now (the handoff's "Write handoff note" DM, a withdrawn offer)
    posts: tuple[int, ...] = ()


def set_stage(
    session: Session,
    *,
    actor: str,
    lead: Lead,
    stage: str,
    amount_cents: int | None = None,
    reason: str | None = None,
    now: datetime,
) -> StageChange:
    if stage not in STAGES:
        raise InvalidInput("lead.bad_stage", given=stage, stages=STAGES)
    lead = _locked(session, lead)
    if lead.owner_id is None:
        raise Conflict("lead.in_pool", lead=lead.name)
    _require_owner_or_manager(session, actor, lead, "lead.stage_denied")
    if stage == "won" and amount_cents is None:
        raise InvalidInput("lead.won_needs_amount", lead=lead.name)
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInput("lead.reason_too_long", limit=MAX_REASON, length=len(reason))
    before = lead.stage
    won_cents = lead.amount_cents if before == "won" else None
    owner_info = snapshot(session, lead)
    action = stage if stage in CLOSED else "stage"
    change = event(
        lead,
        action,
        actor,
        now,
        from_stage=before,
        to_stage=stage,
        reason=reason,
        # a win records whose it was, so it stays credited to them after a handoff (§10)
        from_owner=lead.owner_id if stage in CLOSED else None,
        from_department_id=lead.department_id if stage in CLOSED else None,
    )
    session.add(change)
    lead.stage = stage
    lead.stage_changed_at = now
    lead.updated_at = now
    if amount_cents is not None:
        lead.amount_cents = amount_cents
    if stage == "won":
        lead.expires_at = None
        lead.warned_at = None
    elif stage == "lost":
        lead.lost_reason = reason
        _to_pool(lead, now)
    elif before in CLOSED:
        department = owner_info.department
        lead.expires_at = expiry(department.claim_days, now) if department else None
    session.add(lead)
    from bot.services import handoffs  # it reads leads; the win writes its handoff here

    offers.start(session)
    handoffs.after_stage(session, lead, before, stage, owner_info.lead.owner_id, now)
    posts = offers.queued(session)
    session.commit()
    return StageChange(
        lead=snapshot(session, lead) if stage != "lost" else owner_info,
        from_stage=before,
        to_stage=stage,
        won_cents=won_cents,
        posts=posts,
    )


# ------------------------------------------------------------------ listing


def owned_by(session: Session, user: str) -> list[LeadInfo]:
    """The user's leads, soonest expiry first (won leads, which never expire, last)."""
    leads = session.exec(
        select(Lead)
        .where(Lead.owner_id == user)
        .order_by(col(Lead.expires_at).is_(None), col(Lead.expires_at), col(Lead.name_key))
    ).all()
    return [info(session, lead) for lead in leads]


#: Pool leads on one page: a lead is a line and a Claim button (two blocks), so a page of 20,
#: its header and its footer stay within Slack's 50 blocks and nothing is cut.
POOL_PAGE = 20


@dataclass(frozen=True)
class Pool:
    leads: list[Lead]
    total: int
    page: int = 1
    pages: int = 1
    #: the words searched for (``/lead pool acme``), as typed
    search: str | None = None


def pool(
    session: Session, limit: int = POOL_PAGE, *, search: str | None = None, page: int = 1
) -> Pool:
    """Unowned leads, most recently changed first, ``limit`` a page.

    ``search`` keeps the leads whose name key or domain contains the search's name key (so
    "ACME Corp." finds "Acme Holdings" and acme-partner.com), or whose domain contains the
    typed text ("acme.cn"). A page past the last shows
    the last page (the reply says which page it is).
    """
    where = [col(Lead.owner_id).is_(None), col(Lead.deleted_at).is_(None)]
    if search:
        key = name_key(search)
        typed = search.strip().lower()
        where.append(
            or_(
                col(Lead.name_key).contains(key or typed, autoescape=True),
                col(Lead.domain).contains(key or typed, autoescape=True),
                col(Lead.domain).contains(typed, autoescape=True),
            )
        )
    total = session.exec(select(func.count()).select_from(Lead).where(*where)).one()
    pages = max(1, -(-total // limit))
    page = min(max(1, page), pages)
    leads = session.exec(
        select(Lead)
        .where(*where)
        .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return Pool(leads=list(leads), total=total, page=page, pages=pages, search=search)


@dataclass(frozen=True)
class LeadList:
    """``/lead list``: the first ``LIST_LIMIT`` leads of a department or a person, and how
    many there are in all (the reply says "and N more")."""

    department: str | None
    user: str | None
    stage: str | None
    items: list[LeadInfo]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.items))


def list_leads(
    session: Session, *, actor: str, user: str | None, words: list[str], limit: int = LIST_LIMIT
) -> LeadList:
    """``/lead list [@user|department] [stage]``, for managers and admins.

    Without a person or a department, the caller's own department (an admin in none sees
    every owned lead). Managers may list any department or person: ownership is public
    (``/lead who`` answers anyone), and a manager often checks a colleague's department
    before a transfer. Leads come soonest expiry first, won ones (which never expire) last;
    lost leads are back in the pool, so they are not anyone's (``/lead pool``)."""
    member, own = _membership(session, actor)
    admin = bool(member and member.is_admin)
    if not admin and not (member and member.role == "manager"):
        raise PermissionDenied(
            "lead.list_denied",
            managers=depts.managers_of(session, own) if own is not None else [],
            admins=depts.admin_ids(session),
        )
    stage = None
    if words and words[-1].lower() in STAGES:
        stage, words = words[-1].lower(), words[:-1]
    department = None
    if user is None and words:
        department = depts.find_department(session, " ".join(words))
    elif user is None and own is not None:
        department = session.get(Department, own.id)
    scope = [col(Lead.owner_id).is_not(None)]
    if user is not None:
        scope.append(col(Lead.owner_id) == user)
    if department is not None:
        scope.append(col(Lead.department_id) == department.id)
    if stage is not None:
        scope.append(col(Lead.stage) == stage)
    leads = session.exec(
        select(Lead)
        .where(*scope)
        .order_by(col(Lead.expires_at).is_(None), col(Lead.expires_at), col(Lead.name_key))
        .limit(limit)
    ).all()
    total = session.exec(select(func.count()).select_from(Lead).where(*scope)).one()
    return LeadList(
        department=department.name if department is not None else None,
        user=user,
        stage=stage,
        items=[info(session, lead) for lead in leads],
        total=int(total),
    )


@dataclass(frozen=True)
class HistoryLine:
    event: OwnershipEvent
    from_department: str | None
    to_department: str | None


def history(session: Session, lead: Lead) -> list[HistoryLine]:
    events = session.exec(
        select(OwnershipEvent)
        .where(OwnershipEvent.lead_id == lead.id)
        .order_by(col(OwnershipEvent.id))  # commit order (see bot.store.locks)
    ).all()
    names = {d.id: d.name for d in session.exec(select(Department)).all()}
    return [
        HistoryLine(
            event=event,
            from_department=names.get(event.from_department_id),
            to_department=names.get(event.to_department_id),
        )
        for event in events
    ]


_LEADS = Lead.__table__
_RENEW_ACTIVITY = (
    update(_LEADS)
    .where(_LEADS.c.id == bindparam("lead_id"), _LEADS.c.owner_id == bindparam("owner"))
    .values(last_activity_at=bindparam("at"), updated_at=bindparam("at"))
)
#: A renewal by the owner's activity; of an open claim (not won meanwhile), its protection too.
_RENEW = PreparedWrite(_RENEW_ACTIVITY.where(_LEADS.c.stage == bindparam("stage")))
_RENEW_CLAIM = PreparedWrite(
    _RENEW_ACTIVITY.where(_LEADS.c.stage != "won").values(
        expires_at=bindparam("until"), warned_at=None
    )
)


#: Anyone's activity on a lead sets its last-activity time (never moves it back).
_TOUCH = PreparedWrite(
    update(_LEADS)
    .where(
        _LEADS.c.id == bindparam("lead_id"),
        or_(_LEADS.c.last_activity_at.is_(None), _LEADS.c.last_activity_at < bindparam("at")),
    )
    .values(last_activity_at=bindparam("at"))
)


def renew(session: Session, lead: Any, user: str, now: datetime) -> tuple[Any, bool]:
    """A logged activity by the owner restarts the protection period (caller commits); one by
    anyone else only sets the lead's last-activity time.

    ``lead`` is a row from :data:`_LEAD_ROW` (every /log runs this, and reads no ORM object);
    the answer is the same row with the values now stored, and whether it was renewed. One
    prepared ``UPDATE``, conditional on the owner and stage it read: a renewal never lands on a
    lead that changed hands or was won meanwhile.
    """
    if lead.owner_id != user:
        if _TOUCH.run(session.connection(), lead_id=lead.id, at=now) == 1:
            lead = lead._replace(last_activity_at=now)
        return lead, False
    connection, state = session.connection(), {"lead_id": lead.id, "owner": user, "at": now}
    if lead.stage == "won" or lead.department_claim_days is None:
        renewed = _RENEW.run(connection, **state, stage=lead.stage)
        return lead._replace(last_activity_at=now, updated_at=now), renewed == 1
    until = max(expiry(lead.department_claim_days, now), lead.expires_at or now)
    renewed = _RENEW_CLAIM.run(connection, **state, until=until)
    if renewed != 1:
        return lead, False
    return lead._replace(
        last_activity_at=now, updated_at=now, expires_at=until, warned_at=None
    ), True
