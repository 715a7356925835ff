"""Routing benchmark: new leads through ``POST /api/leads`` until the offer DM reaches Slack.

Run from the repository root (``PYTHONPATH=.`` makes this checkout's code the one measured)::

    PYTHONPATH=. .venv/bin/python bench/routing.py [--leads 1000] [--concurrency 1,8] [--reps 10]
        [--backends sqlite,postgresql] [--postgres-url URL] [--pg-workers 3]

Everything runs on 127.0.0.1: an in-process fake Slack Web API (it records every call with the
time it arrived) and ``salesbot serve`` on SQLite in a temporary directory (one web process,
as SQLite is served), then on PostgreSQL with ``--pg-workers`` web processes (default 3): the
server named by ``--postgres-url`` (its user needs CREATEDB), else a throwaway cluster started
as the tests start one (``tests/pgcluster.py``); PostgreSQL is skipped, saying why, when
neither is possible. One department of ``--reps`` reps (no cap) is the
``default_department``, so every lead is offered to one of them.

For each backend and each concurrency level, ``--leads`` leads (each a new company, with a
contact e-mail on the company's domain) are sent by that many keep-alive clients, in rounds
alternating with as many signed ``/lead who Acme Corp`` commands (A B B A, as
``bench/http_load.py`` measures), so both see the same machine. It prints:

* p50/p99 from sending the request to the offer DM reaching the fake Slack (the DM is sent
  after the lead's transaction commits, before the answer);
* intakes a second beside ``/lead who`` a second, and what one intake costs in ``/lead who``
  (the ratio of their rates; target at most 2×);
* fairness over the reps: max − min offers per rep over the run's leads (target at most 1),
  counted from the answers' ``offered_to`` and checked against the DMs.

The whole run gives up after ``--budget`` seconds (default 900).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from http_load import (
    BOT_TOKEN,
    HOST,
    REQUEST_TIMEOUT_S,
    SIGNING_SECRET,
    BenchError,
    Deadline,
    Result,
    Signer,
    run_round,
    start_server,
    stop_server,
    venv_bin,
    wait_ready,
)
from sqlmodel import Session

from bot.devslack.fake_slack import FakeSlack
from bot.services import tokens
from bot.services.setup import import_setup
from bot.store.db import make_engine, upgrade

BENCH_DIR = Path(__file__).resolve().parent
ROUNDS = 4  # rounds per kind per concurrency level, interleaved A B B A


def setup_toml(reps: int) -> str:
    ids = [f"U0BREP{n:02d}" for n in range(reps)]
    return f"""
admins = ["U0ADMIN"]
default_department = "Inbound"

