"""Filling in and submitting a modal the way Slack does, for the shell and the tests.

``state_values`` turns answers keyed by block id (``{"kind": "call", "company": "Acme"}``)
into the ``view.state.values`` Slack sends with ``view_submission``: a select takes the option
whose value or text matches, an external select asks the app for options (a
``block_suggestion`` request, through ``suggest``) and takes the first, a date picker takes an
ISO date, a text input the text. Blocks not answered keep their initial value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Suggest = Callable[[str, str, str], list[dict[str, Any]]]


def _initial(element: dict[str, Any]) -> dict[str, Any]:
    kind = element["type"]
    if kind in ("static_select", "external_select"):
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind == "datepicker":
        return {"type": kind, "selected_date": element.get("initial_date")}
    return {"type": kind, "value": element.get("initial_value")}


def _answer(
    block_id: str, element: dict[str, Any], answer: str, suggest: Suggest | None
) -> dict[str, Any]:
    kind = element["type"]
    if kind in ("static_select", "external_select"):
        if kind == "static_select":
            options = element.get("options", [])
        else:
            options = suggest(block_id, element["action_id"], answer) if suggest else []
        folded = answer.casefold()
        chosen = next(
            (
                o
                for o in options
                if o["value"].casefold() == folded or o["text"]["text"].casefold() == folded
            ),
            options[0] if options and kind == "external_select" else None,
        )
        return {"type": kind, "selected_option": chosen}
    if kind == "datepicker":
        return {"type": kind, "selected_date": answer or None}
    return {"type": kind, "value": answer or None}


def state_values(
    view: dict[str, Any], answers: dict[str, str], suggest: Suggest | None = None
) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        block_id = block["block_id"]
        if block_id in answers:
            state = _answer(block_id, element, answers[block_id], suggest)
        else:
            state = _initial(element)
        values[block_id] = {element["action_id"]: state}
    return values


def submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The ``view_submission`` payload for ``view`` with ``values`` filled in."""
    return {
        "type": "view_submission",
        "team": {"id": "T0TEAM"},
        "user": {"id": user},
        "view": {**view, "id": view.get("id", "V0SHELL"), "state": {"values": values}},
    }


def suggestion(user: str, view: dict[str, Any], block_id: str, action_id: str, value: str):  # type: ignore[no-untyped-def]
    """The ``block_suggestion`` payload Slack sends while a user types in an external select."""
    return {
        "type": "block_suggestion",
        "team": {"id": "T0TEAM"},
        "user": {"id": user},
        "block_id": block_id,
        "action_id": action_id,
        "value": value,
        "view": view,
    }
