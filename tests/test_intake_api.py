"""``POST /api/leads`` against the real ``salesbot serve`` (DESIGN §8), and ``salesbot token``:
every answer, a reason per bad field, nothing read or used before the token is known, and no
request body in the log."""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime

from sqlmodel import func, select

from bot.services import tokens
from bot.store.db import make_engine, session_scope
from bot.store.models import ApiToken, Intake, Lead
from tests.conftest import SETUP_TOML, LiveServer, Reply, import_setup_text, run_salesbot
from tests.leads_support import db

#: A string put in every body: it must never reach the server's log.
MARKER = "zz-intake-marker-zz"


def make_token(server: LiveServer, name: str = "website") -> str:
    """A token created as ``salesbot token create`` does, in this process."""
    engine = make_engine(server.db_url)
    try:
        with session_scope(engine) as session:
            return tokens.create(session, name=name, by="ops", now=datetime.now(UTC)).token
    finally:
        engine.dispose()


def send(
    server: LiveServer,
    body: object,
    token: str | None,
    *,
    content_type: str = "application/json",
    headers: dict | None = None,
) -> Reply:
    raw = body if isinstance(body, str) else json.dumps(body)
    sent = {"Content-Type": content_type, **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return server.request("POST", "/api/leads", raw, sent)


def lead_count(server: LiveServer) -> int:
    with db(server) as session:
        return session.exec(select(func.count()).select_from(Lead)).one()


# ── tokens ───────────────────────────────────────────────────────────────────────────────────


def test_token_cli_prints_the_token_once_keeps_its_hash_and_revokes(engine, db_url) -> None:
    env = {"DATABASE_URL": db_url}
    done = run_salesbot("token", "create", "website", env=env)
    assert done.returncode == 0, done.stderr
    assert "New intake token “website” (shown only this once" in done.stdout
    [token] = [word for word in done.stdout.split() if word.startswith("sbt_")][:1]
    assert len(token) == len("sbt_") + 43

    done = run_salesbot("token", "list", env=env)
    assert done.returncode == 0, done.stderr
    assert "1 intake token:" in done.stdout
    assert "website: created 2026-11-18" in done.stdout
    assert "never used, active" in done.stdout
    assert token not in done.stdout and token[4:] not in done.stdout
    with session_scope(engine) as session:
        [row] = session.exec(select(ApiToken)).all()
        assert row.token_hash == tokens.digest(token) and token not in row.token_hash
        assert row.revoked_at is None

    done = run_salesbot("token", "create", "website", env=env)
    assert done.returncode == 2
    assert "a token named “website” exists already" in done.stderr
    assert "such as website-2" in done.stderr
    done = run_salesbot("token", "create", "our web form", env=env)
    assert done.returncode == 2
    assert "“our web form” cannot name a token" in done.stderr

    done = run_salesbot("token", "revoke", "website", env=env)
    assert done.returncode == 0, done.stderr
    assert "Intake token “website” is revoked" in done.stdout
    done = run_salesbot("token", "revoke", "website", env=env)
    assert "was already revoked on 2026-11-18" in done.stdout
    done = run_salesbot("token", "revoke", "nosuch", env=env)
    assert done.returncode == 2
    assert "there is no token named “nosuch”" in done.stderr
    done = run_salesbot("token", "list", env=env)
    assert "REVOKED 2026-11-18" in done.stdout
    with session_scope(engine) as session:
        assert tokens.verify(session, token, now=datetime.now(UTC)) is None


# ── refusals ─────────────────────────────────────────────────────────────────────────────────


def test_missing_unknown_and_revoked_tokens_are_401_and_nothing_is_used(org) -> None:
    token = make_token(org)
    body = {"company": f"Acme {MARKER}", "external_id": MARKER}
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer sbt_" + "x" * 43},
        {"Authorization": "Bearer " + token[:-1]},
        {"Authorization": token},
    ):
        raw = json.dumps(body)
        reply = org.request(
            "POST", "/api/leads", raw, {"Content-Type": "application/json", **headers}
        )
        assert reply.status == 401, headers
        assert reply.json()["error"] == "unauthorized"
        assert "Authorization: Bearer sbt_" in reply.json()["message"]
    # A big body without a valid token: 401, not 413 (nothing about the body is looked at).
    assert send(org, "x" * 100_000, "sbt_nope").status == 401

    engine = make_engine(org.db_url)
    with session_scope(engine) as session:
        tokens.revoke(session, name="website", now=datetime.now(UTC))
    engine.dispose()
    assert send(org, body, token).status == 401
    assert lead_count(org) == 0
    assert org.fake.calls_to("chat.postMessage") == []
    assert MARKER not in org.log()
    assert "refused POST /api/leads: unauthorized" in org.log()


