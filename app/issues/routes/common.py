"""What every issue page module shares: its router's kind, the not-found rule."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.errors import NotFound
from app.web.forms import FormRoute


def page_router() -> APIRouter:
    """A router of issue pages (FormRoute: forms that take `Refused` are screened)."""
    return APIRouter(tags=["issues"], route_class=FormRoute)


def require(allowed: bool) -> None:
    # Inside a hall the caller can see, what they may not do is reported as missing (AUTHZ-03).
    if not allowed:
        raise NotFound("not_found")
