"""Race benchmark: many clients change the same few leads at once, then the store is checked.

Run from the repository root::

    .venv/bin/python bench/race.py [--seconds 30] [--clients 24] [--leads 4] [--workers 3]
        [--sqlite]

A throwaway PostgreSQL server (as the tests start one; ``--sqlite`` for a SQLite file instead),
an in-process fake Slack and ``salesbot serve`` with ``--workers`` web processes. Each client
thread sends, as fast as answers come, a random change of a random lead among ``--leads``:
``/lead claim``, ``/lead release``, ``/lead transfer`` (by an admin, to a rep of either
department) or ``/lead stage``, as a random rep of two departments. At the end it prints the
throughput, the answers by kind, and the ownership invariants found broken
(``bot.services.audit.ownership_violations``), which must be 0.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from http_load import (
    BOT_TOKEN,
    HOST,
    SIGNING_SECRET,
    BenchError,
    Deadline,
    start_server,
    stop_server,
    venv_bin,
    wait_ready,
)
from slack_sdk.signature import SignatureVerifier
from sqlmodel import Session

from bot.devslack.fake_slack import FakeSlack
from bot.devslack.signing import command_body
from bot.services.audit import ownership_violations
from bot.services.setup import import_setup
from bot.store.db import make_engine, upgrade

BENCH_DIR = Path(__file__).resolve().parent
ENTERPRISE = [f"U0ENT{i}" for i in range(4)]
SMB = [f"U0SMB{i}" for i in range(4)]
SETUP = f"""
admins = ["U0ADMIN"]

[[department]]
name = "Enterprise"
managers = ["U0MGR1"]
reps = {ENTERPRISE!r}

[[department]]
name = "SMB"
managers = ["U0MGR2"]
reps = {SMB!r}
""".replace("'", '"')
STAGES = ("contacted", "qualified", "proposal", "negotiation")


def command(rng: random.Random, leads: int) -> tuple[str, str, str]:
    """(command, text, user) of one random change of one of the first ``leads`` leads."""
    name = f"Race Lead {rng.randrange(leads)}"
    rep = rng.choice(ENTERPRISE + SMB)
    kind = rng.choice(("claim", "release", "transfer", "stage"))
    if kind == "transfer":
        return "/lead", f"transfer {name} <@{rng.choice(ENTERPRISE + SMB)}|x>", "U0ADMIN"
    if kind == "stage":
        return "/lead", f"stage {name} {rng.choice(STAGES)}", rep
    return "/lead", f"{kind} {name}", rep


def outcome(text: str) -> str:
    for marker, name in (
        ("is now yours", "claimed"),
        ("is back in the pool", "released"),
        (" moved from ", "transferred"),
        ("Something went wrong", "error"),
        ("database is busy", "busy"),
    ):
        if marker in text:
            return name
    return "refused or other"


def hammer(port: int, response_url: str, seconds: float, clients: int, leads: int) -> Counter:
    verifier = SignatureVerifier(SIGNING_SECRET)
    counts: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(HOST, port, timeout=15)
        mine: Counter = Counter()
        while time.monotonic() < stop_at:
            name, text, user = command(rng, leads)
            body = command_body(name, text, user=user, channel="C0X", response_url=response_url)
            stamp = str(int(time.time()))
            headers = {
                "content-type": "application/x-www-form-urlencoded",
                "x-slack-request-timestamp": stamp,
                "x-slack-signature": verifier.generate_signature(timestamp=stamp, body=body),
            }
            try:
                conn.request("POST", "/slack/events", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read().decode()
                mine["http " + str(response.status)] += 1
                mine[outcome(data)] += 1
            except OSError:
                mine["failed"] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=15)
        with lock:
            counts.update(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--leads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args(argv)
    fake = FakeSlack().start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="salesbot-race-") as tmp,
            contextlib.ExitStack() as stack,
        ):
            workdir = Path(tmp)
            if args.sqlite:
                url = f"sqlite:///{workdir / 'race.db'}"
            else:
                sys.path.insert(0, str(BENCH_DIR.parent / "tests"))
                from pgcluster import start_cluster

                cluster = start_cluster(workdir)
                stack.callback(cluster.stop)
                url = cluster.create_database("race")
            engine = make_engine(url)
            upgrade(engine)
            with Session(engine) as session:
                import_setup(session=session, text=SETUP)
                session.commit()
            env = dict(os.environ)
            env.pop("PORT", None)
            env.update(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=fake.url,
                DATABASE_URL=url,
                WEB_CONCURRENCY=str(args.workers),
                WEB_THREADS="8",
            )
            server = start_server(
                "salesbot",
                [venv_bin("salesbot"), "serve", "--host", HOST, "--port", "0"],
                env,
                workdir,
            )
            try:
                wait_ready(server, Deadline(120))
                started = time.monotonic()
                counts = hammer(
                    server.port, fake.response_url(), args.seconds, args.clients, args.leads
                )
                took = time.monotonic() - started
            finally:
                stop_server(server)
            with Session(engine) as session:
                broken = ownership_violations(session)
            engine.dispose()
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        fake.stop()
    total = sum(v for k, v in counts.items() if k.startswith("http "))
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"{backend}, {args.workers} web processes, {args.clients} clients on {args.leads} leads,"
        f" {took:.1f} s: {total} requests, {total / took:.0f} req/s"
    )
    for key, value in sorted(counts.items()):
        print(f"  {key:<18} {value}")
    print(f"invariant violations: {len(broken)}")
    for line in broken[:20]:
        print("  " + line)
    return 1 if broken or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