def test_size_media_type_and_json_are_checked_after_the_token(org) -> None:
    token = make_token(org)
    big = json.dumps({"company": "Acme", "note": MARKER * 4000})
    assert len(big) > 64 * 1024
    reply = send(org, big, token)
    assert reply.status == 413
    assert reply.json()["error"] == "too_large"
    assert "larger than 65536 bytes" in reply.json()["message"]

    reply = send(org, {"company": "Acme"}, token, content_type="text/plain")
    assert (reply.status, reply.json()["error"]) == (415, "not_json")
    reply = send(org, "company=Acme", token, content_type="application/x-www-form-urlencoded")
    assert reply.status == 415
    for raw in ("{not json", "", "[" * 50_000, '{"company": "Acme"', "\xff\xfe{}"):
        reply = send(org, raw, token)
        assert (reply.status, reply.json()["error"]) == (415, "not_json"), raw[:10]
        assert "Content-Type: application/json" in reply.json()["message"]
    # JSON, but no object: 400.
    for raw in ("[]", '"Acme"', "42", "null"):
        reply = send(org, raw, token)
        assert reply.status == 400, raw
        assert reply.json()["fields"] == {}
        assert "one JSON object" in reply.json()["message"]

    # A body sent in chunks, without a length, is read up to the limit and refused the same way.
    connection = http.client.HTTPConnection("127.0.0.1", org.port, timeout=30)
    chunks = (b'{"note": "' + MARKER.encode() * 100 + b'"' for _ in range(40))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    connection.request("POST", "/api/leads", chunks, headers, encode_chunked=True)
    assert connection.getresponse().status == 413
    connection.close()

    assert org.request("GET", "/api/leads").status == 405
    assert lead_count(org) == 0
    assert MARKER not in org.log()
    assert "Traceback" not in org.log()


def test_every_bad_field_has_its_reason_at_once(org) -> None:
    token = make_token(org)
    reply = send(
        org,
        {
            "company": "",
            "domain": "not a host",
            "email": "jane@",
            "employees": True,
            "country": "XX",
            "note": "n" * 2001,
            "external_id": 12345,
            "contact_name": MARKER + "\x00",
            "phone": ["1"],
            "industry": "i" * 81,
            "source": {"name": "x"},
            "utm_campaign": MARKER,  # unknown fields are ignored
        },
        token,
    )
    assert reply.status == 400
    data = reply.json()
    assert data["error"] == "invalid"
    assert data["message"] == (
        "11 fields are not valid; nothing was created. Fix what “fields” says and send the "
        "lead again."
    )
    assert data["fields"] == {
        "company": "required: the company's name, 1–200 characters",
        "domain": "“not a host” is not a host name: send something like acme.com or "
        "https://www.acme.com",
        "email": "“jane@” is not a valid e-mail address: send something like jane@acme.com",
        "employees": "must be a whole number from 0 to 10000000, as a JSON number without "
        "quotes (such as 250)",
        "country": "“XX” is not an ISO 3166-1 alpha-2 country code: send two letters such as "
        "CN, SG or US",
        "note": "at most 2000 characters (got 2001)",
        "external_id": "must be a JSON string",
        "contact_name": "contains a control character (such as NUL) or invalid text that "
        "cannot be stored",
        "phone": "must be a JSON string",
        "industry": "at most 80 characters (got 81)",
        "source": "must be a JSON string",
    }
    assert lead_count(org) == 0
    assert MARKER not in org.log()
    assert "invalid (fields company, contact_name, country" in org.log()