[[department]]
name = "Inbound"
channel = "C0INBOUND"
managers = ["U0BMGR"]
reps = {json.dumps(ids)}
max_leads_per_rep = 0
"""


@dataclass
class Intakes:
    """What one round of intakes gave: per lead, when it was sent and to whom it went."""

    result: Result = field(default_factory=Result)
    sent_at: dict[str, float] = field(default_factory=dict)  # company → time.time() sent
    offered_to: dict[str, str] = field(default_factory=dict)  # company → rep
    answers: Counter = field(default_factory=Counter)


def intake_round(
    port: int, token: str, companies: list[str], concurrency: int, deadline: Deadline
) -> Intakes:
    """Send one lead per company from ``concurrency`` keep-alive clients."""
    lock = threading.Lock()
    queue = list(reversed(companies))
    out = Intakes()
    barrier = threading.Barrier(concurrency + 1)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def client() -> None:
        mine = Intakes()
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.connect()
            barrier.wait()
            while deadline.left() > 0:
                with lock:
                    if not queue:
                        break
                    company = queue.pop()
                domain = company.lower().replace(" ", "-") + ".com"  # its own registrable domain
                body = json.dumps({"company": company, "email": f"buyer@{domain}"})
                mine.sent_at[company] = time.time()
                started = time.perf_counter()
                mine.result.requests += 1
                try:
                    conn.request("POST", "/api/leads", body, headers)
                    response = conn.getresponse()
                    data = response.read()
                    if response.will_close:
                        conn.close()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    mine.result.errors += 1
                    mine.answers["failed"] += 1
                    continue
                mine.answers[str(response.status)] += 1
                if response.status != 201:
                    mine.result.errors += 1
                    continue
                mine.result.latencies.append(time.perf_counter() - started)
                answer = json.loads(data)
                mine.answers[answer["status"]] += 1
                if answer.get("offered_to"):
                    mine.offered_to[company] = answer["offered_to"]
        except threading.BrokenBarrierError:
            pass
        finally:
            conn.close()
            with lock:
                out.result.add(mine.result)
                out.sent_at.update(mine.sent_at)
                out.offered_to.update(mine.offered_to)
                out.answers.update(mine.answers)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=max(min(deadline.left(), 30), 0.1))
    except threading.BrokenBarrierError as error:
        raise BenchError("client threads could not connect") from error
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(deadline.left(), 0) + REQUEST_TIMEOUT_S)
    out.result.elapsed = time.perf_counter() - started
    deadline.check(f"{concurrency} intake clients")
    return out


def dm_times(fake: FakeSlack, companies: dict[str, str]) -> dict[str, float]:
    """When the offer DM of each company reached the fake Slack: the first ``chat.postMessage``
    to the rep it was offered to that names the company."""
    wanted = dict(companies)
    found: dict[str, float] = {}
    for call in fake.calls_to("chat.postMessage"):
        channel = call.body.get("channel")
        if not isinstance(channel, str) or not channel.startswith("U"):
            continue
        text = json.dumps(call.body, ensure_ascii=False)
        for company, rep in list(wanted.items()):
            if rep == channel and company in text:
                found[company] = call.at
                del wanted[company]
                break
    return found


def percentile(values: list[float], q: float) -> float:
    """The ``q``th percentile (nearest rank), as ``http_load.Result.percentile`` reads it."""
    return Result(latencies=values).percentile(q) / 1000


@dataclass
class Level:
    concurrency: int
    intakes: Intakes
    who: Result
    dm_latencies: list[float]
    missing_dms: int


def run_backend(
    name: str, url: str, workers: int, args: argparse.Namespace, fake: FakeSlack, workdir: Path
) -> list[Level]:
    deadline = Deadline(args.budget)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        import_setup(session=session, text=setup_toml(args.reps))
        session.commit()
        token = tokens.create(session, name="bench", by="bench", now=datetime.now(UTC)).token
    engine.dispose()
    env = dict(os.environ)
    env.pop("PORT", None)
    root = str(BENCH_DIR.parent)  # this checkout's code, whatever the virtualenv installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.url,
        DATABASE_URL=url,
        WEB_CONCURRENCY=str(workers),
        WEB_THREADS="8",
    )
    server = start_server(
        f"salesbot-{name}",
        [venv_bin("salesbot"), "serve", "--host", HOST, "--port", "0"],
        env,
        workdir,
    )
    levels = []
    try:
        wait_ready(server, deadline)
        # The lead /lead who reads, and a warm-up of both kinds.
        intake_round(server.port, token, ["Acme Corp"], 1, deadline)
        signer = Signer(fake.response_url("who"), "who")
        run_round(server.port, 1, 20, signer, deadline)
        for concurrency in args.concurrency:
            per_round = args.leads // ROUNDS
            intakes, who = Intakes(), Result()
            for index, kind in enumerate(("A", "B", "B", "A") * (ROUNDS // 2)):
                if kind == "A":
                    companies = [
                        f"Bench {name} c{concurrency} r{index} n{n:05d}" for n in range(per_round)
                    ]
                    got = intake_round(server.port, token, companies, concurrency, deadline)
                    intakes.result.add(got.result)
                    intakes.sent_at.update(got.sent_at)
                    intakes.offered_to.update(got.offered_to)
                    intakes.answers.update(got.answers)
                else:
                    who.add(run_round(server.port, concurrency, per_round, signer, deadline))
            arrived = dm_times(fake, intakes.offered_to)
            latencies = [arrived[c] - intakes.sent_at[c] for c in arrived]
            levels.append(
                Level(
                    concurrency=concurrency,
                    intakes=intakes,
                    who=who,
                    dm_latencies=latencies,
                    missing_dms=len(intakes.offered_to) - len(arrived),
                )
            )
    finally:
        stop_server(server)
    return levels


def report(name: str, workers: int, levels: list[Level], reps: int) -> bool:
    """Print one backend's numbers; whether its targets held."""
    ok = True
    print(f"\n{name}, {workers} web process(es), {reps} reps")
    for level in levels:
        intakes, who = level.intakes, level.who
        ms = [x * 1000 for x in level.dm_latencies]  # percentile() keeps the unit
        offers = Counter(intakes.offered_to.values())
        counts = [offers.get(f"U0BREP{n:02d}", 0) for n in range(reps)]
        spread = max(counts) - min(counts)
        ratio = who.rate / intakes.result.rate if intakes.result.rate else float("nan")
        ok = ok and spread <= 1 and ratio <= 2 and level.missing_dms == 0
        print(
            f"  concurrency {level.concurrency}: {len(intakes.result.latencies)} leads "
            f"({intakes.result.errors} failed; answers {dict(intakes.answers)})\n"
            f"    request → offer DM: p50 {percentile(ms, 50):.1f} ms, "
            f"p99 {percentile(ms, 99):.1f} ms ({level.missing_dms} DMs missing)\n"
            f"    answer: p50 {intakes.result.percentile(50):.1f} ms, "
            f"p99 {intakes.result.percentile(99):.1f} ms\n"
            f"    intakes {intakes.result.rate:.0f}/s beside /lead who {who.rate:.0f}/s "
            f"(p50 {who.percentile(50):.1f} ms): an intake costs {ratio:.2f}× a /lead who "
            f"(target ≤ 2)\n"
            f"    fairness: offers per rep {min(counts)}–{max(counts)}, max − min {spread} "
            f"(target ≤ 1)"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8]
    )
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("SALESBOT_TEST_POSTGRES_URL"))
    parser.add_argument("--pg-workers", type=int, default=3)
    parser.add_argument("--budget", type=float, default=900)
    args = parser.parse_args(argv)
    fake = FakeSlack().start()
    ok = True
    try:
        with (
            tempfile.TemporaryDirectory(prefix="salesbot-routing-") as tmp,
            contextlib.ExitStack() as stack,
        ):
            workdir = Path(tmp)
            for backend in args.backends.split(","):
                if backend == "sqlite":
                    url, workers = f"sqlite:///{workdir / 'routing.db'}", 1
                else:
                    sys.path.insert(0, str(BENCH_DIR.parent / "tests"))
                    from pgcluster import GivenServer, PostgresUnavailable, start_cluster

                    try:
                        if args.postgres_url:
                            pg = GivenServer(args.postgres_url)
                        else:
                            pg = start_cluster(workdir / "pg")
                            stack.callback(pg.stop)
                    except PostgresUnavailable as error:
                        print(f"\nPostgreSQL skipped: {error}")
                        continue
                    url, workers = pg.create_database(f"routing_{os.getpid()}"), args.pg_workers
                    if args.postgres_url:
                        stack.callback(pg.drop_database, f"routing_{os.getpid()}")
                levels = run_backend(backend, url, workers, args, fake, workdir)
                ok = report(backend, workers, levels, args.reps) and ok
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        fake.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
