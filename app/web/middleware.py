"""Security headers on every response (SECURITY.md §5, CONF-*), as plain ASGI middleware."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in names)
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if not is_static:
                    # Pages may carry personal data: never stored by browsers or proxies (PRIV-04);
                    # pages and htmx fragments differ by HX-Request (htmx caching docs).
                    if b"cache-control" not in names:
                        headers.append((b"cache-control", b"no-store"))
                    headers.append((b"vary", b"HX-Request, Cookie"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