def test_more_field_rules(org) -> None:
    token = make_token(org)
    cases = [
        ({"domain": "acme.com"}, "company", "required: the company's name, 1–200 characters"),
        ({"company": None}, "company", "required: the company's name, 1–200 characters"),
        ({"company": "   "}, "company", "required: the company's name, 1–200 characters"),
        ({"company": "A" * 201}, "company", "at most 200 characters (got 201)"),
        ({"company": 42}, "company", "must be a JSON string"),
        (
            {"company": "Ltd."},
            "company",
            "“Ltd.” is only a legal form or a mention: give the company's own name, such as "
            "Acme Corp",
        ),
        ({"company": "Acme\x00"}, "company", "contains a control character"),
        ({"company": "Acme \ud800"}, "company", "contains a control character"),
        ({"company": "Acme", "employees": -1}, "employees", "must be a whole number from 0"),
        ({"company": "Acme", "employees": 2.5}, "employees", "must be a whole number from 0"),
        ({"company": "Acme", "employees": "250"}, "employees", "must be a whole number from 0"),
        ({"company": "Acme", "employees": 10**7 + 1}, "employees", "must be a whole number"),
        ({"company": "Acme", "country": "CHN"}, "country", "“CHN” is not an ISO 3166-1"),
        ({"company": "Acme", "country": 86}, "country", "must be a JSON string"),
        ({"company": "Acme", "domain": "jane@acme.com"}, "domain", "is not a host name"),
        ({"company": "Acme", "domain": "co.uk"}, "domain", "is not a host name"),
        ({"company": "Acme", "email": "jane@acme"}, "email", "is not a valid e-mail address"),
        ({"company": "Acme", "external_id": "e" * 101}, "external_id", "at most 100"),
        ({"company": "Acme", "source": "s" * 81}, "source", "at most 80 characters"),
        ({"company": "Acme", "phone": "1" * 51}, "phone", "at most 50 characters"),
        ({"company": "Acme", "contact_name": "c" * 201}, "contact_name", "at most 200"),
    ]
    for body, name, reason in cases:
        reply = send(org, body, token)
        assert reply.status == 400, body
        fields = reply.json()["fields"]
        assert list(fields) == [name], (body, fields)
        assert reason in fields[name], (body, fields)
    assert lead_count(org) == 0
    with db(org) as session:  # a verified token is noted as used
        assert session.exec(select(ApiToken)).one().last_used_at is not None


def test_field_reasons_are_in_the_workspace_locale(org) -> None:
    import_setup_text(org.db_url, SETUP_TOML.replace('locale = "en"', 'locale = "zh-CN"', 1))
    token = make_token(org)
    reply = send(org, {"company": "", "employees": -3}, token)
    assert reply.status == 400
    assert reply.json()["message"].startswith("有 2 个字段无效，未创建任何内容。")
    assert reply.json()["fields"] == {
        "company": "必填：公司名称，1–200 个字符",
        "employees": "必须是 0 到 10000000 之间的整数，以不带引号的 JSON 数字发送（例如 250）",
    }


