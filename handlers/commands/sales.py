"""``/sales``: help, department management, reports, digest and agenda previews, exports."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App
from sqlmodel import Session

from bot import render
from bot.services import departments as svc
from bot.services import reports, routing, territories
from handlers.parsing import as_channel_mention, as_user, channel_id, is_help, tokens
from jobs import exports, posts

DEPT_ACTIONS = ("list", "show", "create", "rename", "channel", "add", "remove", "set", "move")


def leads_clause(words: list[str]) -> tuple[list[str], str | None, bool]:
    """Split a trailing ``leads to @user|pool`` / ``leads keep`` off ``words``: (the words
    before it, ``POOL``/``KEEP``/a user id or None, whether the clause was well formed)."""
    lowered = [w.lower() for w in words]
    if "leads" not in lowered:
        return words, None, True
    at = lowered.index("leads")
    head, tail = words[:at], lowered[at + 1 :]
    if tail == ["keep"]:
        return head, svc.KEEP, True
    if len(tail) == 2 and tail[0] == "to":
        if tail[1] == "pool":
            return head, svc.POOL, True
        user = as_user(words[at + 2])
        if user:
            return head, user, True
    return head, None, False


def register(app: App) -> None:
    app.command("/sales")(sales_command)


def sales_command(ack: Ack, command: dict, session: Session, locale: str, now: datetime) -> None:
    args = tokens(command.get("text"))
    if not args or is_help(args):
        ack(**render.message("help.all", locale).ephemeral())
        return
    sub, rest = args[0].lower(), args[1:]
    if sub == "dept":
        ack(
            **dept(
                rest, actor=command["user_id"], session=session, locale=locale, now=now
            ).ephemeral()
        )
    elif sub == "routing":
        ack(
            **routing_status(
                rest, actor=command["user_id"], session=session, locale=locale, now=now
            ).ephemeral()
        )
    elif sub in ("report", "digest", "agenda", "export"):
        actor = command["user_id"]
        ack(
            **reporting(sub, rest, actor=actor, session=session, locale=locale, now=now).ephemeral()
        )
    else:
        ack(
            **render.message(
                "errors.unknown_subcommand", locale, command="/sales", given=args[0]
            ).ephemeral()
        )


def dept(
    args: list[str], *, actor: str, session: Session, locale: str, now: datetime | None = None
) -> render.Message:
    """``/sales dept …``; each branch calls one service function and renders its result."""
    action = args[0].lower() if args else "list"
    rest = args[1:]
    if action not in DEPT_ACTIONS or is_help(args):
        return render.message("help.dept", locale)
    if action == "list":
        return render.message("dept.list", locale, departments=svc.list_departments(session))
    if not rest:
        return render.message("errors.dept_usage", locale, action=action)
    name = rest[0]
    if action == "show":
        department = svc.find_department(session, name)
        return render.message(
            "dept.show",
            locale,
            department=department,
            members=svc.members_of(session, department),
            territory=territories.describe(department.territory),
            policy=territories.policy(session),
            calendar=svc.holiday_calendar(department, now, locale),
            handoff_to=svc.handoff_to_name(session, department),
        )
    if action == "create":
        channel = as_channel_mention(rest[-1]) if len(rest) > 1 else None
        name = " ".join(rest[:-1]) if channel else " ".join(rest)
        department = svc.create_department(session=session, actor=actor, name=name, channel=channel)
        return render.message("dept.created", locale, department=department)
    if action == "rename" and len(rest) >= 2:
        old = svc.find_department(session, name).name
        department = svc.rename_department(
            session=session, actor=actor, name=name, new_name=" ".join(rest[1:])
        )
        return render.message("dept.renamed", locale, old=old, department=department)
    if action == "channel" and len(rest) == 2:
        department = svc.set_channel(
            session=session, actor=actor, name=name, channel=channel_id(rest[1])
        )
        return render.message("dept.channel_set", locale, department=department)
    if action == "move":
        words, leads_to, ok = leads_clause(rest)
        user = as_user(words[0]) if words else None
        if not ok or user is None or len(words) < 2:
            return render.message("errors.dept_usage", locale, action=action)
        department, old, member, leads = svc.move_member(
            session=session,
            actor=actor,
            user_id=user,
            name=" ".join(words[1:]),
            leads_to=leads_to,
        )
        return render.message(
            "dept.moved",
            locale,
            department=department,
            old=old,
            user=member.user_id,
            role=member.role,
            leads=leads,
            leads_to=svc.KEEP if leads_to == member.user_id else leads_to,
        )
    if action in ("add", "remove") and len(rest) >= 2:
        words, leads_to, ok = leads_clause(rest) if action == "remove" else (rest, None, True)
        users = [u for u in map(as_user, words[1:]) if u]
        roles = [t.lower() for t in words[1:] if as_user(t) is None]
        role = roles[0] if roles else "rep"
        if not ok or not users or len(roles) > 1 or leads_to == svc.KEEP:
            return render.message("errors.dept_usage", locale, action=action)
        done, handed = [], 0
        for user in users:
            if action == "add":
                department, member = svc.add_member(
                    session=session, actor=actor, name=name, user_id=user, role=role
                )
            else:
                department, member, leads = svc.remove_member(
                    session=session, actor=actor, name=name, user_id=user, leads_to=leads_to
                )
                handed += leads
            done.append(member.user_id)
        if action == "add":
            return render.message(
                "dept.added", locale, department=department, users=done, role=role
            )
        return render.message(
            "dept.removed",
            locale,
            department=department,
            users=done,
            role=role,
            leads=handed,
            leads_to=leads_to,
        )
    if action == "set" and len(rest) >= 3:
        department, value = svc.set_option(
            session=session,
            actor=actor,
            name=name,
            key=rest[1].lower().replace("-", "_"),
            value=" ".join(rest[2:]),
        )
        return render.message(
            "dept.option_set",
            locale,
            department=department,
            key=rest[1].lower().replace("-", "_"),
            value=value,
        )
    return render.message("errors.dept_usage", locale, action=action)


def routing_status(
    args: list[str], *, actor: str, session: Session, locale: str, now: datetime
) -> render.Message:
    """``/sales routing [department]``: the caller's department unless one is named."""
    if args:
        department = svc.find_department(session, " ".join(args))
    else:
        department = svc.department_of(session, actor)
        if department is None:
            return render.message("routing.which_department", locale)
    found = routing.status(session, department, now)
    return render.message(
        "routing.status",
        locale,
        department=found.department,
        rotation=found.rotation,
        waiting=found.waiting,
        away=found.away,
        limit=found.department.max_leads_per_rep,
    )


def reporting(
    sub: str, args: list[str], *, actor: str, session: Session, locale: str, now: datetime
) -> render.Message:
    """``/sales report|digest|agenda|export …``; each calls one function and renders it."""
    if is_help(args):
        return render.message("report.usage", locale)
    if sub == "report":
        report = reports.report_for(session, actor=actor, words=args, now=now)
        return render.message("report.report", locale, report=report)
    if sub == "digest":
        return posts.preview_digest(session, actor=actor, words=args, now=now)
    if sub == "agenda":
        return posts.preview_agenda(session, actor=actor, words=args, now=now)
    summary = exports.request_export(session, actor=actor, words=args, now=now, locale=locale)
    return render.message("export.queued", locale, export=summary)
