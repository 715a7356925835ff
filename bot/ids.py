"""Every action, view and shortcut id, in one place: listeners register them and templates
put them on buttons (``Action`` is a Jinja global), so an id is never spelled twice."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    LEAD_CLAIM = "lead_claim"
    LEAD_RELEASE = "lead_release"
    LEAD_LOG = "lead_log"
    #: "Add <company> as a new lead and log", offered by /log for a customer nobody has
    LOG_NEW_LEAD = "log_new_lead"
    TRANSFER_APPROVE = "transfer_approve"
    TRANSFER_REJECT = "transfer_reject"
    #: an offered lead's DM (DESIGN §8): take it, or let the next rep have it
    OFFER_ACCEPT = "offer_accept"
    OFFER_PASS = "offer_pass"
    #: the managers' menu of people for a lead nobody took (its block id holds the routing)
    ROUTING_ASSIGN = "routing_assign"
    #: the won deal's "Write handoff note" button (DESIGN §10; its value is the handoff's id)
    HANDOFF_NOTE = "handoff_note"
    #: the company field of the log modal (an external select: its options come from us)
    LOG_COMPANY = "company"


class View(StrEnum):
    LOG_ACTIVITY = "log_activity"
    #: the "New lead" form opened by the message shortcut (DESIGN §8)
    NEW_LEAD = "new_lead"
    HANDOFF_NOTE = "handoff_note_view"


class Shortcut(StrEnum):
    #: must match ``callback_id`` of the message shortcut in manifest.yml
    LOG_ACTIVITY = "log_activity_shortcut"
    #: "New lead": route the message's company through the rotation (DESIGN §8)
    NEW_LEAD = "new_lead_shortcut"


#: ``routing.source`` of a lead someone added in Slack (``/lead new``, the "New lead" form), the
#: person's id after it; templates show it as that person (``|source``).
SLACK_SOURCE = "slack:"
