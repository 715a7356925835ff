"""Prometheus metrics (DESIGN §12): ``GET /metrics`` on the web process, and on
``METRICS_PORT`` in the worker.

* ``salesbot_requests_total{kind, command, outcome}``: requests to ``/slack/events``. ``kind`` is
  ``command``, ``block_actions``, ``view_submission``, ``event_callback`` … or ``http`` for a
  request the front door refused; ``command`` is the slash command, action, view or event
  (only names salesbot defines, else ``other``, so no label holds what a user typed);
  ``outcome`` is ``ok``, ``refused`` (an expected refusal: bad input, no permission, conflict),
  ``busy`` (the database did not answer in time), ``error`` (unexpected, logged with a ref) or,
  for ``http``, why the front door refused it.
* ``salesbot_request_duration_seconds{kind}``: the time salesbot spent on a request.
* ``salesbot_job_runs_total{job, outcome}``: job runs, ``ok`` or ``error``.
* ``salesbot_outbox_pending`` and ``salesbot_outbox_oldest_pending_age_seconds``, and
  ``salesbot_offers_open`` (offers of new leads waiting for their rep, §8): read from the
  database at each scrape, so every process reports the same.

``salesbot serve`` runs several gunicorn workers; each counts in its own files under
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, set up by the command
before any metric exists) and a scrape, answered by any worker, adds them up. No label or value
ever holds a token, a secret or a request body.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.ids import Action, Shortcut, View
from bot.store.models import Offer, Outbox

CONTENT_TYPE = CONTENT_TYPE_LATEST
COMMANDS = frozenset({"/lead", "/log", "/kudos", "/coach", "/target", "/sales", "/away"})
EVENTS = frozenset({"app_home_opened"})
_INTERACTIONS = frozenset(
    {"block_actions", "view_submission", "view_closed", "block_suggestion", "message_action"}
)
_KNOWN_IDS = frozenset(str(v.value) for enum in (Action, View, Shortcut) for v in enum)

REQUESTS = Counter(
    "salesbot_requests_total",
    "Requests to /slack/events by kind, command and outcome",
    ["kind", "command", "outcome"],
    registry=None,
)
DURATION = Histogram(
    "salesbot_request_duration_seconds",
    "Time spent on a request to /slack/events",
    ["kind"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=None,
)
JOB_RUNS = Counter(
    "salesbot_job_runs_total", "Job runs by job and outcome", ["job", "outcome"], registry=None
)
_OWN = (REQUESTS, DURATION, JOB_RUNS)


def request_labels(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, command) of a Bolt request body, from names salesbot defines only."""
    if "command" in body:
        command = body.get("command")
        return "command", command if command in COMMANDS else "other"
    kind = str(body.get("type") or "other")
    if kind == "event_callback":
        event = body.get("event")
        name = event.get("type") if isinstance(event, dict) else None
        return kind, name if name in EVENTS else "other"
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        name = actions[0].get("action_id")
    else:
        view = body.get("view")
        name = body.get("callback_id") or (
            view.get("callback_id") if isinstance(view, dict) else None
        )
        name = name or body.get("action_id")
    known = kind in _INTERACTIONS
    return (kind if known else "other"), (name if name in _KNOWN_IDS else "other")


def observe(kind: str, command: str, outcome: str, seconds: float) -> None:
    REQUESTS.labels(kind, command, outcome).inc()
    DURATION.labels(kind).observe(seconds)


class OutboxCollector(Collector):
    """Pending outbox rows and the age of the oldest, and the open offers, read from the
    database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with Session(self.engine) as session:
                pending, oldest = session.exec(
                    select(func.count(), func.min(Outbox.created_at)).where(
                        col(Outbox.sent_at).is_(None)
                    )
                ).one()
                offers = session.exec(
                    select(func.count()).select_from(Offer).where(Offer.status == "open")
                ).one()
        except Exception:  # a scrape must not fail with the database: the gauges are left out
            return
        yield GaugeMetricFamily(
            "salesbot_outbox_pending", "Outbox rows not sent yet", value=pending
        )
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "salesbot_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row not sent yet",
            value=max(age, 0.0),
        )
        yield GaugeMetricFamily(
            "salesbot_offers_open", "Offers of new leads waiting for their rep", value=offers
        )


def registry(engine: Engine) -> CollectorRegistry:
    """A registry of everything above: this process's own metrics, or every process's in
    multiprocess mode, and the outbox gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in _OWN:
            registry.register(metric)
    registry.register(OutboxCollector(engine))
    return registry


def exposition(engine: Engine) -> bytes:
    """The text a scrape of ``/metrics`` reads."""
    return generate_latest(registry(engine))


def worker_gone(pid: int) -> None:
    """Gunicorn's ``child_exit`` hook: a dead worker's live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
