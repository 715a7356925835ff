"""``salesbot shell`` and ``salesbot demo``: the bot in a terminal, no Slack account needed.

The shell is not a second code path: every typed line becomes a signed request that goes
through ``app.dispatch``, exactly like one from Slack. Whatever the bot then sends to the Web
API lands on the local fake Slack and is printed, rendered readably. Meta commands (``:help``)
switch user and channel, click buttons, move the clock and open the Home tab.
"""

from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import render
from bot.app import build_app
from bot.clock import Clock
from bot.config import Settings, load_settings
from bot.devslack import modal, render_text, tour
from bot.devslack.fake_slack import FakeSlack
from bot.devslack.signing import (
    button_payload,
    command_body,
    event_body,
    payload_body,
    signed_headers,
)
from bot.metrics import COMMANDS
from bot.store.db import make_engine, session_scope, upgrade
from bot.store.models import Member
from jobs.runner import JOBS, JobNotAvailable, run_job, worker_client

SHELL_SECRET = "salesbot-shell-secret"
DEFAULT_CHANNEL = "C0SHELL"
_KNOWN = sorted(COMMANDS)


def _input_blocks(view: dict) -> list[str]:
    return [b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"]


class Shell:
    """A REPL over an injectable stdin/stdout."""

    def __init__(
        self,
        app: App,
        fake: FakeSlack,
        *,
        secret: str,
        user: str,
        channel: str,
        clock: Clock,
        stdin: TextIO,
        stdout: TextIO,
        engine: Engine,
        worker: WebClient,
    ) -> None:
        self.app, self.fake, self.secret, self.clock = app, fake, secret, clock
        self.engine, self.worker = engine, worker
        self.user, self.channel = user, channel
        self.stdin, self.stdout = stdin, stdout
        #: messages with buttons, by the number the shell showed them under
        self.with_buttons: dict[int, tuple[str, list[render_text.Button]]] = {}
        self.view: dict | None = None
        self.events = 0

    # ── output ───────────────────────────────────────────────────────────────────────────
    def say(self, text: str) -> None:
        print(text, file=self.stdout)

    def _show(self, heading: str, text: str | None, blocks: list[dict] | None) -> None:
        self.say(f"── {heading}")
        self.say(render_text.render_message(text=text, blocks=blocks))
        self._number(heading, render_text.buttons(blocks or []))

    def _number(self, heading: str, found: list[render_text.Button]) -> None:
        """Give a message with buttons a number, so ``:click`` can say which one it acts on
        and ``:click M.N`` can reach an older one."""
        if found:
            number = len(self.with_buttons) + 1
            self.with_buttons[number] = (heading, found)
            self.say(render.text("shell.buttons_here", None, message=number, count=len(found)))

    def _show_calls(self, mark: int) -> None:
        for call in self.fake.calls_since(mark):
            body = call.body
            if call.method in ("chat.postMessage", "chat.postEphemeral"):
                where = body.get("channel")
                prefix = "only you see" if call.method == "chat.postEphemeral" else "posted to"
                self._show(f"{prefix} {where}", body.get("text"), body.get("blocks"))
            elif call.method == "response_url":
                private = body.get("response_type") != "in_channel"
                heading = "only you see" if private else f"posted to {self.channel}"
                self._show(heading, body.get("text"), body.get("blocks"))
            elif call.method in ("views.publish", "views.open", "views.update", "views.push"):
                self.say(f"── {call.method}")
                view = body.get("view") or {}
                self.say(render_text.render_view(view))
                self._number(call.method, render_text.buttons(view))
                if view.get("type") == "modal":
                    self.view = view
                    self.say(render.text("shell.modal_hint", None, blocks=_input_blocks(view)))
            elif call.method not in ("auth.test", "users.info", "conversations.open"):
                self.say(f"── {call.method} {json.dumps(body, ensure_ascii=False)[:300]}")

    def _show_response(self, response: BoltResponse, command: str | None = None) -> None:
        if response.status == 404 and command is not None:
            # no listener for it: Bolt's own stub and status are for a developer, not a user
            self.say(render.text("shell.unknown_command", None, command=command, known=_KNOWN))
            return
        if response.status != 200:
            self.say(f"── HTTP {response.status} {response.body}")
            return
        if not response.body:
            return
        try:
            data = json.loads(response.body)
        except ValueError:
            self.say(response.body)
            return
        if isinstance(data, dict) and data.get("response_action") == "errors":
            self.say(render.text("shell.modal_errors", None, errors=data.get("errors", {})))
        elif isinstance(data, dict) and ("text" in data or "blocks" in data):
            self._show("only you see", data.get("text"), data.get("blocks"))

    # ── input ────────────────────────────────────────────────────────────────────────────
    def _send(self, body: str) -> BoltResponse:
        return self.app.dispatch(BoltRequest(body=body, headers=signed_headers(self.secret, body)))

    def dispatch(self, body: str, command: str | None = None) -> BoltResponse:
        mark = self.fake.mark()
        response = self._send(body)
        self._show_response(response, command)
        self._show_calls(mark)
        return response

    def submit(self, args: list[str]) -> None:
        """Fill in the open modal (``block=value`` pairs) and submit it, like Slack would."""
        view = self.view
        if view is None:
            self.say(render.text("shell.no_modal", None))
            return
        answers = dict(arg.split("=", 1) for arg in args if "=" in arg)

        def suggest(block_id: str, action_id: str, value: str) -> list[dict]:
            payload = modal.suggestion(self.user, view, block_id, action_id, value)
            response = self._send(payload_body(payload))
            return json.loads(response.body or "{}").get("options", [])

        values = modal.state_values(view, answers, suggest)
        response = self.dispatch(payload_body(modal.submission(self.user, view, values)))
        if "response_action" not in (response.body or ""):
            self.view = None

    def command(self, line: str) -> None:
        name, _, text = line.partition(" ")
        if name not in COMMANDS:  # Slack itself would not send it: no 404, no Bolt stub
            self.say(render.text("shell.unknown_command", None, command=name, known=_KNOWN))
            return
        self.dispatch(
            command_body(
                name,
                text.strip(),
                user=self.user,
                channel=self.channel,
                response_url=self.fake.response_url(f"{self.user}-{name.strip('/')}"),
            ),
            command=name,
        )

    def click(self, number: str) -> None:
        """``:click N``: button N of the latest message with buttons; ``:click M.N``: button N
        of message M. Either way the shell says which message and button it clicks, since the
        latest message with buttons may be several commands old."""
        latest = max(self.with_buttons, default=0)
        message, _, index = number.rpartition(".")
        try:
            chosen = int(message) if message else latest
            heading, found = self.with_buttons[chosen]
            button = found[int(index) - 1]
            if int(index) < 1:
                raise IndexError(index)
        except (ValueError, IndexError, KeyError):
            count = len(self.with_buttons.get(latest, ("", []))[1])
            self.say(
                render.text("shell.no_such_button", None, given=number, count=count, message=latest)
            )
            return
        self.say(
            render.text(
                "shell.clicking",
                None,
                label=button.label,
                button=int(index),
                message=chosen,
                heading=heading,
            )
        )
        self.dispatch(
            payload_body(
                button_payload(
                    user=self.user,
                    action_id=button.action_id,
                    value=button.value,
                    response_url=self.fake.response_url(f"{self.user}-click"),
                    channel=self.channel,
                    block_id=button.block_id or "b",
                )
            )
        )

    def home(self) -> None:
        self.events += 1
        self.dispatch(
            event_body(
                {"type": "app_home_opened", "user": self.user, "tab": "home", "channel": "D0"},
                event_id=f"Ev{self.events:06d}",
            )
        )

    def meta(self, line: str) -> bool:
        """Handle a ``:command``; returns False when the shell should stop."""
        try:
            words = shlex.split(line[1:])
        except ValueError:
            words = line[1:].split()
        if not words:
            return True
        verb, args = words[0].lower(), words[1:]
        if verb in ("q", "quit", "exit"):
            return False
        if verb == "as" and args:
            self.user = args[0].lstrip("@").upper()
            self.say(render.text("shell.now_user", None, user=self.user))
        elif verb == "in" and args:
            self.channel = args[0].lstrip("#").upper()
            self.say(render.text("shell.now_channel", None, channel=self.channel))
        elif verb == "click" and args:
            self.click(args[0])
        elif verb == "home":
            self.home()
        elif verb == "time":
            self.time(args)
        elif verb == "submit":
            self.submit(args)
        elif verb == "run" and args:
            self.run(args[0])
        elif verb == "tour":
            return tour.play(self)
        else:
            self.say(render.text("shell.help", None))
        return True

    def time(self, args: list[str]) -> None:
        if args:
            value = args[0]
            try:
                if value.startswith("+"):
                    unit = {"d": "days", "h": "hours", "m": "minutes"}[value[-1]]
                    self.clock.advance(timedelta(**{unit: float(value[1:-1])}))
                else:
                    self.clock.set(datetime.fromisoformat(value))
            except (KeyError, ValueError):
                self.say(render.text("shell.bad_time", None, value=value))
                return
        self.say(render.text("shell.now_time", None, now=self.clock.now().isoformat()))

    def run(self, job: str) -> None:
        """Run a job now, at the bot's clock, and print what it posted."""
        mark = self.fake.mark()
        try:
            report = run_job(job, engine=self.engine, client=self.worker, now=self.clock.now())
        except JobNotAvailable:
            self.say(render.text("cli.job_not_yet", None, job=job, available=list(JOBS)))
            return
        self._show_calls(mark)
        self.say(
            render.text(
                "cli.job_done", None, job=job, sent=len(report.sent), retrying=len(report.retrying)
            )
        )

    def loop(self) -> int:
        self.say(render.text("shell.welcome", None, user=self.user, channel=self.channel))
        while True:
            if self.stdin.isatty():
                self.stdout.write(f"{self.user}@{self.channel}> ")
                self.stdout.flush()
            line = self.stdin.readline()
            if not line:
                return 0
            if not self.handle(line):
                return 0

    def handle(self, line: str) -> bool:
        """One typed line: a slash command, a ``:meta`` command or a ``//`` comment; False
        when it asks the shell to stop."""
        line = line.strip()
        if not line or line.startswith("//"):
            return True
        if line.startswith(":"):
            return self.meta(line)
        if line.startswith("/"):
            self.command(line)
        else:
            self.say(render.text("shell.hint", None))
        return True


def start(
    settings: Settings,
    *,
    user: str | None,
    channel: str | None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> tuple[Shell, FakeSlack]:
    """Start a fake Slack and the app against ``settings.database_url``; return the shell."""
    fake = FakeSlack().start()
    settings = settings.model_copy(
        update={
            "slack_api_url": fake.url,
            "slack_bot_token": "xoxb-shell",
            "slack_signing_secret": SHELL_SECRET,
        }
    )
    engine = make_engine(settings.database_url)
    clock = Clock()
    app = build_app(settings, engine=engine, clock=clock)
    if user is None:
        with session_scope(engine) as session:
            admin = session.exec(select(Member.user_id).where(Member.is_admin)).first()
        user = admin or "U0SHELL"
    shell = Shell(
        app,
        fake,
        secret=SHELL_SECRET,
        user=user,
        channel=channel or DEFAULT_CHANNEL,
        clock=clock,
        stdin=stdin or sys.stdin,
        stdout=stdout or sys.stdout,
        engine=engine,
        worker=worker_client(settings),
    )
    return shell, fake


def run_shell(
    settings: Settings,
    *,
    user: str | None = None,
    channel: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    shell, fake = start(settings, user=user, channel=channel, stdin=stdin, stdout=stdout)
    try:
        return shell.loop()
    finally:
        fake.stop()


def demo(
    *,
    db_path: Path,
    fresh: bool = False,
    tour: bool = False,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Build the demo company in a SQLite file, show it, then open the shell.

    A demo database from an earlier run is kept, with whatever was done in it, unless
    ``fresh`` (``salesbot demo --fresh``, ``make demo FRESH=1``) asks to start over; the first
    line says which of the two happened."""
    from bot.devslack import demo_data

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    kept = db_path.exists() and not fresh and not tour  # the tour follows a new company
    if not kept:
        for leftover in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
            leftover.unlink(missing_ok=True)
    settings = load_settings(database_url=f"sqlite:///{db_path}")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    if not kept:
        with session_scope(engine) as session:
            summary = demo_data.seed(session)
    shell, fake = start(settings, user=demo_data.ADMIN, channel=None, stdin=stdin, stdout=stdout)
    try:
        if kept:
            shell.say(render.text("shell.demo_kept", None, path=str(db_path)))
        else:
            shell.say(render.text("shell.demo_intro", None, path=str(db_path), **summary))
        shell.command("/sales dept")
        shell.command("/sales help")
        for job in ("daily-digest", "weekly-digest", "agenda"):
            shell.run(job)
        if tour and not shell.handle(":tour"):
            return 0
        if not stdin.isatty():
            return 0
        return shell.loop()
    finally:
        fake.stop()
