"""Form values the edge refuses, shown by the route next to their field (issue #10 §2).

A page's form model uses `app.core.fields.Text`, which refuses a value no field may hold (NUL,
another control character, a lone surrogate, text beyond the ceiling) before the route runs:
the API answers 422 with the field. A page must instead show the same form again, with what
was typed and the message next to the field. A route opts in by taking a `Refused` parameter
and handing it to its responder (`app.web.actions.respond(..., refused=refused)`, which calls
`refused.check()` before the service): `FormRoute` screens the form before the framework
validates it, records each refused field and puts a storable stand-in in its place
(`fields.storable`), so the route runs, the check raises `ValidationFailed` with those fields,
and the form comes back as for any other field error (htmx or not). A route that takes no
`Refused` is not screened: the edge refuses as before.
tests/web/test_hostile_input.py fails for a page form route that does not opt in.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from starlette.datastructures import FormData

from app.core import fields
from app.core.errors import ValidationFailed
from app.web.routing import GuardedRoute

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Refusals(dict[str, str]):
    """The form fields the edge refused: field name → error code."""

    def check(self) -> None:
        if self:
            raise ValidationFailed(self, maximum=fields.TEXT_CEILING)


def refusals(request: Request) -> Refusals:
    return Refusals(getattr(request.state, "refused", {}))


Refused = Annotated[Refusals, Depends(refusals)]


def _uses_refusals(dependant: Dependant) -> bool:
    return dependant.call is refusals or any(_uses_refusals(d) for d in dependant.dependencies)


async def _screen(request: Request) -> None:
    """Replace each refused text value of the form by its stand-in; note the field's code."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(FORM_TYPES):
        return
    form = await request.form()
    refused: dict[str, str] = {}
    items: list[tuple[str, Any]] = []
    for name, value in form.multi_items():
        if isinstance(value, str):
            problem = fields.text_problem(value)
            if problem is not None:
                refused.setdefault(name, problem)
                value = fields.storable(value)
        items.append((name, value))
    if refused:
        request.state.refused = refused
        # The framework reads the form from this cache (Request.form() parses once).
        request._form = FormData(items)


class FormRoute(GuardedRoute):
    """A page route: when it takes `Refused`, its refused form values reach it (see above)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not _uses_refusals(self.dependant):
            return handler

        async def screened(request: Request) -> Response:
            await _screen(request)
            return await handler(request)

        return screened
