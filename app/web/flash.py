"""One-shot messages shown after a redirect, kept in a signed cookie (no PII, no state)."""

from __future__ import annotations

import base64
import json

from fastapi import Request, Response

from app.config import Settings
from app.core import security

COOKIE = "yst_flash"


def set_flash(response: Response, settings: Settings, text: str, kind: str = "ok") -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"t": text, "k": kind}).encode()).decode()
    value = payload + "." + security.sign(settings.secret_key, "flash|" + payload)[:32]
    response.set_cookie(
        COOKIE, value, max_age=60, httponly=True, samesite="lax", secure=settings.https, path="/"
    )


def pop_flash(request: Request, settings: Settings) -> dict[str, str] | None:
    value = request.cookies.get(COOKIE)
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not security.same(signature, security.sign(settings.secret_key, "flash|" + payload)[:32]):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    request.state.flash_consumed = True
    return {"text": str(data.get("t", "")), "kind": str(data.get("k", "ok"))}
