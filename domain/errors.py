"""Typed domain errors.

Every expected failure is a ``DomainError`` with a machine-readable ``code``, a human
``message``, optionally the input ``field`` it concerns and a ``hint`` saying what to do
instead. The GraphQL layer maps them one-to-one onto its ``errors`` list.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    CANCELLATION_WINDOW_CLOSED = "CANCELLATION_WINDOW_CLOSED"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    DELIVERY_FAILED = "DELIVERY_FAILED"


class DomainError(Exception):
    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        code: ErrorCode | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint
        if code is not None:
            self.code = code

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.code.value}: {self.message!r}, field={self.field!r})"


class ValidationFailed(DomainError):
    """Input breaks a rule about its own shape (empty name, malformed e-mail)."""

    code = ErrorCode.INVALID_INPUT


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Conflict(DomainError):
    """The state changed under us, or the request contradicts the current state."""

    code = ErrorCode.CONFLICT


class ConcurrentUpdate(Conflict):
    """Someone changed the object between our read and our write (optimistic lock): reading again and repeating is safe."""


class AlreadyExists(DomainError):
    code = ErrorCode.ALREADY_EXISTS


class IdempotencyKeyReused(DomainError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class PreconditionFailed(DomainError):
    code = ErrorCode.PRECONDITION_FAILED


class InvalidInputs(DomainError):
    """Several input problems found at once; ``errors`` lists each of them."""

    code = ErrorCode.INVALID_INPUT

    def __init__(self, errors: list[DomainError]) -> None:
        super().__init__("; ".join(e.message for e in errors), field=None)
        self.errors = errors
