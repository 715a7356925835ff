"""The "New lead" message shortcut (DESIGN §8): a modal pre-filled from the message
(:func:`bot.services.lead_form.guess`); submitting routes the lead exactly as ``/lead new``
does (``routing.route_new``, source ``slack:<user>``). Wrong fields come back as inline
errors, every field's at once. The person is told where the lead went by an ephemeral message
in the channel the shortcut was used in, or by DM when that cannot be posted (the bot is not in
that channel, or the shortcut came from a DM)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import render
from bot.ids import Shortcut, View
from bot.services import lead_form, leads, routing
from handlers.notify import deliver
from handlers.views.form import inline_errors, plain


def register(app: App) -> None:
    app.shortcut(Shortcut.NEW_LEAD)(from_message)
    app.view(View.NEW_LEAD)(submit)


def modal(locale: str, guess: lead_form.Guess, *, channel: str | None = None) -> dict[str, Any]:
    def t(name: str, **data: Any) -> str:
        return render.text(f"new_lead.{name}", locale, **data)

    initial = {
        "company": guess.company,
        "domain": guess.domain,
        "email": guess.email,
        "note": guess.note,
    }
    blocks = []
    for field in lead_form.FIELDS:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": field}
        if field == "note":
            element.update(multiline=True, max_length=lead_form.MAX_NOTE)
        if initial.get(field):
            element["initial_value"] = initial[field]
        block: dict[str, Any] = {
            "type": "input",
            "block_id": field,
            "optional": field != "company",
            "label": plain(t("label", field=field)),
            "element": element,
        }
        hint = t("hint", field=field).strip()
        if hint:
            block["hint"] = plain(hint)
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": str(View.NEW_LEAD),
        "title": plain(t("title")[:24]),
        "submit": plain(t("submit")[:24]),
        "close": plain(t("close")[:24]),
        "private_metadata": json.dumps({"channel": channel}),
        "blocks": blocks,
    }


def from_message(
    ack: Ack, shortcut: dict, session: Session, locale: str, client: WebClient
) -> None:
    ack()
    user = shortcut["user"]["id"]
    leads.require_department(session, user)  # anyone in a department, as /lead new
    text = (shortcut.get("message") or {}).get("text") or ""
    guess = lead_form.guess(text, leads.mail_providers(session))
    view = modal(locale, guess, channel=(shortcut.get("channel") or {}).get("id"))
    client.views_open(trigger_id=shortcut["trigger_id"], view=view)


def submit(
    ack: Ack,
    body: dict,
    view: dict,
    session: Session,
    now: datetime,
    locale: str,
    client: WebClient,
) -> None:
    user = body["user"]["id"]
    leads.require_department(session, user)
    values = view["state"]["values"]
    typed = {
        field: (values.get(field, {}).get(field) or {}).get("value") for field in lead_form.FIELDS
    }
    form, problems = lead_form.check(typed)
    if form is None:
        ack(response_action="errors", errors=inline_errors(problems, locale, "company"))
        return
    routed = routing.route_new(
        session,
        actor=user,
        name=form.name,
        domain=form.domain,
        employees=form.employees,
        country=form.country,
        industry=form.industry,
        source=routing.slack_source(user),
        now=now,
        contact=form.contact,
    )
    ack()
    deliver(session, client, routed.posts, now)
    message = render.message("routing.routed", locale, **routed.reply())
    channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    if channel and not channel.startswith("D"):
        try:
            client.chat_postEphemeral(channel=channel, user=user, **message.as_post())
            return
        except SlackApiError:
            pass  # the bot is not in that channel: a DM says it instead
    client.chat_postMessage(channel=user, **message.as_post())
