"""``/lead``: claim and manage customers. Rules live in :mod:`bot.services.leads`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.config import Settings
from bot.money import parse_amount
from bot.services import handoffs, lead_attributes, merging, routing, territories
from bot.services import leads as svc
from bot.services.absence import absence_on
from bot.services.errors import InvalidInput
from handlers.notify import deliver, direct_messages
from handlers.parsing import as_user, is_help, tokens


def register(app: App) -> None:
    app.command("/lead")(lead_command)


def lead_command(
    ack: Ack,
    command: dict,
    session: Session,
    now: datetime,
    locale: str,
    client: WebClient,
    settings: Settings,
) -> None:
    args = tokens(command.get("text"))
    if not args or is_help(args):
        ack(**render.message("help.lead", locale).ephemeral())
        return
    sub, rest = args[0].lower(), args[1:]
    run = SUBCOMMANDS.get(sub)
    if run is None:
        ack(
            **render.message(
                "errors.unknown_subcommand", locale, command="/lead", given=args[0]
            ).ephemeral()
        )
        return
    if sub not in ("mine", "pool", "list") and not rest:
        usage = (
            render.message("lead.merge_usage", locale)
            if sub == "merge"
            else render.message("routing.new_usage", locale)
            if sub == "new"
            else render.message("handoff.usage", locale)
            if sub == "handoff"
            else render.message("lead.usage", locale, action=sub)
        )
        ack(**usage.ephemeral())
        return
    request = Request(
        words=rest,
        actor=command["user_id"],
        session=session,
        now=now,
        client=client,
        settings=settings,
    )
    ack(**run(request).render(locale).ephemeral())


@dataclass(frozen=True)
class Request:
    """One ``/lead`` call: the words after the subcommand and what a subcommand needs."""

    words: list[str]
    actor: str
    session: Session
    now: datetime
    client: WebClient
    settings: Settings

    def notify(self, users: Iterable[str | None], template: str, /, **data: Any) -> None:
        direct_messages(self.client, self.session, self.settings, users, template, **data)


class Reply:
    """A template and its data; rendered in the caller's locale."""

    def __init__(self, template: str, **data: Any) -> None:
        self.template = template
        self.data = data

    def render(self, locale: str) -> render.Message:
        return render.message(self.template, locale, **self.data)


def claim(r: Request) -> Reply:
    done = svc.claim(r.session, actor=r.actor, words=r.words, now=r.now)
    return Reply("lead.claimed", **done.reply())


def release(r: Request) -> Reply:
    before = svc.release(r.session, actor=r.actor, words=r.words, now=r.now)
    if before.lead.owner_id != r.actor:
        r.notify([before.lead.owner_id], "lead.released_by", item=before, actor=r.actor)
    return Reply("lead.released", item=before)


def transfer(r: Request) -> Reply:
    to_user = as_user(r.words[-1]) if len(r.words) >= 2 else None
    if to_user is None:
        raise InvalidInput("lead.usage", action="transfer")
    done = svc.transfer(r.session, actor=r.actor, words=r.words[:-1], to_user=to_user, now=r.now)
    if done.request is None:
        r.notify(
            [u for u in (done.previous.lead.owner_id, to_user) if u != r.actor],
            "lead.transferred",
            item=done.lead,
            previous=done.previous,
            to_user=to_user,
        )
        r.notify(
            [u for u in done.losing_managers if u != r.actor],
            "lead.transfer_left_department",
            item=done.lead,
            previous=done.previous,
            to_user=to_user,
        )
        if done.out_of_territory:
            return Reply(
                "lead.transferred",
                item=done.lead,
                previous=done.previous,
                to_user=to_user,
                territory=done.out_of_territory,
            )
        return Reply("lead.transferred", item=done.lead, previous=done.previous, to_user=to_user)
    if done.from_managers:
        r.notify(
            [*done.from_managers, *done.approvers],
            "lead.transfer_request_cross",
            request=done.request,
            item=done.lead,
            to_department=done.to_department,
            from_department=done.from_department,
        )
        return Reply(
            "lead.transfer_requested_cross",
            item=done.lead,
            to_user=to_user,
            to_department=done.to_department,
            approvers=done.approvers,
            from_department=done.from_department,
            from_managers=done.from_managers,
        )
    r.notify(
        done.approvers,
        "lead.transfer_request",
        request=done.request,
        item=done.lead,
        to_department=done.to_department,
    )
    return Reply(
        "lead.transfer_requested", item=done.lead, to_user=to_user, approvers=done.approvers
    )


