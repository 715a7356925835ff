"""``salesbot demo --tour``: a guided walk through the demo company, typed for the reader.

Each step says in a sentence what it shows (``shell.tour`` in templates/), then types its lines
into the shell exactly as a person would: slash commands, ``:as`` to change user, ``:click``,
``:home``, ``:run``. Nothing here is a second code path: every line goes through
:meth:`Shell.handle`, the same as typed input, so the tour shows what a user would see.

The steps follow the demo company of :mod:`bot.devslack.demo_data` (its people, departments
and leads), so the tour always starts from a new demo database.
"""

from __future__ import annotations

from typing import Protocol

from bot import render


class Shell(Protocol):
    """What the tour needs of :class:`bot.devslack.shell.Shell`: who types, and typing."""

    user: str

    def say(self, text: str) -> None: ...

    def handle(self, line: str) -> bool: ...


#: (what the step shows, the lines it types). Step names key ``shell.tour``.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "mail",
        (
            ":as U0REP1",
            "/lead claim Another Small Shop gmail.com",
            ":as U0REP3",
            "/lead claim 李四五金店 qq.com",
            "/lead claim 张三餐馆 qq.com",
        ),
    ),
    ("quotes", (":as U0REP2", "/lead claim O'Reilly Media", "/lead claim McDonald's")),
    # "Асmе Corp" below is spelt with the Cyrillic letters А, с and е.
    ("lookalike", (":as U0REP4", "/lead claim \u0410\u0441m\u0435 Corp")),
    (
        "chinese",
        (
            ":as U0REP1",
            "/lead claim 华为技术有限公司",
            ":as U0REP3",
            "/lead claim 华为技术（深圳）有限公司",
        ),
    ),
    ("no_name", ("/lead claim Ltd", "/lead claim <!channel>")),
    ("log_new", (":as U0REP4", "/log 拜访 华为技术有限公司拜访了采购部", ":click 1", "/log undo")),
    ("last_activity", ("/log call Umbrella Co met the buyer & the CFO", "/lead who Umbrella Co")),
    (
        "cleanup",
        (
            ":as U0ADMIN",
            '/lead merge "Soylent Food Co" into "Soylent Foods"',
            "/lead delete 张三餐馆",
        ),
    ),
    (
        "settings",
        (
            "/sales dept set SMB claim_days 10000000",
            "/sales dept set SMB warn_days 9",
            "/sales dept show SMB",
            "/sales dept remove SMB <@U0REP4>",
        ),
    ),
    (
        "stages",
        (
            ":as U0REP1",
            "/lead stage Acme Corp negotiation 120k",
            "/lead won Acme Corp 120k",
            "/lead stage Acme Corp proposal",
            "/lead history Acme Corp",
        ),
    ),
    ("reading", ("/lead mine <@U0REP3>", "/lead pool", "/lead pool stark")),
    (
        "managers",
        (
            ":as U0MGR1",
            "/sales report yesterday",
            "/sales report Enterprise quarter",
            "/sales report monthly",
            "/lead list",
        ),
    ),
    (
        "transfer",
        (":as U0REP2", "/lead transfer O'Reilly Media <@U0REP3>", ":as U0MGR2", ":home"),
    ),
    (
        "routing",
        (
            ":as U0REP1",
            "/away today",
            ":as U0MGR1",
            "/lead new Wonka Industries wonka.com employees=1500",
            "/sales routing",
            ":as U0REP2",
            ":click 1",
            ":as U0MGR2",
        ),
    ),
    (
        "handoff",
        (
            ":as U0REP2",
            "/lead history Vandelay Industries",
            ":as U0REP1",
            "/lead handoff Initrode call their CFO on Monday",
            ":as U0REP5",
            ":click 1",
            "/lead history Initrode",
            ":as U0MGR2",
        ),
    ),
    ("expiry", (":time +5d", ":run expire-claims")),
    ("shell", ("/lead transfer Initech @U0REP3", "/foo")),
    (
        "holiday",
        (
            ":as U0ADMIN",
            "/sales dept set SMB holidays CN",
            ":time 2027-10-01T09:05:00+08:00",
            ":run daily-digest",
        ),
    ),
)


def play(shell: Shell) -> bool:
    """Type every step into ``shell``; False when a line asked the shell to stop."""
    for number, (step, lines) in enumerate(STEPS, start=1):
        shell.say("")
        shell.say(render.text("shell.tour", None, step=step, number=number, total=len(STEPS)))
        for line in lines:
            shell.say(f"{shell.user}> {line}")
            if not shell.handle(line):
                return False
    shell.say("")
    shell.say(render.text("shell.tour_done", None))
    return True
