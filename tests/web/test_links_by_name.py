"""`app.web.links.url(name, **params)`: every page route has a name, and the name builds its
path (the template global `url` is the same function)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import NoMatchFound

from app.web.links import url
from app.web.templating import env


def test_every_route_has_a_name_that_builds_its_path(app: FastAPI) -> None:
    for ctx in iter_route_contexts(app.routes):
        route = getattr(ctx, "original_route", ctx)
        name = getattr(route, "name", None)
        assert name, f"{ctx.path} has no name"
        if ctx.path == "/static":
            continue
        path_format = ctx.path_format or ""
        names = [part.split("}")[0] for part in path_format.split("{")[1:]]
        params = {name: f"v{i}" for i, name in enumerate(names)}
        expected = path_format.format(**params)
        assert url(name, **params) == expected


def test_url_refuses_what_it_cannot_build(app: FastAPI) -> None:
    assert url("issues.detail", hall_id=1, issue_id=2) == "/halls/1/issues/2"
    assert url("static", path="css/app.css") == "/static/css/app.css"
    assert env.globals["url"] is url
    with pytest.raises(NoMatchFound):
        url("issues.detail", hall_id=1)  # a parameter missing
    with pytest.raises(NoMatchFound):
        url("no.such.route")
    with pytest.raises(NoMatchFound):
        url("halls.join", token="a/b")  # a value that is not one path segment
