"""The "Log activity" modal: opened by ``/log`` with no text, by the "Log activity" message
shortcut (the message becomes the note) and by the Log button of an expiry warning (the lead
is chosen). The company field types ahead over the caller's leads; a name that is not one of
them ("New: …") claims that customer for the caller and logs in one transaction. Invalid
fields come back as inline errors, every field's at once, so nothing typed is lost."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.ids import Action, Shortcut, View
from bot.periods import local_date
from bot.services import activities, leads
from bot.services.text import free_text
from bot.store.models import Lead
from handlers.views.form import inline_errors, plain

NEW = "new:"
LEAD = "lead:"
MAX_NOTE = 3000
#: A new company typed in the modal travels in an option's value, which Slack caps at 150.
MAX_NEW_NAME = 150 - len(NEW)
TOO_LONG = "too-long:"


def register(app: App) -> None:
    app.options(Action.LOG_COMPANY)(company_options)
    app.view(View.LOG_ACTIVITY)(submit)
    app.shortcut(Shortcut.LOG_ACTIVITY)(from_message)
    app.action(Action.LEAD_LOG)(from_warning)


def _option(lead: Lead) -> dict[str, Any]:
    return {"text": plain(lead.name[:75]), "value": f"{LEAD}{lead.id}"}


def modal(
    locale: str,
    *,
    today: date,
    lead: Lead | None = None,
    note: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    def t(name: str, **data: Any) -> str:
        return render.text(f"log.{name}", locale, **data)

    company: dict[str, Any] = {
        "type": "external_select",
        "action_id": str(Action.LOG_COMPANY),
        "min_query_length": 0,
        "placeholder": plain(t("modal_choose")),
    }
    if lead is not None:
        company["initial_option"] = _option(lead)
    note_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "note",
        "multiline": True,
    }
    if note:
        note_input["initial_value"] = note[:MAX_NOTE]
    kinds = [{"text": plain(t("kind_name", kind=kind)), "value": kind} for kind in activities.KINDS]
    return {
        "type": "modal",
        "callback_id": str(View.LOG_ACTIVITY),
        "title": plain(t("modal_title")),
        "submit": plain(t("modal_submit")),
        "close": plain(t("modal_close")),
        "private_metadata": json.dumps({"channel": channel}),
        "blocks": [
            {
                "type": "input",
                "block_id": "kind",
                "label": plain(t("modal_kind")),
                "element": {
                    "type": "static_select",
                    "action_id": "kind",
                    "placeholder": plain(t("modal_choose")),
                    "options": kinds,
                    "initial_option": kinds[0],
                },
            },
            {
                "type": "input",
                "block_id": str(Action.LOG_COMPANY),
                "label": plain(t("modal_company")),
                "hint": plain(t("modal_company_hint")),
                "element": company,
            },
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "label": plain(t("modal_note")),
                "element": note_input,
            },
            {
                "type": "input",
                "block_id": "date",
                "optional": True,
                "label": plain(t("modal_date")),
                "element": {
                    "type": "datepicker",
                    "action_id": "date",
                    "initial_date": today.isoformat(),
                },
            },
        ],
    }


def open_modal(
    client: WebClient,
    session: Session,
    *,
    trigger_id: str,
    user: str,
    locale: str,
    now: datetime,
    lead: Lead | None = None,
    note: str | None = None,
    channel: str | None = None,
) -> None:
    _member, department = leads.require_department(session, user)
    view = modal(
        locale,
        today=local_date(now, department.timezone),
        lead=lead,
        note=note,
        channel=channel,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def company_options(ack: Ack, body: dict, session: Session, locale: str) -> None:
    query = (body.get("value") or "").strip()
    found = activities.suggestions(session, actor=body["user"]["id"], query=query)
    options = [_option(lead) for lead in found]
    if len(query) > MAX_NEW_NAME:
        # Slack caps an option's value, so a longer name cannot be carried: say so, not cut it.
        label = render.text("log.modal_name_too_long", locale, limit=MAX_NEW_NAME)
        options.append({"text": plain(label), "value": TOO_LONG})
    elif query and not any(lead.name.casefold() == query.casefold() for lead in found):
        label = render.text("log.modal_new_company", locale, name=query[:60])
        options.append({"text": plain(label), "value": NEW + query})
    ack(options=options[:100])


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
    kind = _selected(values, "kind")
    company = _selected(values, "company")
    errors = {
        block: render.text("log.modal_required", locale)
        for block, value in (("kind", kind), ("company", company))
        if not value
    }
    if company == TOO_LONG:
        errors["company"] = render.text("log.modal_name_too_long", locale, limit=MAX_NEW_NAME)
        company = None
    on_text = values.get("date", {}).get("date", {}).get("selected_date")
    on = date.fromisoformat(on_text) if on_text else None
    note = values.get("note", {}).get("note", {}).get("value")
    user = body["user"]["id"]
    target: dict[str, Any] = {}
    if company:
        target = (
            {"lead_id": int(company[len(LEAD) :])}
            if company.startswith(LEAD) and company[len(LEAD) :].isdigit()
            else {"company": company.removeprefix(NEW)}
        )
    problems = activities.problems(
        session,
        actor=user,
        kind=kind,
        company=target.get("company"),
        lead_id=target.get("lead_id"),
        note=note,
        on=on,
        now=now,
    )
    for block, message in inline_errors(problems, locale, "company").items():
        errors.setdefault(block, message)  # a problem found earlier in the form stands
    if errors:
        ack(response_action="errors", errors=errors)
        return
    logged = activities.log(session, actor=user, kind=kind, note=note, on=on, now=now, **target)
    assert isinstance(logged, activities.Logged)  # the modal claims a new customer at once
    ack()
    message = logged_message(logged, locale)
    channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    if channel:
        client.chat_postEphemeral(channel=channel, user=user, **message.as_post())
    else:
        client.chat_postMessage(channel=user, **message.as_post())


def logged_message(logged: activities.Logged, locale: str) -> render.Message:
    return render.message(
        "log.logged",
        locale,
        activity=logged.activity,
        item=logged.lead,
        renewed=logged.renewed,
    )


def _selected(values: dict, block: str) -> str | None:
    state = values.get(block, {}).get(block, {})
    option = state.get("selected_option")
    return option.get("value") if option else None


def from_message(
    ack: Ack, shortcut: dict, session: Session, now: datetime, locale: str, client: WebClient
) -> None:
    ack()
    open_modal(
        client,
        session,
        trigger_id=shortcut["trigger_id"],
        user=shortcut["user"]["id"],
        locale=locale,
        now=now,
        note=free_text((shortcut.get("message") or {}).get("text") or "") or None,
        channel=(shortcut.get("channel") or {}).get("id"),
    )


def from_warning(
    ack: Ack,
    action: dict,
    body: dict,
    session: Session,
    now: datetime,
    locale: str,
    client: WebClient,
) -> None:
    ack()
    lead = session.get(Lead, int(action["value"])) if str(action.get("value")).isdigit() else None
    open_modal(
        client,
        session,
        trigger_id=body["trigger_id"],
        user=body["user"]["id"],
        locale=locale,
        now=now,
        lead=lead,
    )
