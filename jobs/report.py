"""What a job run did, for ``salesbot run-job``, the worker's log and the shell."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JobReport:
    #: outbox keys this run added
    enqueued: list[str] = field(default_factory=list)
    #: outbox keys that were already there (the post exists: nothing added)
    already: list[str] = field(default_factory=list)
    #: (department, reason) pairs with nothing to post: off, no_channel, not_working_day
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: outbox keys delivered and kept for a retry by the delivery that followed
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    #: rows removed by housekeeping (processed events past Slack's retry window)
    pruned: int = 0
    #: offers that timed out or whose rep is away, moved on to the next rep
    offers_moved: int = 0
    #: won customers whose handoff fell due, offered to the target department (DESIGN §10)
    handoffs_offered: int = 0

    def queued(self, key: str, added: bool) -> None:
        """Record an outbox key this run added, or found already there."""
        (self.enqueued if added else self.already).append(key)

    def skip(self, department: str, reason: str) -> None:
        self.skipped.append((department, reason))
