"""Links. `url(name, **params)` builds a path from a route's name (every route has one), so no
page or route spells a URL by hand; templates call the same `url(name, **params)`.

Absolute links that leave the screen: printed QR codes, posters, links to copy and share.

They must open on a resident's phone, so they never take the chair's address bar at its word
(on the office laptop that is http://127.0.0.1:8000). One origin is used for all of them:

1. `YST_PUBLIC_ORIGIN`, when set;
2. else `YST_LAN_ORIGIN`, which `python -m app serve` sets to the first LAN address it prints;
3. else the origin the request came to.

Every print view includes `shared/_origin_warning.html`, which tells the chair on screen when
that origin is a loopback address and so would print codes no phone can open.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from starlette.convertors import Convertor, StringConvertor
from starlette.routing import BaseRoute, Mount, NoMatchFound, compile_path, replace_params

from app.config import Settings


@dataclass(frozen=True)
class _Path:
    format: str  # "/halls/{hall_id}/issues/{issue_id}"
    convertors: dict[str, Convertor[Any]]
    plain: bool  # every parameter is a plain segment (the usual case): str.format suffices


_PATHS: dict[str, _Path] = {}


def _contexts(routes: Sequence[BaseRoute]) -> Iterable[Any]:
    """Every route with its full path (FastAPI ≥ 0.16x keeps included routers as branches)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: the routes are already flat
        return routes
    return iter_route_contexts(routes)


def register(routes: Sequence[BaseRoute]) -> None:
    """Learn each route's path by its name: the app factory calls this with `app.routes` (every
    app of a process has the same routes, so a second app changes nothing)."""
    for ctx in _contexts(routes):
        route = getattr(ctx, "original_route", ctx)
        name, path = getattr(route, "name", None), getattr(ctx, "path", None)
        if not name or path is None:
            continue
        if isinstance(route, Mount):
            path = path.rstrip("/") + "/{path:path}"
        _, path_format, convertors = compile_path(path)
        plain = all(type(c) is StringConvertor for c in convertors.values())
        _PATHS[name] = _Path(path_format, convertors, plain)


# Paths of routes with a non-string convertor, by (name, *params): the few static files every
# page links to. Bounded: a path built from request data is not kept once this is full.
_MADE: dict[tuple[object, ...], str] = {}


def url(name: str, /, **params: object) -> str:
    """The path of the route called `name`, its path parameters from `params`:
    url("issues.detail", hall_id=1, issue_id=2) → "/halls/1/issues/2". Pages build many links,
    so the usual case is one `str.format`."""
    found = _PATHS.get(name)
    if found is None or params.keys() != found.convertors.keys():
        raise NoMatchFound(name, params)
    if found.plain:
        values = {key: str(value) for key, value in params.items()}
        if all(value and "/" not in value for value in values.values()):
            return found.format.format_map(values)
        raise NoMatchFound(name, params)
    key = (name, *params.items())
    path = _MADE.get(key)
    if path is None:  # a path convertor (the static files): Starlette's slower way, once
        given: dict[str, Any] = dict(params)
        path, _ = replace_params(found.format, found.convertors, given)
        if len(_MADE) < 1024:
            _MADE[key] = path
    return path


def share_origin(request: Request, settings: Settings) -> str:
    """The origin printed and shared links use, without a trailing slash."""
    configured = settings.public_origin or settings.lan_origin
    if configured:
        return configured.rstrip("/")
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def public_url(request: Request, settings: Settings, path: str) -> str:
    """`path` (beginning with "/") as an absolute URL on the shared origin."""
    return share_origin(request, settings) + path


def is_loopback(origin: str) -> bool:
    """True when `origin`'s host is this machine only: 127.0.0.0/8, ::1, localhost, or none."""
    host = (urlsplit(origin).hostname or "").lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def print_context(request: Request, settings: Settings) -> dict[str, Any]:
    """What `shared/_origin_warning.html` needs: the origin, and whether it is loopback."""
    origin = share_origin(request, settings)
    return {"share_origin": origin, "share_origin_is_loopback": is_loopback(origin)}


def _rank(address: str) -> tuple[int, tuple[int, ...]]:
    ip = ipaddress.IPv4Address(address)
    order = (
        ipaddress.IPv4Network("192.168.0.0/16"),
        ipaddress.IPv4Network("10.0.0.0/8"),
        ipaddress.IPv4Network("172.16.0.0/12"),
    )
    group = next((i for i, net in enumerate(order) if ip in net), len(order))
    return group, tuple(ip.packed)


def lan_addresses_in_order(addresses: Iterable[str]) -> list[str]:
    """The addresses a phone on the office Wi-Fi can use, likeliest first: home/office
    networks (192.168/16, then 10/8, then 172.16/12, where container bridges live), then any
    other; loopback, link-local (169.254/16) and unspecified addresses are left out."""
    usable = []
    for address in set(addresses):
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            continue
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
            continue
        usable.append(address)
    return sorted(usable, key=_rank)


ALL_INTERFACES = ("", "0.0.0.0", "::")  # noqa: S104 - compared with, never bound


def pick_lan_origin(
    addresses: Iterable[str], port: int, *, host: str = "", https: bool = False
) -> str | None:
    """The origin `serve` puts on printed links when none is configured: the first LAN
    address it prints when it listens on all of them (`host` 0.0.0.0 or ::), the address it
    listens on when that is one LAN address, and None when phones cannot reach it (loopback)."""
    scheme = "https" if https else "http"
    if host not in ALL_INTERFACES:
        ordered = lan_addresses_in_order([host])
        return f"{scheme}://{ordered[0]}:{port}" if ordered else None
    ordered = lan_addresses_in_order(addresses)
    return f"{scheme}://{ordered[0]}:{port}" if ordered else None
