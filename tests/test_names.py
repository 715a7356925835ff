"""The customer keys of DESIGN §5: examples from the contract and properties."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.names import (
    LEGAL_SUFFIXES,
    domain_key,
    looks_like_domain,
    name_key,
    split_company,
)


@pytest.mark.parametrize(
    "name",
    [
        "ACME Corp.",
        "Acme Corporation",
        "ＡＣＭＥ 有限公司",
        "acme",
        "Acme, Inc.",
        "ACME S.A.",
        "Acme Co., Ltd.",
        "acme股份有限公司",
        " a-c-m-e  LLC ",
    ],
)
def test_contract_examples_share_the_key_acme(name):
    assert name_key(name) == "acme"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Acme Holdings", "acmeholdings"),
        ("华为技术有限公司", "华为技术"),
        ("阿里巴巴集团控股有限公司", "阿里巴巴"),
        ("Co.", ""),
        ("有限公司", ""),
        ("<!channel>", ""),
        ("<@U0REP1|ana> Ltd", ""),
        ("!!!", ""),
    ],
)
def test_other_names(name, key):
    assert name_key(name) == key


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("acme.com", "acme.com"),
        ("https://www.acme.com/x", "acme.com"),
        ("WWW.Acme.COM", "acme.com"),
        ("http://shop.acme.co.uk:8080/a?b", "acme.co.uk"),
        ("sales@acme.com", "acme.com"),
        ("acme", None),
        ("Inc.", None),
        ("1.5", None),
    ],
)
def test_domain_key(value, domain):
    assert domain_key(value) == domain


def test_split_company_takes_a_trailing_domain():
    company = split_company(["Acme", "Corp", "https://www.acme.com/x"])
    assert (company.name, company.key, company.domain) == ("Acme Corp", "acme", "acme.com")
    assert split_company(["Acme", "Co.Ltd"]).domain is None
    assert not looks_like_domain("Co.Ltd")
    assert split_company(["!!"]) is None
    assert split_company([]) is None


SUFFIXES = [*sorted(LEGAL_SUFFIXES), "有限公司", "股份有限公司", "集团"]
base = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd", "Lo")), min_size=1, max_size=20
).filter(
    lambda s: (
        name_key(s)
        == "".join(c for c in unicodedata.normalize("NFKC", s).casefold() if c.isalnum())
    )
)


@given(st.text(max_size=80))
def test_never_raises(text):
    assert isinstance(name_key(text), str)
    domain_key(text)
    split_company(text.split())


@given(base, st.sampled_from(["", " ", ".", ",", "-", "  "]), st.booleans(), st.booleans())
def test_case_width_punctuation_spacing_do_not_matter(word, sep, upper, wide):
    variant = sep.join(word) if sep.strip() == "" and sep else word
    variant = variant.upper() if upper else variant
    if wide:
        variant = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in variant)
    assert name_key(variant + sep) == name_key(word)


@given(base, st.sampled_from(SUFFIXES), st.sampled_from([" ", ", ", " ", ""]))
def test_a_legal_suffix_does_not_matter(word, suffix, sep):
    if not suffix.isascii():
        sep = ""
    elif sep == "":
        sep = " "
    assert name_key(f"{word}{sep}{suffix}") == name_key(word)


def test_found_by_property_tests() -> None:
    # dotless ı upper-cases to I, which folds to i; spaced letters are not an initialism
    assert name_key("ı") == name_key("I") == "i"
    assert name_key("0 S E") == name_key("0SE") == name_key("0.S.E.") == "0se"
    assert name_key("J.P. Morgan") == name_key("JP Morgan")
