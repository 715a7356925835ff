"""Digest scale benchmark: does building a digest stay flat as history grows?

Run from the repository root::

    .venv/bin/python bench/digest_scale.py [--sizes 10000,100000,1000000] [--repeat 15]

A SQLite file in a temporary directory (or, with ``--postgres``, a database) is migrated
and seeded (Core ``executemany``) with 50 departments of 10 reps, 100,000 leads (four in five
owned) with their claim events, and a fixed recent week for the measured department (300
activities yesterday, about 1,500 this week, claims, stage moves, wins, leads about to expire,
kudos, 40 routed leads taken yesterday). History then grows to each size with older activities
spread over three years and all departments, and one routed lead per ten of them. At each
size the benchmark times, in the same run and alternating:

* ``digest``: ``jobs.posts.daily_digest`` / ``weekly_digest`` for one department — every
  query, the Jinja2 templates and the Block Kit limits, exactly what the worker enqueues
  (the weekly chart PNG is drawn separately and reported once: it does not depend on history).
  The department row is the digest's input, loaded as the worker loads it: once per run for
  all departments, so it is not timed on either side;
* ``raw``: the rows the digest shows, as hand-written SQL on the bare driver connection
  (activities per rep and kind; wins per owner; the first ten claims, stage moves, wins,
  expiring leads and kudos with their totals; speed to lead per rep and minutes, and the
  slowest lead of the day; for the week also the ten stalest leads with their total, the claim
  count, the pool size, the conflicts and speed to lead), plus the department's targets, rows
  fetched, nothing rendered.

With ``--postgres`` the same runs on a throwaway PostgreSQL server started as the tests start
one (``tests/pgcluster.py``); seeding a million activities there takes about a minute.

It prints the median of ``--repeat`` runs of each, the ratio digest/raw (target: at most 2),
the growth of each against the smallest size (target: flat), and the peak memory of one
digest build (tracemalloc) plus the process's peak RSS.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import Session
from timing import check

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "tests"))  # pgcluster

from bot.store.db import make_engine, upgrade
from bot.store.models import (
    Activity,
    ClaimConflict,
    Department,
    Kudos,
    Lead,
    Member,
    OwnershipEvent,
    Routing,
)
from jobs import charts, digests, posts

DEPARTMENTS = 50
REPS = 10
LEADS = 100_000
KINDS = ("call", "visit", "demo", "email", "meeting", "proposal", "other")
#: Tue 24 Nov 2026 09:00 in Shanghai: the daily digest covers Monday, the weekly this week.
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
WEEKLY_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Fri 17:00 in Shanghai
YESTERDAY = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # Mon 00:00 in Shanghai
WEEK_START = YESTERDAY
TARGET = 1  # the measured department's id
BATCH = 50_000


def seed_base(engine) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    with engine.begin() as c:
        c.execute(
            insert(Department),
            [
                {
                    "id": d,
                    "name": f"Dept {d:02d}",
                    "name_key": f"dept {d:02d}",
                    "channel": f"C{d:04d}",
                    "timezone": "Asia/Shanghai",
                    "locale": "en",
                    "daily_digest": "09:00",
                    "weekly_digest": "fri 17:00",
                    "meeting": "mon 10:00",
                    "claim_days": 14,
                    "warn_days": 3,
                    "max_leads_per_rep": 0,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for d in range(1, DEPARTMENTS + 1)
            ],
        )
        c.execute(
            insert(Member),
            [
                {
                    "user_id": _rep(d, r),
                    "department_id": d,
                    "role": "rep",
                    "is_admin": False,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for d in range(1, DEPARTMENTS + 1)
                for r in range(REPS)
            ],
        )
        leads, events = [], []
        stages = ("new", "contacted", "qualified", "proposal", "negotiation", "won", "lost")
        for n in range(1, LEADS + 1):
            d = n % DEPARTMENTS + 1
            owned = (n // DEPARTMENTS) % 5 != 0  # four leads in five are owned, in every dept
            claimed = NOW - timedelta(days=rng.randint(8, 1000), minutes=n % 1440)
            stage = stages[n % 7] if owned else "new"
            leads.append(
                {
                    "id": n,
                    "name": f"Customer {n}",
                    "name_key": f"customer{n}",
                    "owner_id": _rep(d, n % REPS) if owned else None,
                    "department_id": d if owned else None,
                    "stage": stage,
                    "amount_cents": 100_000 * (n % 50) if stage == "won" else None,
                    "claimed_at": claimed if owned else None,
                    "stage_changed_at": claimed,
                    "last_activity_at": claimed,
                    "expires_at": claimed + timedelta(days=14) if owned else None,
                    "created_at": claimed,
                    "updated_at": claimed,
                }
            )
            if owned:
                events.append(
                    {
                        "lead_id": n,
                        "at": claimed,
                        "actor_id": _rep(d, n % REPS),
                        "action": "claim",
                        "to_owner": _rep(d, n % REPS),
                        "to_department_id": d,
                    }
                )
        c.execute(insert(Lead), leads)
        c.execute(insert(OwnershipEvent), events)
        # the measured department's recent days: claims, moves, wins, expiring leads, kudos
        recent = []
        for n in range(1, 121):
            lead = n * DEPARTMENTS  # leads whose department is TARGET (n % 50 + 1 == 1)
            at = YESTERDAY + timedelta(minutes=7 * n)
            action = ("claim", "stage", "won")[n % 3]
            recent.append(
                {
                    "lead_id": lead,
                    "at": at,
                    "actor_id": _rep(TARGET, n % REPS),
                    "action": action,
                    "to_owner": _rep(TARGET, n % REPS),
                    "to_department_id": TARGET,
                    "from_stage": "proposal",
                    "to_stage": "won" if action == "won" else "negotiation",
                }
            )
        c.execute(insert(OwnershipEvent), recent)
        c.execute(
            text("UPDATE lead SET expires_at = :at WHERE department_id = :d AND id % 97 = 0"),
            {"at": NOW + timedelta(days=1), "d": TARGET},
        )
        c.execute(
            insert(Kudos),
            [
                {
                    "giver_id": _rep(TARGET, 0),
                    "recipient_id": _rep(TARGET, n % REPS),
                    "department_id": TARGET,
                    "message": f"great call #{n}",
                    "created_at": YESTERDAY + timedelta(hours=n),
                }
                for n in range(1, 13)
            ],
        )
        c.execute(
            insert(ClaimConflict),
            [
                {
                    "lead_id": n * DEPARTMENTS,
                    "user_id": _rep(2, 0),
                    "department_id": 2,
                    "owner_department_id": TARGET,
                    "at": YESTERDAY + timedelta(hours=n),
                }
                for n in range(1, 6)
            ],
        )
        # 40 routed leads the measured department's reps took yesterday (speed to lead)
        c.execute(
            insert(Routing),
            [
                _routing(TARGET, n * DEPARTMENTS, YESTERDAY + timedelta(minutes=11 * n), n)
                for n in range(1, 41)
            ],
        )
        # 300 activities yesterday and ~1,500 more this week in the measured department
        week = [_activity(TARGET, n, YESTERDAY + timedelta(seconds=250 * n)) for n in range(300)]
        week += [
            _activity(TARGET, n, WEEK_START + timedelta(days=1, seconds=170 * n))
            for n in range(1500)
        ]
        c.execute(insert(Activity), week)


def _rep(department: int, n: int) -> str:
    return f"U{department:02d}R{n:02d}"


def _activity(department: int, n: int, at: datetime) -> dict:
    return {
        "user_id": _rep(department, n % REPS),
        "department_id": department,
        "lead_id": department + DEPARTMENTS * (n % 1000),
        "kind": KINDS[n % 7],
        "note": None,
        "occurred_at": at,
        "created_at": at,
    }


def _routing(department: int, lead: int, started: datetime, minutes: int) -> dict:
    """A routed lead taken after ``minutes`` working minutes (the wall clock is the same here)."""
    return {
        "lead_id": lead,
        "department_id": department,
        "kind": "new",
        "source": "web-form",
        "status": "accepted",
        "started_at": started,
        "settled_at": started + timedelta(minutes=minutes),
        "settled_by": _rep(department, lead % REPS),
        "owner_id": _rep(department, lead % REPS),
        "working_minutes": minutes,
    }


def grow_history(engine, start: int, stop: int) -> None:  # type: ignore[no-untyped-def]
    """Older activities (before last week) over all departments, in batches, and one older
    routed lead per ten activities."""
    rng = random.Random(start)
    oldest = 3 * 365 * 24 * 3600
    for first in range(start, stop, BATCH):
        rows, routings = [], []
        for n in range(first, min(stop, first + BATCH)):
            at = WEEK_START - timedelta(days=8, seconds=rng.randrange(oldest))
            rows.append(_activity(n % DEPARTMENTS + 1, n, at))
            if n % 10 == 0:
                lead = n // 10 % LEADS + 1
                routings.append(_routing(lead % DEPARTMENTS + 1, lead, at, n % 600))
        with engine.begin() as c:
            c.execute(insert(Activity), rows)
            if routings:
                c.execute(insert(Routing), routings)


#: What every digest reads besides its figures: the department's targets (none are set here,
#: so target progress costs one empty SELECT on both sides).
RAW_CONTEXT = ["SELECT * FROM target WHERE department_id = :d"]
#: The per-rep table: activities per rep and kind, wins and amounts per owner.
RAW_FIGURES = [
    """SELECT user_id, kind, count(*) FROM activity WHERE department_id = :d
       AND occurred_at >= :s AND occurred_at < :e GROUP BY user_id, kind""",
    """SELECT l.owner_id, count(*), coalesce(sum(l.amount_cents), 0) FROM lead l
       JOIN ownership_event e ON e.lead_id = l.id WHERE e.action = 'won' AND e.at >= :s
       AND e.at < :e AND l.department_id = :d GROUP BY l.owner_id""",
]
#: Each list as the digest shows it: its first ten lines in order, and how many there are.
RAW_WINS = """SELECT l.name, l.owner_id, l.amount_cents, e.at FROM lead l
       JOIN ownership_event e ON e.lead_id = l.id WHERE e.action = 'won' AND e.at >= :s
       AND e.at < :e AND l.department_id = :d
       ORDER BY l.amount_cents DESC NULLS LAST, e.at LIMIT 10"""
#: Speed to lead: the department's routed leads taken in the window, per rep and minutes.
_SPEED_WHERE = """r.department_id = :d AND r.kind = 'new' AND r.started_at >= :speed_from
       AND r.owner_id IS NOT NULL AND r.working_minutes IS NOT NULL AND r.settled_at >= :s
       AND r.settled_at < :e"""
RAW_SPEED = f"""SELECT r.owner_id, r.working_minutes, count(*) FROM routing r
       WHERE {_SPEED_WHERE} GROUP BY r.owner_id, r.working_minutes"""
RAW_DAILY = [
    *RAW_CONTEXT,
    *RAW_FIGURES,
    RAW_WINS,
    """SELECT l.name, e.to_owner, l.stage, e.at, count(*) OVER () FROM ownership_event e
       JOIN lead l ON l.id = e.lead_id WHERE e.action = 'claim' AND e.to_department_id = :d
       AND e.at >= :s AND e.at < :e ORDER BY e.at LIMIT 10""",
    """SELECT l.name, l.owner_id, e.from_stage, e.to_stage, e.at, count(*) OVER ()
       FROM ownership_event e JOIN lead l ON l.id = e.lead_id WHERE e.action = 'stage'
       AND e.at >= :s AND e.at < :e AND l.department_id = :d ORDER BY e.at LIMIT 10""",
    """SELECT name, owner_id, stage, expires_at, count(*) OVER () FROM lead
       WHERE department_id = :d AND owner_id IS NOT NULL AND stage NOT IN ('won', 'lost')
       AND expires_at >= :now AND expires_at < :horizon ORDER BY expires_at LIMIT 10""",
    """SELECT giver_id, recipient_id, message, value, count(*) OVER () FROM kudos
       WHERE department_id = :d AND created_at >= :s AND created_at < :e
       ORDER BY created_at LIMIT 10""",
    RAW_SPEED,
    # the digest shows the slowest lead only
    f"""SELECT l.name, r.owner_id, r.working_minutes, r.settled_at FROM routing r
       JOIN lead l ON l.id = r.lead_id WHERE {_SPEED_WHERE}
       ORDER BY r.working_minutes DESC, r.settled_at LIMIT 1""",
]
RAW_WEEKLY = [
    *RAW_CONTEXT,
    *RAW_FIGURES,
    RAW_WINS,
    """SELECT count(*) FROM ownership_event WHERE action = 'claim' AND to_department_id = :d
       AND at >= :s AND at < :e""",
    """SELECT name, owner_id, stage, coalesce(last_activity_at, claimed_at), count(*) OVER ()
       FROM lead WHERE department_id = :d AND owner_id IS NOT NULL
       AND stage NOT IN ('won', 'lost') AND coalesce(last_activity_at, claimed_at) < :stale
       ORDER BY coalesce(last_activity_at, claimed_at) LIMIT 10""",
    "SELECT count(*) FROM lead WHERE owner_id IS NULL",
    """SELECT count(*) FROM claim_conflict WHERE (department_id = :d OR owner_department_id = :d)
       AND at >= :s AND at < :e""",
    RAW_SPEED,
]


def _params(start: datetime, end: datetime, now: datetime, *, as_text: bool) -> dict:
    """The bound values of the raw statements. SQLite stores timestamps as text, so on SQLite
    they are passed as that text (nothing for the bare driver to convert)."""
    values = {
        "s": start,
        "e": end,
        "now": now,
        "horizon": now + timedelta(days=3),
        "stale": now - timedelta(days=7),
        "speed_from": start - timedelta(days=60),
    }
    if as_text:
        values = {k: v.strftime("%Y-%m-%d %H:%M:%S.%f") for k, v in values.items()}
    return {"d": TARGET, **values}


def raw(engine, statements: list[tuple[str, tuple]]) -> int:  # type: ignore[no-untyped-def]
    """Run prepared (SQL, parameters) pairs on the bare driver connection."""
    rows = 0
    with engine.connect() as c:
        for sql, parameters in statements:
            rows += len(c.exec_driver_sql(sql, parameters).fetchall())
    return rows


def raw_names(engine, statements: list[tuple[str, tuple]]) -> list[str]:  # type: ignore[no-untyped-def]
    """The lead names the raw lists return (their first column), to compare with the post."""
    with engine.connect() as c:
        return [
            str(row[0])
            for sql, parameters in statements
            if re.match(r"\s*SELECT (l\.)?name\b", sql)
            for row in c.exec_driver_sql(sql, parameters).fetchall()
        ]


def shows_what_raw_returns(engine, builder, dept, now, statements) -> None:  # type: ignore[no-untyped-def]
    """Every lead the raw lists return is in the post the digest builds: the two sides read the
    same rows (checked, not asserted: it holds under ``python -O``)."""
    with Session(engine) as session:
        post = builder(session, dept, now)
        shown = post.message.text + json.dumps(post.message.blocks, ensure_ascii=False)
    missing = [n for n in raw_names(engine, statements) if html.escape(n, quote=False) not in shown]
    check(not missing, f"{builder.__name__} does not show what the raw SQL returns: {missing[:5]}")


def prepare(engine, statements: list[str], params: dict) -> list[tuple[str, tuple]]:  # type: ignore[no-untyped-def]
    """``:name`` placeholders → the driver's own (``?`` or ``%s``), values in order."""
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    return [
        (re.sub(r":(\w+)", mark, sql), tuple(params[n] for n in re.findall(r":(\w+)", sql)))
        for sql in statements
    ]


