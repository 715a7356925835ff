"""Near-duplicate check at scale: how long ``similar()`` takes against 100,000 leads.

Run from the repository root::

    .venv/bin/python bench/near_duplicates.py [--leads 100000] [--queries 300]

Seeds a temporary SQLite database with ``--leads`` leads named like real companies, then, in
the same process, times per query: the exact lookup a claim always does (both keys, indexed;
the baseline) and the near-duplicate scan that a claim of a new customer adds (rapidfuzz over
every name key held in memory, then one query for the hits). Prints medians, p99, the ratio
scan / exact lookup, the one-off cost of loading the key index and its memory.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session
from timing import alternating

from bot.services import leads
from bot.services.names import name_key, split_company
from bot.store.db import make_engine, upgrade
from bot.store.models import Department, Lead, Member

WORDS = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "cyberdyne",
    "tyrell",
    "soylent",
    "oscorp",
    "vandelay",
    "nakatomi",
    "gringotts",
    "aperture",
    "black",
    "mesa",
    "blue",
    "sun",
    "monarch",
    "massive",
    "dynamic",
    "pied",
    "piper",
    "vehement",
    "capital",
    "prestige",
    "worldwide",
    "sterling",
    "cooper",
    "draper",
    "pryce",
    "dunder",
    "mifflin",
    "paper",
    "bluth",
    "gekko",
    "virtucon",
    "weyland",
    "yutani",
    "north",
    "central",
    "south",
    "east",
    "west",
    "pacific",
    "atlantic",
    "global",
    "digital",
    "systems",
    "solutions",
    "logistics",
    "foods",
    "energy",
    "health",
    "labs",
    "robotics",
    "analytics",
    "华为",
    "阿里",
    "腾讯",
    "京东",
    "美团",
    "小米",
    "百度",
    "网易",
    "联想",
    "海尔",
    "格力",
    "比亚迪",
    "蔚来",
    "理想",
    "字节",
]
SUFFIXES = ("", " Inc", " Ltd", " GmbH", " Corp", " 有限公司", " Group", " Co")


def company(rng: random.Random, index: int) -> str:
    parts = rng.sample(WORDS, rng.randint(2, 3))
    return " ".join(parts) + f" {index}" + rng.choice(SUFFIXES)


def seed(engine, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    names = [company(rng, i) for i in range(count)]
    # An owner is a member of the lead's department (the database holds that rule).
    rows = [
        {
            "name": name,
            "name_key": name_key(name),
            "owner_id": f"U{i % 500:05d}" if i % 3 else None,
            "department_id": 1 if i % 3 else None,
            "stage": "new",
        }
        for i, name in enumerate(names)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Department), [{"id": 1, "name": "Bench", "name_key": "bench"}])
        members = [{"user_id": f"U{i:05d}", "department_id": 1, "role": "rep"} for i in range(500)]
        connection.execute(insert(Member), members)
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(Lead), rows[start : start + 10_000])
    return names


def p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        started = time.perf_counter()
        names = seed(engine, args.leads)
        print(f"seeded {args.leads:,} leads in {time.perf_counter() - started:.1f} s")
        rng = random.Random(5)
        # Typical claims: a typo or a different legal form of a known name, or a new name.
        queries = []
        for i in range(args.queries):
            base = rng.choice(names)
            if i % 3 == 0:
                queries.append(base[:-1] + "x")
            elif i % 3 == 1:
                queries.append(base.split(" ")[0] + " Holdings " + str(i))
            else:
                queries.append(company(rng, 10_000_000 + i))
        companies = [split_company(q.split()) for q in queries]
        with Session(engine) as session:
            started = time.perf_counter()
            leads.similar(session, "warmup")
            load_s = time.perf_counter() - started
        with Session(make_engine(engine.url.render_as_string(hide_password=False))) as other:
            tracemalloc.start()
            leads.similar(other, "warmup")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        with Session(engine) as session:
            times = alternating(  # per query, the two checks in turn, each first every other time
                {
                    "exact": lambda n: leads.by_keys(session, companies[n]),
                    "scan": lambda n: leads.similar(session, companies[n].key),
                },
                len(companies),
            )
            exact, scan = times["exact"], times["scan"]
            hits = sum(1 for c in companies if leads.similar(session, c.key))
    exact_median, scan_median = statistics.median(exact), statistics.median(scan)
    print(f"key index load (once per process): {load_s * 1000:.0f} ms, peak {peak / 1e6:.1f} MB")
    print(f"{'check':<28}{'median ms':>10}{'p99 ms':>10}")
    print(f"{'exact keys (baseline)':<28}{exact_median:>10.3f}{p99(exact):>10.3f}")
    print(f"{'near-duplicate scan':<28}{scan_median:>10.3f}{p99(scan):>10.3f}")
    print(f"scan / exact: {scan_median / exact_median:.1f}x; {hits} of {len(queries)} had a hit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
