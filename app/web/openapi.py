"""What the OpenAPI document says about errors: one error body, one way to list the statuses.

Every JSON error the API sends has the shape that `app.web.errors.error_response` writes:
`{"error": code, "message": text}`, plus `fields` and `codes` for field-level problems (422)
and any detail a client needs (a roster's bad `rows`). Operations list the statuses they can
answer with `responses=errors(...)`, so the document shows the body of each.
"""

from __future__ import annotations

from typing import Any

from fastapi.security import APIKeyCookie
from pydantic import BaseModel, ConfigDict, Field

DESCRIPTIONS = {
    401: "Not logged in (`not_logged_in`)",
    403: "Refused: the CSRF check on a write (`csrf_failed`), a one-time password to replace "
    "first (`password_change_required`), or a rule of the hall (`not_allowed`, `not_on_roll`…)",
    404: "No such hall or object, or not one the caller may use (`not_found`)",
    409: "The object is not in a state that allows this, or a concurrent change won "
    "(`concurrent_change`)",
    422: "Invalid input (`validation_failed` and others): `fields` holds a message per field, "
    "`codes` the stable code per field",
    429: "Too many attempts (`too_many_attempts`)",
}


class ErrorBody(BaseModel):
    """The body of every API error."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="A stable code, e.g. `not_found`, `validation_failed`")
    message: str = Field(description="The same, as a sentence in the caller's language")
    fields: dict[str, str] | None = Field(
        default=None, description="Field name → message (422 only)"
    )
    codes: dict[str, str] | None = Field(
        default=None, description="Field name → stable code (422 only)"
    )


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry for these error statuses, each with the ErrorBody model."""
    return {
        status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses
    }


# Declared so that OpenAPI shows how the API authenticates: the same session cookie as the
# pages (plus the X-CSRF-Token header, from GET /api/v1/me, on every write).
session_cookie = APIKeyCookie(
    name="yst_sid", auto_error=False, description="Session cookie set at login"
)