def department(engine) -> Department:  # type: ignore[no-untyped-def]
    """The measured department, loaded as the worker loads it: once per job run, with all the
    others (``jobs.digests.departments``), not once per post."""
    with Session(engine, expire_on_commit=False) as session:
        return next(d for d in digests.departments(session, None) if d.id == TARGET)


def build(engine, builder: Callable, dept: Department, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """One post, in its own session (as the raw side opens its own connection)."""
    with Session(engine) as session:
        post = builder(session, dept, now)
        return len(post.message.blocks)


def paired_medians(a: Callable[[], object], b: Callable[[], object], repeat: int) -> tuple:
    """Median milliseconds of ``a`` and ``b``, timed in alternation (a b b a …) so that both
    see the same machine conditions."""
    times: tuple[list[float], list[float]] = ([], [])
    for n in range(repeat):
        order = ((0, a), (1, b)) if n % 2 == 0 else ((1, b), (0, a))
        for slot, function in order:
            started = time.perf_counter()
            function()
            times[slot].append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def median_ms(function: Callable[[], object], repeat: int) -> float:
    return paired_medians(function, lambda: None, repeat)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=41)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run on a throwaway PostgreSQL server (as the tests start one) instead of SQLite",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            from pgcluster import start_cluster  # tests/pgcluster.py

            cluster = start_cluster(Path(tmp))
            engine = make_engine(cluster.create_database("bench"))
        else:
            cluster = None
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            run(engine, sizes, args.repeat)
        finally:
            engine.dispose()
            if cluster is not None:
                cluster.stop()
    return 0


