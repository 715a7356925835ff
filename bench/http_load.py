"""HTTP load benchmark: ``salesbot serve`` against three Bolt baselines, all behind gunicorn.

Run from the repository root::

    .venv/bin/python bench/http_load.py [--requests N] [--concurrency 1,8,32]
        [--command help|who|log] [--workers N] [--threads N] [--postgres]
    .venv/bin/python bench/http_load.py --rate 200 [--seconds 30] [--workers 2] [--postgres]

Everything runs on 127.0.0.1: an in-process fake Slack Web API, ``salesbot serve`` (SQLite in
a temporary directory holding the demo company, or with ``--postgres`` a throwaway PostgreSQL
server started as the tests start one) and, served by gunicorn with the same settings
(``--workers``, default 1; gthread, ``--threads`` per worker, default 8), three baselines:

* ``bare``: ``bench/bare_app.py``, a Bolt app that only acks, with Bolt's default
  ``process_before_response=False``: what a default Bolt app does (its thread polls for the ack
  every 10 ms, so most of its latency is that polling, not work);
* ``bare-pbr``: the same app with ``process_before_response=True``, as salesbot runs: the
  honest floor for any Bolt app;
* ``one-read``: ``bench/one_read_app.py``, Bolt answering with one Core read and an f-string,
  the least a command that reads the store can cost.

Each client thread sends signed slash commands over one keep-alive connection: ``/sales help``
(a static reply), ``/lead who Acme Corp`` (reads the store) or ``/log call Acme Corp …``
(writes an activity and renews the claim). For every concurrency level the servers are measured
in alternating rounds (A B B A ...) so that all see the same machine conditions. Failed
requests are counted apart; req/s counts answered ones only.

``--rate N`` measures a steady load instead: N requests a second for ``--seconds``, a mix of
the three commands in turn, sent on schedule whatever the answers do (so a slow answer cannot
slow the load down and hide itself); a request's time runs from when it was due. It reports
p50, p99 and the failures of ``salesbot serve``, and of ``bare-pbr`` and ``one-read`` for
comparison. The
whole run gives up after five minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from sqlmodel import Session

from bot.devslack import demo_data
from bot.devslack.fake_slack import FakeSlack
from bot.store.db import make_engine, upgrade

HOST = "127.0.0.1"
BOT_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-secret"
TOTAL_BUDGET_S = 300.0
STARTUP_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 15.0
WARMUP = 30
ROUNDS = 4  # rounds per server per concurrency level, interleaved A B B A
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
BENCH_DIR = Path(__file__).resolve().parent


class BenchError(RuntimeError):
    """The benchmark cannot go on (a server did not start, time ran out)."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise BenchError(f"gave up after {TOTAL_BUDGET_S:.0f} s ({what})")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    log_path: Path
    port: int = 0

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0  # wall time of the measured rounds

    def add(self, other: Result) -> None:
        self.latencies.extend(other.latencies)
        self.requests += other.requests
        self.errors += other.errors
        self.elapsed += other.elapsed

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        index = max(0, math.ceil(q / 100 * len(ordered)) - 1)
        return ordered[index] * 1000

    @property
    def rate(self) -> float:
        """Answered requests a second (failures are counted apart)."""
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else math.nan


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def start_server(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> Server:
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name=name, proc=proc, log_path=log_path)


