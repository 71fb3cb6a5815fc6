"""The route class of every route: the shell's guard runs in front of the route's handler.

`GuardedRoute` wraps the handler FastAPI builds for a route, rather than adding the guard as
an app-level dependency: FastAPI's resolver cost more for one dependency (a sub-dependency of
background tasks, an exit stack) than the guard's whole work, 22 of the 37 µs that the guard
added to every request (issue #11). The guard raises as a dependency would, inside the
framework's exception handling, and its turn is given back once the handler has returned,
that is, once the route has run and its session (scope "function") is closed.
create_app refuses to start if some route is not a `GuardedRoute` (app/main.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import BackgroundTasks, Request, Response
from fastapi.routing import APIRoute
from starlette.background import BackgroundTasks as StarletteTasks

from app.web.deps import guard
from app.web.turns import give

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class GuardedRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return guarded(super().get_route_handler())


def guarded(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        after = BackgroundTasks()  # the idle timer's due write, after the response
        held = await guard(request, after)
        try:
            response = await handler(request)
        finally:
            give(held)
        if after.tasks:
            existing = response.background
            if isinstance(existing, StarletteTasks):  # the route's own tasks run first
                existing.tasks.extend(after.tasks)
            else:
                if existing is not None:
                    after.tasks.insert(0, existing)
                response.background = after
        return response

    return run