def run(engine, sizes: list[int], repeat: int) -> None:  # type: ignore[no-untyped-def]
    upgrade(engine)
    started = time.perf_counter()
    seed_base(engine)
    with engine.connect() as c:
        have = c.execute(text("SELECT count(*) FROM activity")).scalar_one()
    print(
        f"{engine.dialect.name}: seeded {DEPARTMENTS} departments, {DEPARTMENTS * REPS} reps, "
        f"{LEADS:,} leads, {have:,} recent activities in {time.perf_counter() - started:.1f}s"
    )
    as_text = engine.dialect.name == "sqlite"
    daily = prepare(
        engine, RAW_DAILY, _params(YESTERDAY, YESTERDAY + timedelta(days=1), NOW, as_text=as_text)
    )
    weekly = prepare(
        engine,
        RAW_WEEKLY,
        _params(WEEK_START, WEEK_START + timedelta(days=7), WEEKLY_NOW, as_text=as_text),
    )
    results = []
    for size in sizes:
        started = time.perf_counter()
        grow_history(engine, have, size)
        have = max(have, size)
        with engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
        seeded = time.perf_counter() - started
        dept = department(engine)
        build(engine, posts.daily_digest, dept, NOW)  # warm caches and templates
        raw(engine, daily)
        shows_what_raw_returns(engine, posts.daily_digest, dept, NOW, daily)
        # the weekly post lists the stale leads by name (its wins only as totals)
        stale = [(sql, p) for sql, p in weekly if "coalesce(last_activity_at" in sql]
        shows_what_raw_returns(engine, posts.weekly_digest, dept, WEEKLY_NOW, stale)
        row = {"size": size, "seed_s": seeded}
        for name, builder, now, statements in (
            ("daily", posts.daily_digest, NOW, daily),
            ("weekly", posts.weekly_digest, WEEKLY_NOW, weekly),
        ):
            row[name] = paired_medians(
                lambda b=builder, n=now, d=dept: build(engine, b, d, n),
                lambda s=statements: raw(engine, s),
                repeat,
            )
        tracemalloc.start()
        build(engine, posts.weekly_digest, dept, WEEKLY_NOW)
        row["peak_kib"] = tracemalloc.get_traced_memory()[1] / 1024
        tracemalloc.stop()
        results.append(row)
        base = results[0]
        d_ms, r_ms = row["daily"]
        w_ms, wr_ms = row["weekly"]
        print(
            f"{size:>9,} activities (+{seeded:.1f}s seeding) | "
            f"daily digest {d_ms:6.2f} ms  raw {r_ms:6.2f} ms  ratio {d_ms / r_ms:4.2f}  "
            f"growth x{d_ms / base['daily'][0]:.2f} | "
            f"weekly digest {w_ms:6.2f} ms  raw {wr_ms:6.2f} ms  ratio {w_ms / wr_ms:4.2f}  "
            f"growth x{w_ms / base['weekly'][0]:.2f} | "
            f"peak {row['peak_kib']:.0f} KiB"
        )
    chart_ms = median_ms(lambda: charts.activity_chart([(f"U{n}", n) for n in range(10)]), 5)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"weekly chart PNG (10 reps): {chart_ms:.1f} ms, independent of history")
    print(f"process peak RSS: {rss:.0f} MiB")
    worst = max(
        max(r["daily"][0] / r["daily"][1], r["weekly"][0] / r["weekly"][1]) for r in results
    )
    growth = max(
        max(r["daily"][0] / results[0]["daily"][0], r["weekly"][0] / results[0]["weekly"][0])
        for r in results
    )
    print(
        f"worst ratio digest/raw {worst:.2f} (target <= 2) · "
        f"worst growth {growth:.2f}x from {sizes[0]:,} to {sizes[-1]:,} (target: flat)"
    )


if __name__ == "__main__":
    sys.exit(main())