def wait_ready(server: Server, deadline: Deadline) -> None:
    """Find the port in gunicorn's log, then poll ``GET /healthz`` until it answers 200."""
    limit = time.monotonic() + min(STARTUP_TIMEOUT_S, max(deadline.left(), 0))
    while not server.port:
        if server.proc.poll() is not None:
            raise BenchError(
                f"{server.name} exited with {server.proc.returncode} before listening; "
                f"log {server.log_path}:\n{server.log_tail()}"
            )
        match = LISTENING.search(server.log_path.read_text(errors="replace"))
        if match:
            server.port = int(match.group(1))
            break
        if time.monotonic() > limit:
            raise BenchError(f"{server.name} never listened; log:\n{server.log_tail()}")
        time.sleep(0.05)
    last = "no answer"
    while True:
        if server.proc.poll() is not None:
            raise BenchError(
                f"{server.name} exited with {server.proc.returncode}; log:\n{server.log_tail()}"
            )
        conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                return
            last = f"{response.status} {body[:200]!r}"
        except OSError as error:
            last = repr(error)
        finally:
            conn.close()
        if time.monotonic() > limit:
            raise BenchError(
                f"{server.name} /healthz never answered 200 (last: {last}); log:\n"
                f"{server.log_tail()}"
            )
        time.sleep(0.1)


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=5)


#: what each client sends: a static reply, a read of the store, a write to the store
COMMANDS = {
    "help": ("/sales", "help", "U0BENCH"),
    "who": ("/lead", "who Acme Corp", "U0REP1"),
    "log": ("/log", "call Acme Corp benchmark note", "U0REP1"),
}


class Signer:
    """Signed bodies of one command."""

    def __init__(self, response_url: str, command: str) -> None:
        name, text, user = COMMANDS[command]
        self.verifier = SignatureVerifier(SIGNING_SECRET)
        self.body = urlencode(
            {
                "command": name,
                "text": text,
                "user_id": user,
                "channel_id": "C0BENCH",
                "team_id": "T0TEAM",
                "response_url": response_url,
                "trigger_id": "1.2.3",
            }
        )
        self.payload = self.body.encode()

    def headers(self) -> dict[str, str]:
        timestamp = str(int(time.time()))
        signature = self.verifier.generate_signature(timestamp=timestamp, body=self.body)
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }


def gunicorn(args: argparse.Namespace, target: str) -> list[str]:
    """A baseline app under the settings ``salesbot serve`` uses (bot/web.py)."""
    return [
        venv_bin("gunicorn"),
        "--bind",
        f"{HOST}:0",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "5",
        "--timeout",
        "30",
        target,
    ]


def seed_demo(database_url: str) -> None:
    """The demo company (departments, leads, activities) so commands find real data."""
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        demo_data.seed(session)
    engine.dispose()


def post(conn: http.client.HTTPConnection, signer: Signer) -> bool:
    """One signed command on a keep-alive connection; whether it was answered with 200. A
    failed or closing connection is closed, and reconnects on its next request."""
    try:
        conn.request("POST", "/slack/events", signer.payload, signer.headers())
        response = conn.getresponse()
        response.read()
        if response.will_close:
            conn.close()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        conn.close()
        return False


def run_round(
    port: int, concurrency: int, count: int, signer: Signer, deadline: Deadline
) -> Result:
    """Send ``count`` signed requests from ``concurrency`` keep-alive clients."""
    lock = threading.Lock()
    remaining = [count]
    results = [Result() for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency + 1)

    def take() -> bool:
        with lock:
            if remaining[0] <= 0:
                return False
            remaining[0] -= 1
            return True

    def client(result: Result) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.connect()
            barrier.wait()
            while deadline.left() > 0 and take():
                started = time.perf_counter()
                ok = post(conn, signer)
                result.requests += 1
                if ok:
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors += 1
        except threading.BrokenBarrierError:
            pass
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(r,), daemon=True) for r in results]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=max(min(deadline.left(), 30), 0.1))
    except threading.BrokenBarrierError as error:
        raise BenchError("client threads could not connect") from error
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(deadline.left(), 0) + REQUEST_TIMEOUT_S)
    total = Result(elapsed=time.perf_counter() - started)
    for result in results:
        total.add(result)
    deadline.check(f"{concurrency} clients on port {port}")
    return total


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def benchmark(
    servers: list[Server], levels: list[int], requests: int, signer: Signer, deadline: Deadline
) -> dict[tuple[str, int], Result]:
    results: dict[tuple[str, int], Result] = {}
    for concurrency in levels:
        for server in servers:
            warm = run_round(server.port, concurrency, WARMUP, signer, deadline)
            if warm.errors:
                print(f"warning: {server.name} warm-up had {warm.errors} errors", file=sys.stderr)
            results[(server.name, concurrency)] = Result()
        for index, count in enumerate(split(requests, ROUNDS)):
            order = servers if index % 2 == 0 else list(reversed(servers))
            for server in order:
                round_result = run_round(server.port, concurrency, count, signer, deadline)
                results[(server.name, concurrency)].add(round_result)
        print(f"  concurrency {concurrency} done", file=sys.stderr)
    return results


