"""What the race tests share: a server of several web processes, and calls released at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.conftest import LiveServer, Reply, import_setup_text


def racing_server(db_url: str, fake: Any, tmp_path: Path, setup: str) -> Iterator[LiveServer]:
    """A live server of several web processes (two on SQLite, three on PostgreSQL) with
    ``setup`` imported; for a fixture to ``yield from``."""
    workers = 2 if db_url.startswith("sqlite") else 3
    live = LiveServer(db_url=db_url, fake=fake, log_path=tmp_path / "serve.log", workers=workers)
    import_setup_text(db_url, setup)
    yield live
    live.stop()


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` in threads released at the same moment; their results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def at_once(calls: list[Callable[[], Reply]]) -> list[Reply]:
    """:func:`together` for requests: every one is answered (HTTP 200)."""
    replies = together(calls)
    for reply in replies:
        assert reply.status == 200, reply.body
    return replies
