"""The terminal shell and the demo: every line goes through a signed app.dispatch."""

from __future__ import annotations

import io
import re

from sqlmodel import Session, select

from bot.config import load_settings
from bot.devslack.shell import run_shell
from bot.services.setup import import_setup
from bot.store.models import Department
from tests.conftest import SETUP_TOML, run_salesbot

SCRIPT = """\
/sales dept create Partners <#C0PART|partners>
:as U0REP1
/sales dept create Rogue
:home
:in C0ENT
/sales dept show Partners
:time +2d
:click 7
:run deliver-outbox
:run expire-claims
/lead claim Acme Corp acme.com
:submit kind=call
/log
:submit kind=call company=Acme note="first call" date=2031-01-01
:submit kind=call company=Acme note="first call"
/sales help
:quit
/sales dept create AfterQuit
"""


def test_scripted_session(engine, db_url) -> None:
    with Session(engine) as session:
        import_setup(session=session, text=SETUP_TOML)
    out = io.StringIO()
    code = run_shell(
        load_settings(database_url=db_url), user="U0ADMIN", stdin=io.StringIO(SCRIPT), stdout=out
    )
    text = out.getvalue()
    assert code == 0
    assert "Created department *Partners* posting to #C0PART" in text
    assert "You are now U0REP1." in text
    assert "Only a salesbot admin can do that. Admins: @U0ADMIN." in text
    assert "── views.publish" in text and "You are a rep in *Enterprise*" in text
    assert "== Partners ==" in text
    assert "The bot's clock reads" in text
    assert "There is no button “7”. No message with buttons has been shown yet." in text
    assert "deliver-outbox: 0 posts sent, 0 kept for a retry." in text
    assert "expire-claims: 0 posts sent" in text
    assert "*Acme Corp* (acme.com) is now yours" in text
    assert "No modal is open" in text
    assert "Fill it in and send it with :submit kind=… company=… note=… date=…" in text
    assert "date: 2031-01-01 is in the future" in text
    assert "Logged a call with *Acme Corp*: “first call”" in text
    assert "/lead claim <company>" in text  # help rendered readably, entities decoded
    with Session(engine) as session:
        names = set(session.exec(select(Department.name)))
    assert names == {"Enterprise", "SMB", "Partners"}


def test_demo_builds_a_company_and_exits_without_a_terminal(tmp_path) -> None:
    done = run_salesbot("demo", "--db", str(tmp_path / "demo.db"), env={}, stdin="")
    assert done.returncode == 0, done.stderr
    assert "Demo company created" in done.stdout
    assert "Enterprise" in done.stdout and "SMB" in done.stdout and "Farmers" in done.stdout
    assert "== salesbot commands ==" in done.stdout


def test_the_demo_tour_walks_through_what_users_asked_for(tmp_path) -> None:
    """``salesbot demo --tour`` types each step into the shell of a new demo company; what it
    prints is what those users see, in their department's language and time zone."""
    db = tmp_path / "demo.db"
    run_salesbot("demo", "--db", str(db), env={}, stdin="")  # a demo left from before …
    done = run_salesbot("demo", "--db", str(db), "--tour", env={}, stdin="")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Demo company created" in out  # … is not what the tour follows
    assert "── Tour 1/18:" in out and "── Tour 18/18:" in out and "End of the tour." in out
    # free mail, apostrophes, look-alikes, Chinese branches, names with nothing left
    assert "gmail.com is a public mail provider's domain" in out
    assert "*McDonald's* is now yours" in out
    assert "名称相近：*Acme Corp*" in out and "名称相近：*华为技术有限公司*" in out
    assert "“Ltd”只是公司类型后缀或提及" in out
    # /log asks before adding a customer, undo takes the lead back, notes read as typed
    assert "[1: 添加 华为技术有限公司拜访了采购部 为新线索并记录]" in out
    assert "是这条记录新建的客户，已一并删除" in out
    assert "“met the buyer & the CFO”" in out
    assert re.search(r"\*Umbrella Co\*.*\n认领于 [-\d]+ · 最近跟进 \d{4}-\d\d-\d\d", out)
    # settings ranges, leads before removal, stage amounts and the lost win, zones
    assert "use a whole number of days from 1 to 365" in out
    assert "still owns 2 leads in *SMB*; nothing was changed" in out
    assert "The win of $120,000 no longer counts towards targets." in out
    assert "(UTC+8) · won by <@U0REP1>" not in out  # mentions are shown readably …
    assert "(UTC+8) · won by @U0REP1 (negotiation → won)" in out  # … in Shanghai time
    # a win asks for a handoff note; a handoff with its note, accepted, in the history
    assert "== You won Acme Corp ==" in out and "The handoff of *Acme Corp* is cancelled" in out
    assert "handed off from Enterprise to Farmers: @U0REP2 → @U0REP5" in out
    assert "*Initrode* goes to *Farmers* now: offered to @U0REP5" in out
    assert "== Handoff: Initrode ==" in out and "*Key contacts:* Bill Lumbergh, VP" in out
    assert "handed off from Enterprise to Farmers: @U0REP1 → @U0REP5" in out
    # periods, pipeline, pool search, two-sided transfer on the Home tab, one DM per owner
    assert "“monthly” is not a period here" in out and "*Pipeline* —" in out
    assert "1 unowned lead matching “stark”" in out
    assert "需要你审批" in out
    assert "你有 3 个客户的认领即将到期" in out and "expire-claims: 2 posts sent" in out
    assert "Unknown command /foo" in out and "arrived as plain text" not in out
    # the rotation skips the rep who is away; Accept gives the lead to the next one
    assert "offered to @U0REP2; if they pass" in out and "1. @U0REP1 — away until" in out
    assert "You accepted *Wonka Industries*" in out
    # China's calendar: no SMB digest on National Day, while Enterprise (none) gets one
    assert "== Enterprise · daily digest · Fri 1 Oct ==" in out
    holiday = out.split("── Tour 18/18:")[1]
    assert "SMB · 日报" in out.split("── Tour 1/18:")[0]  # SMB's digest of today, before …
    assert "SMB · 日报" not in holiday and "daily-digest: 2 posts sent" in holiday


CLICKS = """\
/foo bar
:click 1
/lead claim Acme Corp
/lead release Acme Corp
/lead pool
/sales help
/lead mine
:click 1
:click 1.1
:click 9.1
:click 1.5
"""


def test_click_says_which_message_and_an_unknown_command_says_what_to_try(engine, db_url):
    with Session(engine) as session:
        import_setup(session=session, text=SETUP_TOML)
    out = io.StringIO()
    code = run_shell(
        load_settings(database_url=db_url), user="U0REP1", stdin=io.StringIO(CLICKS), stdout=out
    )
    text = out.getvalue()
    assert code == 0
    assert (
        "Unknown command /foo: salesbot has /away, /coach, /kudos, /lead, /log, /sales, /target. "
        "Try /sales help."
    ) in text
    assert "HTTP 404" not in text and "Unhandled request" not in text
    assert "There is no button “1”. No message with buttons has been shown yet." in text
    assert "↳ message 1: :click 1" in text  # the pool, with its one Claim button
    # two commands later, :click still acts on the pool, and says so
    assert "Clicking “Claim” — button 1 of message 1 (only you see)." in text, text
    assert text.count("Clicking “Claim”") == 2
    assert text.count("*Acme Corp* is now yours") == 2  # the claim, then the first click
    assert "*Acme Corp* is already yours" in text  # the second click finds it taken
    assert "There is no button “9.1”. The latest message with buttons is message 1" in text
    assert "There is no button “1.5”." in text