def who(r: Request) -> Reply:
    """Names the territory department too when the lead has an owner in another one, and
    whether the owner is away today."""
    item = svc.view(r.session, r.words, actor=r.actor)
    owner = item.lead.owner_id
    today = render.local(r.now).date()
    away = absence_on(r.session, owner, today) if owner else None
    territory = territories.territory_department(r.session, item.lead)
    if territory is not None and owner and territory.id != item.lead.department_id:
        return Reply("lead.who", item=item, territory=territory.name, away=away)
    return Reply("lead.who", item=item, away=away)


def set_(r: Request) -> Reply:
    """``/lead set <company> employees|country|industry <value>``."""
    done = lead_attributes.set_attribute(r.session, actor=r.actor, words=r.words, now=r.now)
    return Reply(
        "lead.attribute_set",
        lead=done.lead,
        attribute=done.attribute,
        value=done.value,
        previous=done.previous,
        territory=done.territory.name if done.territory else None,
    )


def mine(r: Request) -> Reply:
    """``/lead mine`` lists the caller's leads; ``/lead mine @person`` that person's (anyone may
    look, as anyone may ``/lead who`` each of them; the reply says whose they are)."""
    if not r.words:
        return Reply("lead.mine", items=svc.owned_by(r.session, r.actor))
    user = as_user(r.words[0]) if len(r.words) == 1 else None
    if user is None:
        raise InvalidInput("lead.mine_usage", given=" ".join(r.words))
    owner = None if user == r.actor else user
    return Reply("lead.mine", items=svc.owned_by(r.session, user), owner=owner)


def pool(r: Request) -> Reply:
    """``/lead pool [words] [page N]``: the pool a page at a time, searched by name when words
    are given. Paging is by command, not a "More" button: the footer shows the exact command of
    the next page, which also works from the Home tab, a DM or a thread."""
    words, page = r.words, 1
    if len(words) >= 2 and words[-2].lower() in ("page", "页"):
        if not words[-1].isdigit() or int(words[-1]) < 1:
            raise InvalidInput("lead.pool_usage", given=" ".join(words[-2:]))
        words, page = words[:-2], int(words[-1])
    elif words and words[-1].lower() in ("page", "页"):
        raise InvalidInput("lead.pool_usage", given=words[-1])
    found = svc.pool(r.session, search=" ".join(words) or None, page=page)
    return Reply(
        "lead.pool",
        leads=found.leads,
        total=found.total,
        page=found.page,
        pages=found.pages,
        search=found.search,
    )


def list_(r: Request) -> Reply:
    """``/lead list [@user|department] [stage]``."""
    words, user = r.words, None
    if words and as_user(words[0]) is not None:
        user, words = as_user(words[0]), words[1:]
    found = svc.list_leads(r.session, actor=r.actor, user=user, words=words)
    return Reply("lead.listed", found=found)


def stage(r: Request) -> Reply:
    words, amount = r.words, None
    if len(words) >= 3 and svc.stage_of(words[-2]):
        amount = _amount(words[-1])
        words = words[:-1]
    if len(words) < 2:
        raise InvalidInput("lead.usage", action="stage")
    name = svc.stage_of(words[-1])
    if name is None:
        raise InvalidInput("lead.bad_stage", given=words[-1], stages=svc.STAGES)
    return _set_stage(r, words[:-1], name, amount=amount)


def won(r: Request) -> Reply:
    if len(r.words) < 2:
        raise InvalidInput("lead.won_needs_amount", lead=" ".join(r.words))
    return _set_stage(r, r.words[:-1], "won", amount=_amount(r.words[-1]))


def lost(r: Request) -> Reply:
    lead, reason = svc.find(r.session, r.words, actor=r.actor)
    change = svc.set_stage(
        r.session,
        actor=r.actor,
        lead=lead,
        stage="lost",
        reason=" ".join(reason) or None,
        now=r.now,
    )
    deliver(r.session, r.client, change.posts, r.now)
    return Reply("lead.stage_set", change=change)


