"""Typed errors. Each carries the exit code of SPEC section 3; the CLI maps them in one place."""

from __future__ import annotations

from typing import Any

EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_CHECK = 4


class SwpError(Exception):
    """Base of every error swp reports to a user (exit 1: bad input or unmet precondition)."""

    exit_code = EXIT_INPUT
    clause: str | None = None

    def __init__(self, message: str, *, payload: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        # With --json, a result that explains the failure (swp check's problems, say) is
        # printed alongside the error object.
        self.payload = payload

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as it is, attributes and all, whatever its class's own arguments (a file
        read ahead in another process raises its errors in this one)."""
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(cls: type[SwpError], args: tuple[Any, ...], state: dict[str, Any]) -> SwpError:
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


class InputError(SwpError):
    """The user gave a value swp cannot accept (an amount, a date, a clause value...)."""


NO_PRACTICE = "the database has no practice; set one up with 'swp init'"


class NotFound(SwpError):
    """A named thing (member, entry, period, proposal...) does not exist."""


class PreconditionError(SwpError):
    """The request is well formed but the practice is not in a state that allows it."""


class PermissionDenied(SwpError):
    """The acting member (--as) may not do this (SPEC section 8, roles)."""


class DatabaseError(SwpError):
    """The database cannot be opened or used: missing, locked, foreign, newer, read-only, full."""


class RuleViolation(SwpError):
    """Refused by the takeover guard: the action would break a clause of the constitution."""

    exit_code = EXIT_REFUSED

    def __init__(self, clause: str, message: str):
        super().__init__(f"refused by clause {clause}: {message}")
        self.clause = clause
        self.reason = message


class CheckFailed(SwpError):
    """A check (swp check, swp audit verify) found a problem."""

    exit_code = EXIT_CHECK


class ChangedMeanwhile(PreconditionError):
    """A change confirmed with a passkey over the event it would append: something else was
    recorded between the confirmation's request and its answer, so that event cannot be."""
