"""Target progress and Home tab benchmark.

Run from the repository root::

    .venv/bin/python bench/targets_home.py [--activities 200000] [--repeat 15]

A SQLite file in a temporary directory is migrated and seeded (Core ``executemany``): one
department of 20 reps with a year of activities, 20,000 leads (a fifth of them won, each with
its claim event) and 52 targets (every metric and period for the department, two per rep).
In the same run it times, alternating:

* ``progress``: ``bot.services.targets.progress`` for the department: one UNION ALL of
  grouped queries with a conditional sum per period kind;
* ``per-target``: the baseline a straightforward implementation makes, one filtered
  COUNT/SUM query per target (52 round trips), rows fetched, nothing rendered;
* ``home``: ``bot.services.home.home_view`` for the manager plus rendering ``home.view``.

It prints the median of ``--repeat`` runs of each and the ratio per-target / progress
(above 1 means the grouped query is faster), and checks both give the same numbers.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlmodel import Session
from timing import alternating, check, medians

from bot import render
from bot.periods import period
from bot.services import home, targets
from bot.services.setup import import_setup
from bot.store.db import make_engine, upgrade
from bot.store.models import Activity, Department, Lead, OwnershipEvent, Target

NOW = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)
REPS = [f"U0R{n:03d}" for n in range(20)]
SETUP = f"""
timezone = "Asia/Shanghai"
admins = ["U0ADMIN"]
[[department]]
name = "Enterprise"
channel = "C0ENT"
managers = ["U0MGR1"]
reps = [{", ".join(f'"{r}"' for r in REPS)}]
"""


def seed(engine, activities: int) -> Department:  # type: ignore[no-untyped-def]
    rng = random.Random(3)
    with Session(engine, expire_on_commit=False) as session:
        import_setup(session=session, text=SETUP)
        dept = session.exec(select(Department)).scalars().one()
    year = 365 * 24 * 3600
    with engine.begin() as connection:
        connection.execute(
            insert(Activity),
            [
                {
                    "user_id": rng.choice(REPS),
                    "department_id": dept.id,
                    "kind": rng.choice(("call", "visit", "demo", "email")),
                    "occurred_at": NOW - timedelta(seconds=rng.randrange(year)),
                    "created_at": NOW,
                }
                for _ in range(activities)
            ],
        )
        leads = []
        for n in range(20_000):
            at = NOW - timedelta(seconds=rng.randrange(year))
            won = n % 5 == 0
            leads.append(
                {
                    "name": f"Lead {n}",
                    "name_key": f"lead{n}",
                    "owner_id": rng.choice(REPS),
                    "department_id": dept.id,
                    "stage": "won" if won else "qualified",
                    "amount_cents": rng.randrange(100_000, 10_000_000) if won else None,
                    "claimed_at": at,
                    "stage_changed_at": at,
                    "expires_at": NOW + timedelta(days=rng.randrange(1, 14)),
                    "created_at": at,
                    "updated_at": at,
                }
            )
        connection.execute(insert(Lead), leads)
        rows = connection.execute(select(Lead.id, Lead.owner_id, Lead.claimed_at)).all()
        connection.execute(
            insert(OwnershipEvent),
            [
                {
                    "lead_id": lead_id,
                    "at": at,
                    "action": "claim",
                    "to_owner": owner,
                    "to_department_id": dept.id,
                }
                for lead_id, owner, at in rows
            ],
        )
        goals = [
            {"department_id": dept.id, "user_id": "", "metric": m, "period": p, "value": 1000}
            for m in targets.METRICS
            for p in targets.PERIOD_KINDS
        ]
        goals += [
            {"department_id": dept.id, "user_id": r, "metric": m, "period": "month", "value": 50}
            for r in REPS
            for m in ("activities", "revenue")
        ]
        connection.execute(insert(Target), goals)
    return dept


def per_target(session: Session, dept: Department) -> list[int]:
    """The baseline: one query per target."""
    found = []
    for t in session.exec(select(Target).where(Target.department_id == dept.id)).scalars():
        w = period(t.period, NOW, dept.timezone)
        if t.metric in ("revenue", "wins"):
            what = (
                func.coalesce(func.sum(Lead.amount_cents), 0)
                if t.metric == "revenue"
                else func.count()
            )
            q = select(what).where(
                Lead.department_id == dept.id,
                Lead.stage == "won",
                Lead.stage_changed_at >= w.start,
                Lead.stage_changed_at < w.end,
            )
            if t.user_id:
                q = q.where(Lead.owner_id == t.user_id)
        elif t.metric == "activities":
            q = select(func.count()).where(
                Activity.department_id == dept.id,
                Activity.occurred_at >= w.start,
                Activity.occurred_at < w.end,
            )
            if t.user_id:
                q = q.where(Activity.user_id == t.user_id)
        else:
            q = select(func.count()).where(
                OwnershipEvent.action == "claim",
                OwnershipEvent.to_department_id == dept.id,
                OwnershipEvent.at >= w.start,
                OwnershipEvent.at < w.end,
            )
            if t.user_id:
                q = q.where(OwnershipEvent.to_owner == t.user_id)
        found.append(int(session.connection().execute(q).scalar() or 0))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        dept = seed(engine, args.activities)
        with Session(engine) as session:
            ours = sorted(p.actual for p in targets.progress(session, dept, NOW))
            check(ours == sorted(per_target(session, dept)), "the two sides disagree")
            results = alternating(
                {
                    "progress": lambda _n: targets.progress(session, dept, NOW),
                    "per-target": lambda _n: per_target(session, dept),
                    "home": lambda _n: render.message(
                        "home.view",
                        "en",
                        home=home.home_view(session=session, user_id="U0MGR1", now=NOW),
                    ),
                },
                args.repeat,
            )
        figures = medians(results)
    print(f"{args.activities:,} activities, 20,000 leads, 52 targets; median of {args.repeat}")
    for name, ms in figures.items():
        print(f"  {name:<11} {ms:8.1f} ms")
    print(f"ratio per-target / progress: {figures['per-target'] / figures['progress']:.2f}")


if __name__ == "__main__":
    main()
