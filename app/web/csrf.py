"""CSRF protection (SECURITY.md CSRF-01, CSRF-02).

1. Unsafe requests must come from our own origin: `Sec-Fetch-Site: same-origin`, or, where a
   browser sends no fetch metadata, an `Origin` (or `Referer`) equal to ours.
2. They must carry a synchronizer token: `X-CSRF-Token` (htmx, from `hx-headers`) or the
   hidden `csrf_token` form field (plain forms without JavaScript). The token is an HMAC of the
   session token, or of an anonymous nonce cookie before login (login CSRF), so another
   session's token never matches.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from app.config import Settings
from app.core import security
from app.core.errors import NotAllowed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Multipart limits for every form we parse (FILE-02).
FORM_LIMITS = {"max_files": 8, "max_fields": 200, "max_part_size": 64 * 1024}


def token_for(settings: Settings, *, sid: str | None, anon: str | None) -> str:
    if sid:
        return security.sign(settings.secret_key, "csrf|sid|" + sid)
    return security.sign(settings.secret_key, "csrf|anon|" + (anon or ""))


def expected_origin(request: Request, settings: Settings) -> str:
    if settings.public_origin:
        return settings.public_origin.rstrip("/")
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def _origin_ok(request: Request, settings: Settings) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin == expected_origin(request, settings)


async def check(request: Request, settings: Settings, *, sid: str | None, anon: str | None) -> None:
    """Raise NotAllowed("csrf_failed") unless the unsafe request is ours."""
    if request.method in SAFE_METHODS:
        return
    if not _origin_ok(request, settings):
        raise NotAllowed("csrf_failed")
    # With hx-boost the <body> (and its hx-headers) survives a login, so the header may hold
    # the pre-login token while the form's hidden field holds the current one: either may match.
    candidates = [request.headers.get("x-csrf-token")]
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form(**FORM_LIMITS)
        value = form.get("csrf_token")
        candidates.append(value if isinstance(value, str) else None)
    if not sid and not anon:
        raise NotAllowed("csrf_failed")
    expected = token_for(settings, sid=sid, anon=anon)
    if not any(sent and security.same(sent, expected) for sent in candidates):
        raise NotAllowed("csrf_failed")
