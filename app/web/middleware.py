"""Security headers on every response (SECURITY.md §5, CONF-*), as plain ASGI middleware."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
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


def add_security_headers(headers: MutableHeaders, *, hsts: bool) -> None:
    """The same headers on a response sent outside this middleware: the 500 page, which
    Starlette's ServerErrorMiddleware sends from outside every user middleware (LOG-05)."""
    for name, value in HEADERS:
        headers.setdefault(name.decode(), value.decode())
    if hsts:
        headers.setdefault("strict-transport-security", "max-age=31536000")
    headers.setdefault("cache-control", "no-store")
    headers.append("vary", "HX-Request, Cookie")


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


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413 before anything parses them (FILE-02)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    await _too_large(send)
                    return
                has_body = True
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:  # neither header: the request has no body (RFC 9112 §6.3)
            await self.app(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise RequestTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except RequestTooLarge:
            await _too_large(send)


class RequestTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = "请求内容太大".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
