"""Domain errors and HTTP errors as friendly pages (HTML) or JSON (under /api/)."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from fastapi import BackgroundTasks, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from app.core.errors import DomainError, ValidationFailed
from app.web.deps import NotAuthenticated, PasswordChangeRequired, identify
from app.web.htmx import redirect, render
from app.web.i18n import DEFAULT_LOCALE, LOCALES, set_locale
from app.web.links import url
from app.web.messages import message
from app.web.middleware import add_security_headers
from app.web.turns import RETRY_AFTER_SECONDS, Turns

log = logging.getLogger("yishiting")

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
STATUS_CODES = {401: "not_logged_in", 403: "not_allowed", 404: "not_found"}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _load_auth(request: Request) -> None:
    """No route matched, so the app's dependencies never ran: find out who is asking, so that
    the 404 page keeps their login and language. In a turn and a worker thread, like a route:
    a pool checkout must never block the event loop."""
    if hasattr(request.state, "auth"):
        return
    try:
        turns: Turns = request.app.state.turns
        async with turns.turn():
            await identify(request, BackgroundTasks())
    except Exception:  # the error page must render even when the database is down
        log.warning("could not load the session for an error page", exc_info=True)


def _set_locale(request: Request) -> None:
    if not hasattr(request.state, "locale"):
        auth = getattr(request.state, "auth", None)
        locale = (auth.user.locale if auth and auth.user else None) or request.cookies.get("lang")
        request.state.locale = locale if locale in LOCALES else DEFAULT_LOCALE
    set_locale(request.state.locale)


def error_response(
    request: Request, status: int, code: str, fields: dict[str, str] | None = None, **params: object
) -> Response:
    _set_locale(request)
    text = message(code, **params)
    if _is_api(request):
        body: dict[str, object] = {"error": code, "message": text}
        if fields:
            body["fields"] = {k: message(v, **params) for k, v in fields.items()}
            body["codes"] = fields
        # Details a client needs (e.g. a roster's bad `rows`) travel with the error.
        for key, value in params.items():
            body.setdefault(key, value)
        response: Response = JSONResponse(body, status_code=status)
    else:
        response = render(
            request,
            "shared/error.html",
            {"status": status, "message": text, "code": code},
            status_code=status,
        )
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if isinstance(exc, NotAuthenticated) and not _is_api(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(request, f"{url('accounts.login')}?next={quote(target)}")
    if isinstance(exc, PasswordChangeRequired) and not _is_api(request):
        return redirect(request, url("accounts.password"))
    if exc.status_code == 403:
        log.warning("denied %s %s code=%s", request.method, request.url.path, exc.code)
    fields = exc.errors if isinstance(exc, ValidationFailed) else None
    return error_response(request, exc.status_code, exc.code, fields, **exc.params)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    await _load_auth(request)
    code = STATUS_CODES.get(
        exc.status_code, "not_found" if exc.status_code == 404 else "validation_failed"
    )
    if exc.status_code == 400:
        # The framework could not read the body (bytes that are not UTF-8 JSON, a broken
        # multipart): invalid input, like a body that is not JSON at all, which is a 422.
        return error_response(request, 422, "validation_failed", {"body": "validation_failed"})
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        code = "not_found"
        # RFC 9110 §15.5.6: a 405 lists the methods the resource has. Starlette's router names
        # only the first route that matched the path (a path served by two routes, GET and
        # POST, would lose one) and StaticFiles names none: ask every route.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    response = error_response(request, exc.status_code, code)
    response.headers.update(headers)
    return response


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route would answer on this path: each is tried on the app's router."""
    # From inside a mount (the static files) the scope's root_path includes the mount's path.
    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method, "root_path": root}
        for route in request.app.router.routes:
            match = route.matches(scope)[0]
            if isinstance(route, Mount):
                # A mount matches any method; the static files answer GET and HEAD only.
                if match == Match.FULL and method in {"GET", "HEAD"}:
                    allowed.append(method)
                    break
            elif match == Match.FULL:
                allowed.append(method)
                break
    return allowed


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # A malformed id in the path is a page that does not exist, not a form error.
    if any(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
        return error_response(request, 404, "not_found")
    fields: dict[str, str] = {}
    for err in exc.errors():
        names = [str(part) for part in err.get("loc", ()) if isinstance(part, str)]
        fields.setdefault(
            names[-1] if names else "body", _EDGE_CODES.get(err["type"], "validation_failed")
        )
    if _is_api(request):
        return error_response(request, 422, "validation_failed", fields)
    # A page form's refused text reaches its route and comes back next to its field
    # (app.web.forms); what is left here is a value nobody types (a forged choice or id, a form
    # the page does not screen): say what was wrong.
    return error_response(request, 422, _page_code(fields))


# pydantic's error types (and those of app.core.fields) → the codes of app.web.messages.
_EDGE_CODES = {
    "text_unstorable": "text_unstorable",
    "too_long": "too_long",
    "string_too_long": "too_long",
    "greater_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "int_parsing": "integer_required",
    "int_parsing_size": "out_of_range",
    "int_from_float": "integer_required",
    "int_type": "integer_required",
    "missing": "required",
}


def _page_code(fields: dict[str, str]) -> str:
    codes = set(fields.values())
    for code in ("text_unstorable", "out_of_range", "too_long", "integer_required", "required"):
        if code in codes:
            return code
    return "validation_failed"


async def on_integrity_error(request: Request, exc: Exception) -> Response:
    """A constraint stopped a concurrent duplicate: the database decided, the user retries."""
    log.warning(
        "integrity error on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return error_response(request, 409, "concurrent_change")


async def on_database_busy(request: Request, exc: Exception) -> Response:
    """No connection came free within the pool timeout, or SQLite's write lock did not within
    its busy timeout: 503 with Retry-After, not a 500 (nothing was written)."""
    if isinstance(exc, OperationalError) and "database is locked" not in str(exc.orig):
        return await on_server_error(request, exc)
    log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    return error_response(request, 503, "busy")


async def on_server_error(request: Request, exc: Exception) -> Response:
    error_id = secrets.token_hex(4)
    log.exception("error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
    _set_locale(request)
    response: Response
    if _is_api(request):
        response = JSONResponse({"error": "server_error", "error_id": error_id}, status_code=500)
    else:
        response = render(
            request,
            "shared/error.html",
            {"status": 500, "message": None, "error_id": error_id},
            status_code=500,
        )
    # Sent by ServerErrorMiddleware, outside SecurityHeaders: add the headers here.
    add_security_headers(response.headers, hsts=request.app.state.settings.https)
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(PoolTimeout, on_database_busy)
    app.add_exception_handler(OperationalError, on_database_busy)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_server_error)
