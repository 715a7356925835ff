"""The ``salesbot`` command (DESIGN §2)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bot import logs, render
from bot.config import ConfigError, Settings, load_settings
from bot.store.db import make_engine, session_scope, upgrade

JOBS = (
    "daily-digest",
    "weekly-digest",
    "agenda",
    "expire-claims",
    "deliver-outbox",
    "prune-events",
    "offers",
    "handoffs",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salesbot", description="Coordinate sales in Slack.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve Slack requests (HTTP, or Socket Mode)")
    serve.add_argument("--socket", action="store_true", help="use Socket Mode (SLACK_APP_TOKEN)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (default $PORT or 3000; 0 picks one)")

    sub.add_parser("worker", help="run the scheduler: digests, agendas, expiry, outbox")

    shell = sub.add_parser("shell", help="talk to the bot in the terminal")
    shell.add_argument("--as", dest="user", default=None, help="Slack user id to act as")
    shell.add_argument("--channel", default=None, help="channel id to type in")

    demo = sub.add_parser("demo", help="a demo company on a local SQLite file, then the shell")
    demo.add_argument("--db", default="salesbot-demo.db", help="SQLite file (default %(default)s)")
    demo.add_argument(
        "--fresh", action="store_true", help="start over with a new demo company (default: keep)"
    )
    demo.add_argument(
        "--tour",
        action="store_true",
        help="a new demo company, then a guided walk through what salesbot does",
    )

    setup = sub.add_parser("setup", help="import departments, members and roles from TOML")
    setup.add_argument("file", type=Path)

    run_job = sub.add_parser("run-job", help="run one scheduled job now")
    run_job.add_argument("job", choices=JOBS)
    run_job.add_argument("--department", default=None)
    run_job.add_argument("--at", default=None, help="ISO 8601 time to run as (default now)")

    token = sub.add_parser("token", help="tokens for the intake API (POST /api/leads)")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    token_sub.add_parser("create", help="create a token and print it once").add_argument("name")
    token_sub.add_parser("list", help="every token: created, last used, revoked")
    token_sub.add_parser("revoke", help="refuse a token from now on").add_argument("name")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="migrate the schema to the latest version")
    return parser


def _migrate_at_start(settings: Settings) -> None:
    if settings.salesbot_auto_migrate:
        upgrade(make_engine(settings.database_url))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.configure()
    try:
        return _run(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2


def _metrics_directory() -> None:
    """Gunicorn's workers count metrics in files of one directory (prometheus-client's
    multiprocess mode): ``PROMETHEUS_MULTIPROC_DIR`` if the operator set it, else a new one.
    It must be set before any metric exists, so before the app is imported."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):  # counts of a previous run
            stale.unlink()
        return
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="salesbot-metrics-")


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        if args.socket:
            settings = load_settings(
                require=("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
            )
            _migrate_at_start(settings)
            from bot import socket

            socket.run(settings)
            return 0
        overrides = {"port": args.port} if args.port is not None else {}
        settings = load_settings(require=("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"), **overrides)
        _migrate_at_start(settings)
        _metrics_directory()
        from bot.web import Server

        Server(settings, host=args.host).run()
        return 0
    if args.command == "db":
        settings = load_settings()
        upgrade(make_engine(settings.database_url))
        print(_say("cli.migrated", url=_safe_url(settings.database_url)))
        return 0
    if args.command == "setup":
        return _setup(args.file)
    if args.command == "token":
        return _token(args)
    if args.command in ("shell", "demo"):
        from bot.devslack import shell

        if args.command == "demo":
            return shell.demo(db_path=Path(args.db), fresh=args.fresh, tour=args.tour)
        settings = load_settings()
        _migrate_at_start(settings)
        return shell.run_shell(settings, user=args.user, channel=args.channel)
    if args.command == "worker":
        settings = load_settings(require=("SLACK_BOT_TOKEN",))
        _migrate_at_start(settings)
        from jobs import scheduler

        scheduler.run_worker(settings)
        return 0
    if args.command == "run-job":
        settings = load_settings(require=("SLACK_BOT_TOKEN",))
        _migrate_at_start(settings)
        from jobs import runner

        return runner.run_job_cli(settings, args.job, department=args.department, at=args.at)
    raise AssertionError(args.command)


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _say(name: str, /, **data: object) -> str:
    """A message for the terminal: the template's text without Slack markup (no ``*bold*``,
    backticks, ``&lt;`` or ``<@U…>``), since a terminal shows them verbatim."""
    return render.plain(render.text(name, None, **data))


def _setup(path: Path) -> int:
    """Import the setup file; when it is wrong, print every problem (one line each, with its
    line number) and change nothing."""
    from bot.services.errors import ServiceError
    from bot.services.setup import import_setup

    settings = load_settings()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        print(_say("cli.setup_failed", path=str(path), reason=error.strerror), file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    _migrate_at_start(settings)
    try:
        with session_scope(engine) as session:
            result = import_setup(session=session, text=text)
    except ServiceError as error:
        for problem in getattr(error, "errors", [error]):
            reason = _say(problem.template_path, **problem.data)
            print(_say("cli.setup_failed", path=str(path), reason=reason), file=sys.stderr)
        return 2
    print(_say("cli.setup_done", result=result))
    return 0


def _token(args: argparse.Namespace) -> int:
    """``salesbot token create|list|revoke`` (DESIGN §8); the token is printed by ``create``
    only, and ``created_by`` is the operating-system user who ran it."""
    import getpass
    from datetime import UTC, datetime

    from bot.services import tokens
    from bot.services.errors import ServiceError

    settings = load_settings()
    _migrate_at_start(settings)
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    try:
        with session_scope(engine) as session:
            if args.token_command == "create":
                try:
                    by = getpass.getuser()
                except (KeyError, OSError):  # no name for this uid (a container)
                    by = "cli"
                created = tokens.create(session, name=args.name, by=by[:64], now=now)
                print(_say("cli.token_created", name=created.name, token=created.token))
            elif args.token_command == "list":
                print(_say("cli.token_list", tokens=tokens.listing(session)))
            else:
                revoked = tokens.revoke(session, name=args.name, now=now)
                print(
                    _say(
                        "cli.token_revoked",
                        name=revoked.name,
                        revoked_at=revoked.revoked_at,
                        already=revoked.already,
                    )
                )
    except ServiceError as error:
        print(_say(error.template_path, **error.data), file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