def test_intake_rows_are_unique_per_token_and_external_id(engine) -> None:
    """The database holds the rule the idempotency relies on."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    now = datetime.now(UTC)
    with session_scope(engine) as session:
        tokens.create(session, name="website", by="ops", now=now)
        [token] = session.exec(select(ApiToken)).all()
        session.add(Intake(token_id=token.id, external_id="f1", status_code=201, answer={}))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Intake(token_id=token.id, external_id="f1", status_code=201, answer={}))


# ── routed leads (DESIGN §8 answers) ─────────────────────────────────────────────────────────

ROUTED_SETUP = 'default_department = "Enterprise"\n' + SETUP_TOML


def routed_org(org: LiveServer) -> str:
    """``org`` with ``default_department = "Enterprise"``; a token named website."""
    import_setup_text(org.db_url, ROUTED_SETUP)
    return make_token(org)


def posts_to(server: LiveServer, channel: str) -> list[dict]:
    return [
        c.body for c in server.fake.calls_to("chat.postMessage") if c.body["channel"] == channel
    ]


def test_a_new_lead_is_offered_201_and_the_rep_has_the_dm_when_it_answers(org) -> None:
    token = routed_org(org)
    reply = send(
        org,
        {
            "company": "Acme Corp",
            "email": "Jane@Acme.com",
            "contact_name": "Jane Doe",
            "phone": "+1 555 0100",
            "employees": 800,
            "country": "us",
            "industry": "Finance",
            "note": f"Wants a demo {MARKER}",
            "utm_campaign": "spring",
        },
        token,
    )
    assert reply.status == 201, reply.body
    data = reply.json()
    assert set(data) == {"id", "status", "department", "offered_to"}
    assert (data["status"], data["department"]) == ("offered", "Enterprise")
    assert data["offered_to"] in ("U0REP1", "U0REP2")
    with db(org) as session:
        lead = session.get(Lead, data["id"])
        assert (lead.name, lead.domain, lead.employees, lead.country, lead.industry) == (
            "Acme Corp",
            "acme.com",
            800,
            "US",
            "Finance",
        )
        assert lead.owner_id is None  # offered, not yet accepted
    # Delivered before the answer: the offer DM names the company.
    [dm] = posts_to(org, data["offered_to"])
    assert "Acme Corp" in json.dumps(dm, ensure_ascii=False)
    assert MARKER not in org.log()

    # Two leads in a row go to the two reps.
    second = send(org, {"company": "Initech", "domain": "https://www.initech.com/about"}, token)
    assert second.status == 201
    assert {data["offered_to"], second.json()["offered_to"]} == {"U0REP1", "U0REP2"}
    with db(org) as session:
        assert session.get(Lead, second.json()["id"]).domain == "initech.com"


def test_without_a_department_the_lead_waits_in_the_pool(org) -> None:
    token = make_token(org)  # SETUP_TOML: no default_department, no territories
    reply = send(org, {"company": "Umbrella"}, token)
    assert reply.status == 201
    assert reply.json() == {
        "id": reply.json()["id"],
        "status": "pooled",
        "department": None,
        "offered_to": None,
    }


def test_a_free_mail_address_gives_no_domain(org) -> None:
    token = routed_org(org)
    first = send(org, {"company": "Small Shop", "email": "owner@gmail.com"}, token)
    second = send(org, {"company": "Other Shop", "email": "boss@GMAIL.com"}, token)
    third = send(org, {"company": "Third Shop", "domain": "qq.com"}, token)
    assert [r.status for r in (first, second, third)] == [201, 201, 201]
    with db(org) as session:
        domains = {lead.name: lead.domain for lead in session.exec(select(Lead))}
    assert domains == {"Small Shop": None, "Other Shop": None, "Third Shop": None}


def test_an_owned_customer_is_200_existing_and_the_owner_told_once_a_day(org) -> None:
    token = routed_org(org)
    org.command("/lead", "claim Globex globex.com", user="U0REP3")
    for company in ("Globex Holdings", "GLOBEX Corp."):  # same domain, then same name key
        reply = send(org, {"company": company, "email": "cfo@globex.com"}, token)
        assert reply.status == 200, reply.body
        assert reply.json() == {
            "id": reply.json()["id"],
            "status": "existing",
            "owner": "U0REP3",
            "department": "SMB",
        }
    assert lead_count(org) == 1
    [dm] = posts_to(org, "U0REP3")
    assert "website" in json.dumps(dm, ensure_ascii=False)


def test_the_same_external_id_answers_as_the_first_time_and_creates_nothing(org) -> None:
    token = routed_org(org)
    other = make_token(org, "hubspot")
    body = {"company": "Acme Corp", "external_id": "form-4711"}
    # A refused request is not remembered: the fixed one with the same external_id goes through.
    assert send(org, {**body, "employees": "many"}, token).status == 400
    first = send(org, body, token)
    assert first.status == 201
    again = send(org, {**body, "company": "Something Else"}, token)
    assert (again.status, again.json()) == (first.status, first.json())
    assert lead_count(org) == 1
    # Another token's external_id is its own.
    elsewhere = send(org, {"company": "Initech", "external_id": "form-4711"}, other)
    assert elsewhere.status == 201 and elsewhere.json()["id"] != first.json()["id"]
    with db(org) as session:
        assert session.exec(select(func.count()).select_from(Intake)).one() == 2
    assert len(org.fake.calls_to("chat.postMessage")) == 4  # two offers: DM + channel line each


def test_concurrent_duplicates_create_one_lead_and_answer_alike(org) -> None:
    from concurrent.futures import ThreadPoolExecutor

    token = routed_org(org)
    body = {"company": "Racing Co", "external_id": "race-1", "email": "a@racing.example.org"}
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: send(org, body, token), range(8)))
    answers = {(r.status, r.body) for r in replies}
    assert len(answers) == 1, answers
    [(status, _)] = answers
    assert status == 201
    with db(org) as session:
        assert session.exec(select(func.count()).select_from(Lead)).one() == 1
        assert session.exec(select(func.count()).select_from(Intake)).one() == 1
    assert "Traceback" not in org.log()
