"""``/target set|show``: goals per department or rep, and progress bars against them."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App
from sqlmodel import Session

from bot import render
from bot.services import targets as svc
from handlers.parsing import as_user, is_help, tokens


def register(app: App) -> None:
    app.command("/target")(target_command)


def target_command(ack: Ack, command: dict, session: Session, now: datetime, locale: str) -> None:
    args = tokens(command.get("text"))
    actor = command["user_id"]
    if not args or is_help(args):
        ack(**render.message("help.target", locale).ephemeral())
        return
    sub, rest = args[0].lower(), args[1:]
    if sub in ("set", "设置"):
        ack(**set_target(rest, actor=actor, session=session, now=now, locale=locale).ephemeral())
    elif sub in ("show", "查看"):
        ack(**show(rest, actor=actor, session=session, now=now, locale=locale).ephemeral())
    else:
        ack(
            **render.message(
                "errors.unknown_subcommand", locale, command="/target", given=args[0]
            ).ephemeral()
        )


def set_target(
    args: list[str], *, actor: str, session: Session, now: datetime, locale: str
) -> render.Message:
    """``<department or @user> <metric> <value> [period]``; a department name may be several
    words without quotes: it ends where the metric begins."""
    at = next((i for i, a in enumerate(args) if i > 0 and svc.normalise_metric(a)), None)
    if at is None or len(args) < at + 2 or len(args) > at + 3:
        return render.message("target.set_usage", locale)
    scope = " ".join(args[:at])
    user = as_user(scope)
    change = svc.set_target(
        session=session,
        actor=actor,
        department_name=None if user else scope,
        user_id=user,
        metric=args[at],
        value=args[at + 1],
        period_kind=args[at + 2] if len(args) > at + 2 else svc.DEFAULT_PERIOD,
        now=now,
    )
    return render.message("target.saved", locale, change=change)


def show(
    args: list[str], *, actor: str, session: Session, now: datetime, locale: str
) -> render.Message:
    scope = " ".join(args)
    user = as_user(scope) if scope else None
    report = svc.show_targets(
        session=session,
        viewer=actor,
        department_name=None if user else (scope or None),
        user_id=user,
        now=now,
    )
    return render.message("target.show", locale, report=report)
