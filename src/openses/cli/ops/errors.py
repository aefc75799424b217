"""What can go wrong in an operator command, as values the commands print in one line."""

from __future__ import annotations


class OpsError(Exception):
    """Anything that ends a command with one clear line and a non-zero exit."""


class ApiError(OpsError):
    """The endpoint answered the call with an error."""

    def __init__(self, message: str, *, operation: str, code: str, status: int) -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code
        self.status = status


class Unsupported(ApiError):
    """The endpoint does not implement the operation (openses: NotImplemented, HTTP 501)."""
