"""The handoff note (DESIGN §10): the "Write handoff note" button of a won deal's DM opens a
modal with key contacts, commitments made, risks and next step (each at most 2,000
characters); a field over its limit comes back as its own inline error, so nothing typed is
lost. Rules live in :mod:`bot.services.handoffs`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.ids import Action, View
from bot.services import handoffs
from bot.services.errors import InvalidInput, ServiceError
from handlers.notify import deliver
from handlers.views.form import inline_errors, plain


def register(app: App) -> None:
    app.action(Action.HANDOFF_NOTE)(open_note)
    app.view(View.HANDOFF_NOTE)(submit)


def modal(locale: str, form: handoffs.NoteForm) -> dict[str, Any]:
    def t(name: str, **data: Any) -> str:
        return render.plain(render.text(f"handoff.{name}", locale, **data)).strip()

    note = form.handoff.note or {}
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": render.text(
                    "handoff.modal_intro",
                    locale,
                    lead=form.lead,
                    department=form.to_department,
                ).strip()[:3000],
            },
        }
    ]
    for field in handoffs.NOTE_FIELDS:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": field,
            "multiline": True,
            "max_length": 3000,  # longer than the limit, so the limit's own message is shown
        }
        if note.get(field):
            element["initial_value"] = note[field]
        blocks.append(
            {
                "type": "input",
                "block_id": field,
                "optional": True,
                "label": plain(t("field_name", field=field)),
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": str(View.HANDOFF_NOTE),
        "title": plain(t("modal_title")[:24]),
        "submit": plain(t("modal_submit")),
        "close": plain(t("modal_close")),
        "private_metadata": json.dumps({"handoff_id": form.handoff.id}),
        "blocks": blocks,
    }


def open_note(
    ack: Ack,
    action: dict,
    body: dict,
    session: Session,
    locale: str,
    client: WebClient,
) -> None:
    ack()
    value = str(action.get("value") or "")
    if not value.isdigit():
        raise InvalidInput("handoff.not_found")
    form = handoffs.note_form(session, actor=body["user"]["id"], handoff_id=int(value))
    client.views_open(trigger_id=body["trigger_id"], view=modal(locale, form))


def submit(
    ack: Ack,
    body: dict,
    view: dict,
    session: Session,
    now: datetime,
    locale: str,
    client: WebClient,
) -> None:
    values = view["state"]["values"]
    note = {
        field: values.get(field, {}).get(field, {}).get("value") for field in handoffs.NOTE_FIELDS
    }
    errors = inline_errors(handoffs.note_problems(note), locale, "next_step")
    if errors:
        ack(response_action="errors", errors=errors)
        return
    handoff_id = json.loads(view.get("private_metadata") or "{}").get("handoff_id")
    user = body["user"]["id"]
    try:
        handoff, lead, posts = handoffs.write_note(
            session, actor=user, handoff_id=int(handoff_id or 0), note=note, now=now
        )
    except ServiceError as error:  # done or cancelled meanwhile, or not theirs: say so inline
        message = render.plain(render.text(error.template_path, locale, **error.data)).strip()
        ack(response_action="errors", errors={"key_contacts": message[:150]})
        return
    ack()
    deliver(session, client, posts, now)
    client.chat_postMessage(
        channel=user,
        **render.message("handoff.note_saved", locale, lead=lead, handoff=handoff).as_post(),
    )
