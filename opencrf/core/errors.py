"""Typed domain errors. Views and the API turn them into pages and REDCap-style messages."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal that the user can act on; `message` is already translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist or the user may not see it: the two look the same."""


class PermissionDenied(DomainError):
    """The user may see the object but not do this to it."""


class InvalidInput(DomainError):
    """The input was refused; nothing was changed."""
