"""Domain errors. Services raise these; the web layer maps them to pages and status codes."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every rule violation a user can cause. `code` is a stable, translatable key."""

    status_code = 400

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class NotFound(DomainError):
    status_code = 404


class NotAllowed(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class TooManyAttempts(DomainError):
    status_code = 429


class ValidationFailed(DomainError):
    """Field-level problems: `errors` maps a field name to an error code."""

    status_code = 422

    def __init__(self, errors: Mapping[str, str], **params: object) -> None:
        super().__init__("validation_failed", **params)
        self.errors = dict(errors)
