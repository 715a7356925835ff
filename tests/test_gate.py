"""The gate (``bot.gate``): one request's work at a time in a web process on SQLite, given up
while a thread waits on Slack or on the database's write lock, so a wait never holds other
requests up and two threads never wait on each other."""

from __future__ import annotations

import threading

from sqlmodel import Session

from bot.gate import GATE as PROCESS_GATE
from bot.gate import Gate
from bot.store.models import Setting
from tests.conftest import LiveServer

QUICK_S = 5.0


def _in_thread(target) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_held_keeps_others_out_until_released_and_is_reentrant() -> None:
    gate = Gate()
    entered = threading.Event()

    def other() -> None:
        with gate.held():
            entered.set()

    assert not gate.holding()
    with gate.held():
        with gate.held():  # re-entrant: the same thread goes on
            assert gate.holding()
        assert gate.holding()
        thread = _in_thread(other)
        assert not entered.wait(0.3), "another thread got in while the gate was held"
        with gate.released():
            assert not gate.holding()
            assert entered.wait(QUICK_S), "the gate was not given up inside released()"
            thread.join(QUICK_S)
        assert gate.holding()
    assert not gate.holding()


def test_released_and_waiting_do_nothing_for_a_thread_outside_the_gate() -> None:
    gate = Gate()
    with gate.released():  # nothing to give up: no error, nothing released
        assert not gate.holding()
    assert gate.waiting(lambda x: x * 2)(21) == 42

    with gate.held():
        seen: list[bool] = []
        assert gate.waiting(lambda: seen.append(gate.holding()) or "done")() == "done"
        assert seen == [False] and gate.holding()


def test_a_thread_waiting_for_the_write_lock_gives_the_gate_up(engine) -> None:
    """A writes, then waits outside the gate (as on a Slack call) before committing; B, in the
    gate, wants to write. B must let go of the gate while it waits for the write lock, or A can
    never come back to commit."""
    a_wrote, a_may_commit, b_in_gate, a_done, b_done = (threading.Event() for _ in range(5))

    def a() -> None:
        with PROCESS_GATE.held(), Session(engine) as session:
            session.add(Setting(key="a", value="1"))
            session.flush()
            a_wrote.set()
            with PROCESS_GATE.released():
                a_may_commit.wait(QUICK_S)
            session.commit()
        a_done.set()

    def b() -> None:
        with PROCESS_GATE.held(), Session(engine) as session:
            b_in_gate.set()  # from here B keeps the gate unless it gives it up to wait
            session.add(Setting(key="b", value="1"))
            session.commit()
        b_done.set()

    first = _in_thread(a)
    assert a_wrote.wait(QUICK_S)
    second = _in_thread(b)
    assert b_in_gate.wait(QUICK_S)
    a_may_commit.set()
    assert a_done.wait(QUICK_S), "A could not get the gate back to commit"
    assert b_done.wait(QUICK_S), "B never wrote"
    first.join(QUICK_S)
    second.join(QUICK_S)
    with Session(engine) as session:
        assert session.get(Setting, "a") is not None and session.get(Setting, "b") is not None


def test_a_request_waiting_on_slack_does_not_hold_others_up(org: LiveServer) -> None:
    """``/log`` alone opens a modal; Slack answers views.open "rate limited, retry in 2 s", and
    the server waits inside the call. Meanwhile another command is answered."""
    org.fake.fail_next("views.open", status=429, retry_after=2)
    replies = []
    slow = _in_thread(lambda: replies.append(org.command("/log", "", user="U0REP1")))
    org.fake.wait_for("views.open", count=1)  # the first attempt failed: now it sleeps
    reply = org.command("/sales", "help", user="U0REP2")
    assert reply.status == 200 and "/log" in reply.text
    assert slow.is_alive(), "the help answer came only after the waiting request finished"
    slow.join(QUICK_S + 5)
    assert [r.status for r in replies] == [200]
    assert len(org.fake.calls_to("views.open")) == 2
