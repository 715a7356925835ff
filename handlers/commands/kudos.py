"""``/kudos``: public recognition in the recipient's department channel, and the leaderboard.

The kudos and its post are one unit: the service records the kudos and the post goes into the
outbox in the same transaction (key ``kudos:<id>``). The post is then sent at once, while the
giver waits, by a client that gives Slack a second and a half: the giver reads "posted in #channel";
when Slack is slow or down, "it will appear shortly", and the worker sends it later (the
outbox's history check keeps a post that did land from being sent twice). When Slack refuses
the post for good (the bot is not in the channel), the kudos and its post are withdrawn and the
giver is told what to do, with their allowance untouched. Whatever Slack does, the giver's
answer comes within Slack's three seconds.
"""

from __future__ import annotations

import re
from datetime import datetime

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.services import recognition as svc
from bot.services.errors import Conflict
from bot.services.text import free_text
from bot.store.models import Outbox
from handlers.parsing import as_user, is_help
from jobs import outbox

_CHANNEL_TAG = re.compile(r"^<#[CG][A-Z0-9]+\|([^>]+)>$")


def register(app: App) -> None:
    app.command("/kudos")(kudos_command)


def split_value(text: str) -> tuple[str, str | None]:
    """``great demo #teamwork`` → (``great demo``, ``teamwork``)."""
    words = text.split()
    if words:
        last = words[-1]
        channel = _CHANNEL_TAG.match(last)
        if channel:
            return text[: text.rfind(last)].rstrip(), channel.group(1)
        if last.startswith("#") and len(last) > 1:
            return text[: text.rfind(last)].rstrip(), last[1:]
    return text, None


def kudos_command(
    ack: Ack,
    command: dict,
    prompt_client: WebClient,
    session: Session,
    now: datetime,
    locale: str,
) -> None:
    text = (command.get("text") or "").strip()
    words = text.split()
    actor = command["user_id"]
    if not words or is_help(words):
        ack(
            **render.message(
                "help.kudos", locale, allowance=svc.daily_allowance(session)
            ).ephemeral()
        )
        return
    sub = words[0].lower()
    if sub in ("top", "排行", "排行榜"):
        board = svc.leaderboard(
            session=session,
            viewer=actor,
            period_name=words[1] if len(words) > 1 else "week",
            now=now,
        )
        ack(**render.message("kudos.top", locale, board=board).ephemeral())
        return
    if sub in ("allowance", "limit", "额度"):
        if len(words) != 2:
            ack(**render.message("kudos.usage", locale).ephemeral())
            return
        value = svc.set_daily_allowance(session=session, actor=actor, value=words[1])
        ack(**render.message("kudos.allowance_set", locale, value=value).ephemeral())
        return
    recipient = as_user(words[0])
    if recipient is None or len(words) < 2:
        ack(**render.message("kudos.usage", locale).ephemeral())
        return
    message, value = split_value(text.split(None, 1)[1])
    queued: list[Outbox] = []
    given = svc.give_kudos(
        session=session,
        giver=actor,
        recipient=recipient,
        message=free_text(message),
        value=free_text(value) if value else None,
        now=now,
        deliver=lambda g: queued.append(queue_kudos(session, g, now)),
    )
    attempt = outbox.deliver_row(session.get_bind(), prompt_client, queued[0].id, now=now)
    if attempt is not None and attempt.refusal:
        svc.withdraw_kudos(session, kudos_id=given.kudos.id, outbox_key=attempt.key)
        raise Conflict("kudos.not_delivered", channel=given.channel, error=attempt.refusal)
    delivered = attempt is not None and attempt.sent
    ack(**render.message("kudos.given", locale, given=given, delivered=delivered).ephemeral())


def queue_kudos(session: Session, given: svc.KudosGiven, now: datetime) -> Outbox:
    """The kudos's post, in the recipient's department channel (or a DM when they have none),
    added to the transaction that records it."""
    message = render.message("kudos.post", given.locale, kudos=given.kudos)
    return outbox.add(
        session,
        key=f"kudos:{given.kudos.id}",
        channel=given.channel,
        payload=message.as_post(),
        now=now,
    )
