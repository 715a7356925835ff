"""``/away``: say when you (or, for a manager, one of your reps) are out, and who covers."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.services import absence as svc
from bot.services import routing
from handlers.notify import deliver
from handlers.parsing import as_user, is_help, user_id

_OFF = ("off", "取消", "结束")
_COVER = ("cover", "代理", "代班")


def register(app: App) -> None:
    app.command("/away")(away_command)


def away_command(
    ack: Ack, command: dict, session: Session, now: datetime, locale: str, client: WebClient
) -> None:
    words = (command.get("text") or "").split()
    actor = command["user_id"]
    today = render.local(now).date()
    if is_help(words):
        ack(**render.message("help.away", locale).ephemeral())
        return
    user = actor
    if words and not svc.looks_like_day(words[0]) and words[0].lower() not in _OFF:
        mentioned = as_user(words[0])
        if mentioned is None:
            ack(**render.message("away.usage", locale).ephemeral())
            return
        user, words = mentioned, words[1:]
    if not words:
        found = svc.upcoming(session, user, today)
        ack(
            **render.message(
                "away.shown", locale, user=user, viewer=actor, absences=found
            ).ephemeral()
        )
        return
    if words[0].lower() in _OFF:
        if len(words) > 1:
            ack(**render.message("away.usage", locale).ephemeral())
            return
        cleared = svc.clear_away(session=session, actor=actor, user=user, today=today, now=now)
        ack(
            **render.message(
                "away.cleared", locale, user=user, viewer=actor, cleared=cleared
            ).ephemeral()
        )
        return
    first = svc.parse_day(words[0], today)
    words = words[1:]
    last = first
    if words and svc.looks_like_day(words[0]):
        last = svc.parse_day(words[0], first)
        words = words[1:]
    cover = None
    if words and words[0].lower() in _COVER:
        if len(words) < 2:
            ack(**render.message("away.cover_missing", locale).ephemeral())
            return
        cover = user_id(words[1])
        words = words[2:]
    done = svc.set_away(
        session=session,
        actor=actor,
        user=user,
        first=first,
        last=last,
        cover=cover,
        note=" ".join(words),
        today=today,
        now=now,
    )
    ack(**render.message("away.set", locale, done=done, viewer=actor).ephemeral())
    if first <= today:  # away from today: their open offers move on at once (§9)
        deliver(session, client, routing.withdraw_away(session, user, now), now)