def report(servers: list[Server], levels: list[int], results: dict[tuple[str, int], Result]):
    header = (
        f"{'server':<10} {'concurrency':>11} {'requests':>8} {'failed':>6} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'req/s':>9}"
    )
    print(header)
    print("-" * len(header))
    for concurrency in levels:
        for server in servers:
            r = results[(server.name, concurrency)]
            print(
                f"{server.name:<10} {concurrency:>11} {r.requests:>8} {r.errors:>6} "
                f"{r.percentile(50):>8.2f} {r.percentile(99):>8.2f} {r.rate:>9.1f}"
            )
    for baseline in servers[1:]:  # salesbot against each baseline
        print()
        print(f"salesbot / {baseline.name}")
        print(f"{'concurrency':>11} {'p50 ratio':>10} {'req/s ratio':>12}")
        for concurrency in levels:
            ours = results[("salesbot", concurrency)]
            base = results[(baseline.name, concurrency)]
            p50 = ours.percentile(50) / base.percentile(50) if base.latencies else math.nan
            rate = ours.rate / base.rate if base.rate else math.nan
            print(f"{concurrency:>11} {p50:>10.2f} {rate:>12.2f}")


def fixed_rate(port: int, rate: float, seconds: float, signers: list[Signer]) -> Result:
    """Send ``rate`` requests a second for ``seconds``, each on schedule, taking the signers in
    turn; a request's latency runs from when it was due, queueing included."""
    interval, total = 1.0 / rate, int(rate * seconds)
    local = threading.local()
    result, lock = Result(), threading.Lock()

    def send(due: float, signer: Signer) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        ok = post(conn, signer)
        took = time.perf_counter() - due
        with lock:
            result.requests += 1
            if ok:
                result.latencies.append(took)
            else:
                result.errors += 1

    with ThreadPoolExecutor(max_workers=64) as pool:
        start = time.perf_counter() + 0.05
        for n in range(total):
            due = start + n * interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(send, due, signers[n % len(signers)])
    result.elapsed = time.perf_counter() - start
    return result


def server_side(port: int) -> str:
    """How the requests' time inside salesbot spread, from its request-duration histogram:
    what the app spent, apart from waiting in gunicorn's queue or on the client."""
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    buckets = {}
    for line in text.splitlines():
        match = re.match(
            r'salesbot_request_duration_seconds_bucket\{kind="command",le="([^"]+)"\} (\S+)', line
        )
        if match:
            buckets[match.group(1)] = float(match.group(2))
    total = buckets.get("+Inf", 0)
    if not total:
        return "no figures"
    return ", ".join(
        f"{100 * buckets[le] / total:.1f}% within {float(le) * 1000:g} ms"
        for le in ("0.01", "0.05", "0.1", "0.25")
        if le in buckets
    )


