"""Finding the lead a command names (``leads.lookup``, ``leads.view``), on both databases:
the longest leading run of words wins, by name or by domain, however many runs and domains
the words hold (they are looked up in batches of fixed size), and the ORM and row reads agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from bot.services import leads
from bot.services.errors import NotFound
from bot.services.names import name_key
from bot.store.models import Department, Lead, Member

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(engine):  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as session:
        department = Department(name="Enterprise", name_key="enterprise")
        session.add(department)
        session.flush()
        for user in ("U1", "U2"):
            session.add(Member(user_id=user, department_id=department.id, role="rep"))
        session.flush()  # an owner is a member of the lead's department (fk_lead_owner_member)
        for name, domain, owner in [
            ("Blue", None, None),
            ("Blue Harbor", "blueharbor.com", "U1"),
            ("Globex", "globex.io", "U2"),
        ]:
            session.add(
                Lead(
                    name=name,
                    name_key=name_key(name),
                    domain=domain,
                    owner_id=owner,
                    department_id=department.id if owner else None,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        session.commit()
        yield session


# Thirteen words after the name: fourteen leading runs, more than one batch of keys.
LONG_NOTE = [
    "called",
    "twice",
    "about",
    "the",
    "renewal",
    "and",
    "they",
    "asked",
    "for",
    "a",
    "new",
    "quote",
    "today",
]


@pytest.mark.parametrize(
    ("words", "name", "rest"),
    [
        (["Blue", "Harbor"], "Blue Harbor", []),
        (["Blue"], "Blue", []),
        (["Blue", "Harbor", *LONG_NOTE], "Blue Harbor", LONG_NOTE),
        (["Blue", *LONG_NOTE], "Blue", LONG_NOTE),
        # three domains among the runs: more than one batch of domains
        (["globex.io", "a.io", "b.io", "c.io"], "Globex", ["a.io", "b.io", "c.io"]),
        (["Initech", "x.io", "y.io", "blueharbor.com"], "Blue Harbor", []),
    ],
)
def test_longest_run_names_the_lead_in_both_reads(session, words, name, rest) -> None:
    found = leads.lookup(session, list(words))
    assert found is not None
    lead, left = found
    assert (lead.name, left) == (name, rest)
    if not rest:
        shown = leads.view(session, list(words), actor="U9")
        assert (shown.lead.id, shown.lead.name, shown.lead.owner_id) == (
            lead.id,
            lead.name,
            lead.owner_id,
        )
        expected = leads.info(session, lead).department_name
        assert shown.department_name == expected


def test_view_and_find_whole_refuse_extra_words_and_unknown_names(session) -> None:
    with pytest.raises(NotFound) as extra:
        leads.view(session, ["Globex", "please"], actor="U9")
    assert extra.value.data["suggestions"] == ["Globex"]
    with pytest.raises(NotFound) as extra_too:
        leads.find_whole(session, ["Globex", "please"])
    assert extra_too.value.data == extra.value.data
    assert leads.find_whole(session, ["Globex"]).name == "Globex"
    with pytest.raises(NotFound) as unknown:
        leads.view(session, ["Globexx"], actor="U9")
    assert unknown.value.data["suggestions"] == ["Globex"]
    assert leads.lookup(session, ["Initech"]) is None
