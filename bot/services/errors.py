"""Typed service errors.

A service raises one of these for an expected failure; the app's single error handler renders
``template`` with ``data`` as an ephemeral reply: a bare name is a macro of
templates/<locale>/errors.j2, a dotted name (``lead.conflict``) names its area file. The
template says why and what to type instead, so services never hold user-facing words.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An expected failure with a message template."""

    def __init__(self, template: str, *, block: str | None = None, **data: Any) -> None:
        super().__init__(f"{template} {data}")
        self.template = template
        self.data = data
        #: the modal input block the error belongs to, when it comes from a modal
        self.block = block

    @property
    def template_path(self) -> str:
        return self.template if "." in self.template else f"errors.{self.template}"


class InvalidInput(ServiceError):
    """The user typed something we cannot use."""


class NotFound(ServiceError):
    """The named thing does not exist."""


class PermissionDenied(ServiceError):
    """The caller may not do this; the template says who may."""


class Conflict(ServiceError):
    """The change collides with the current state (already owned, already a member …)."""