def report_rate(results: dict[str, Result], rate: float, seconds: float, mix: str) -> None:
    print(f"steady {rate:g} req/s for {seconds:g} s, in turn: {mix}")
    print(f"{'server':<10} {'sent':>6} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name, r in results.items():
        print(
            f"{name:<10} {r.requests:>6} {r.errors:>6} {r.percentile(50):>8.2f} "
            f"{r.percentile(99):>8.2f} {r.rate:>8.1f}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per server and level")
    parser.add_argument(
        "--concurrency", default="1,8,32", help="comma-separated client counts (default 1,8,32)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="gunicorn workers for both servers (default 1)"
    )
    parser.add_argument(
        "--threads", type=int, default=8, help="gthread threads per worker (both servers)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="a steady load of this many requests a second (mixed commands) instead of levels",
    )
    parser.add_argument("--seconds", type=float, default=30, help="how long --rate lasts")
    parser.add_argument(
        "--mix", default="help,who,log", help="the commands --rate sends in turn (default all)"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="store on a throwaway PostgreSQL server (as the tests start one) instead of SQLite",
    )
    parser.add_argument(
        "--command",
        choices=sorted(COMMANDS),
        default="help",
        help="help: /sales help (static); who: /lead who Acme Corp (reads the store); "
        "log: /log call Acme Corp … (writes an activity and renews the claim)",
    )
    args = parser.parse_args(argv)
    try:
        args.levels = [int(part) for part in args.concurrency.split(",") if part.strip()]
    except ValueError:
        parser.error("--concurrency expects comma-separated integers, e.g. 1,8,32")
    if not args.levels or min(args.levels) < 1 or args.requests < 1:
        parser.error("--requests and every --concurrency value must be at least 1")
    if any(command not in COMMANDS for command in args.mix.split(",")):
        parser.error(f"--mix takes commands among {', '.join(sorted(COMMANDS))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = Deadline(TOTAL_BUDGET_S)
    fake = FakeSlack().start()
    servers: list[Server] = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="salesbot-bench-") as tmp,
            contextlib.ExitStack() as stack,
        ):
            workdir = Path(tmp)
            env = dict(os.environ)
            env.pop("PORT", None)
            if args.postgres:
                sys.path.insert(0, str(BENCH_DIR.parent / "tests"))
                from pgcluster import start_cluster

                cluster = start_cluster(workdir)
                stack.callback(cluster.stop)
                database_url = cluster.create_database("bench")
            else:
                database_url = f"sqlite:///{workdir / 'bench.db'}"
            env.update(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=fake.url,
                DATABASE_URL=database_url,
                WEB_CONCURRENCY=str(args.workers),
                WEB_THREADS=str(args.threads),
            )
            bare_env = dict(
                env, PYTHONPATH=os.pathsep.join([str(BENCH_DIR), str(BENCH_DIR.parent)])
            )
            seed_demo(env["DATABASE_URL"])
            try:
                servers.append(
                    start_server(
                        "salesbot",
                        [venv_bin("salesbot"), "serve", "--host", HOST, "--port", "0"],
                        env,
                        workdir,
                    )
                )
                baselines = [
                    ("bare", "bare_app:app"),
                    ("bare-pbr", "bare_app:app_pbr"),
                    ("one-read", "one_read_app:app"),
                ]
                if args.rate:
                    baselines = baselines[1:]
                for name, target in baselines:
                    servers.append(start_server(name, gunicorn(args, target), bare_env, workdir))
                for server in servers:
                    wait_ready(server, deadline)
                print(
                    ", ".join(f"{server.name} on :{server.port}" for server in servers) + "; "
                    f"{args.requests} requests per level after {WARMUP} warm-up",
                    file=sys.stderr,
                )
                if args.rate:
                    signers = [Signer(fake.response_url(), c) for c in args.mix.split(",")]
                    steady = {
                        server.name: fixed_rate(server.port, args.rate, args.seconds, signers)
                        for server in servers
                    }
                    inside = server_side(servers[0].port)
                else:
                    signer = Signer(fake.response_url(), args.command)
                    results = benchmark(servers, args.levels, args.requests, signer, deadline)
            finally:
                for server in servers:
                    stop_server(server)
            if args.rate:
                report_rate(steady, args.rate, args.seconds, args.mix)
                print(f"salesbot's own time per request (its /metrics): {inside}")
            else:
                report(servers, args.levels, results)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