def history(r: Request) -> Reply:
    lead = svc.find_whole(r.session, r.words, actor=r.actor)
    return Reply("lead.history", lead=lead, lines=svc.history(r.session, lead))


def _amount(token: str) -> int:
    cents = parse_amount(token)
    if cents is None:
        raise InvalidInput("lead.bad_amount", given=token)
    return cents


def _set_stage(r: Request, words: list[str], stage: str, *, amount: int | None) -> Reply:
    lead = svc.find_whole(r.session, words, actor=r.actor)
    change = svc.set_stage(
        r.session, actor=r.actor, lead=lead, stage=stage, amount_cents=amount, now=r.now
    )
    deliver(r.session, r.client, change.posts, r.now)
    return Reply("lead.stage_set", change=change)


_NEW_FIELDS = {
    "employees": territories.employee_count,
    "country": territories.country_code,
    "industry": territories.industry_word,
}


def new(r: Request) -> Reply:
    """``/lead new <company> [domain] [employees=N] [country=XX] [industry=WORD]``: the lead is
    routed as one from the intake API is (anyone in a department may add one)."""
    svc.require_department(r.session, r.actor)
    words, fields = [], {}
    for word in r.words:
        key, eq, value = word.partition("=")
        if eq and key.lower() in _NEW_FIELDS:
            parsed = _NEW_FIELDS[key.lower()](value)
            if parsed is None:
                raise InvalidInput("routing.bad_field", field=key.lower(), value=value)
            fields[key.lower()] = parsed
        else:
            words.append(word)
    if not words:
        raise InvalidInput("routing.new_usage")
    company = svc.company_of(words, session=r.session)
    routed = routing.route_new(
        r.session,
        actor=r.actor,
        name=company.name,
        domain=company.domain,
        source=routing.slack_source(r.actor),
        now=r.now,
        **fields,
    )
    deliver(r.session, r.client, routed.posts, r.now)
    return Reply("routing.routed", **routed.reply())


def assign(r: Request) -> Reply:
    """``/lead assign <company> <@user>`` (a manager of the user's department, an admin)."""
    user = as_user(r.words[-1]) if len(r.words) >= 2 else None
    if user is None:
        raise InvalidInput("lead.usage", action="assign")
    lead, department, posts = routing.assign(
        r.session, actor=r.actor, words=r.words[:-1], user=user, now=r.now
    )
    deliver(r.session, r.client, posts, r.now)
    # a won customer is assigned only as a handoff (a pool lead starts over as new)
    template = "handoff.assigned" if lead.stage == "won" else "routing.assigned"
    if user != r.actor:
        r.notify([user], template, lead=lead, department=department)
    return Reply(template, lead=lead, department=department)


def handoff(r: Request) -> Reply:
    """``/lead handoff <company> [note]``: hand a won customer to the department that keeps
    it now, not when its handoff falls due (DESIGN §10)."""
    done = handoffs.hand_over(r.session, actor=r.actor, words=r.words, now=r.now)
    deliver(r.session, r.client, done.posts, r.now)
    return Reply(
        "handoff.handed",
        lead=done.lead,
        department=done.to_department,
        offered_to=done.offered_to,
    )


def merge(r: Request) -> Reply:
    done = merging.merge(r.session, actor=r.actor, words=r.words, now=r.now)
    owners = {done.retired.lead.owner_id, done.kept.lead.owner_id} - {None, r.actor}
    r.notify(owners, "lead.merged", merged=done)
    return Reply("lead.merged", merged=done)


def delete(r: Request) -> Reply:
    before = merging.delete(r.session, actor=r.actor, words=r.words, now=r.now)
    if before.lead.owner_id not in (None, r.actor):
        r.notify([before.lead.owner_id], "lead.deleted", item=before)
    return Reply("lead.deleted", item=before)


SUBCOMMANDS = {
    "claim": claim,
    "release": release,
    "transfer": transfer,
    "who": who,
    "mine": mine,
    "pool": pool,
    "stage": stage,
    "won": won,
    "lost": lost,
    "history": history,
    "list": list_,
    "merge": merge,
    "delete": delete,
    "set": set_,
    "new": new,
    "assign": assign,
    "handoff": handoff,
}
