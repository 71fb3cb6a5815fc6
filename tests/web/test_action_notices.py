"""Every action answers (issue #14): each form POST that changes something says what happened.

Walks the route inventory (tests/web/test_route_inventory.py ROUTES): every page-form POST, as
its allowed caller, with fresh objects for each call (the rows' own ``prepare``):

* without JavaScript the success is a 303 that sets the flash cookie with a non-empty message,
  and the page it leads to shows that message in ``#flash``;
* with htmx (``HX-Request``) the answer shows the same message in place: a ``role="status"``
  element in the partial (in the page's region or out of band into ``#flash``), or a redirect
  (303 / ``HX-Redirect``) carrying the flash to the page htmx loads;
* the same call again, where it is now refused: a warning on the page the plain form goes
  back to, or the page again with the reason under the button pressed (409; see
  tests/web/test_refusals_beside_control.py), and the same reason in the htmx answer (409).

The account's own posts are walked by ``test_account_actions_answer``; 吹哨报到's street and
department actions by tests/web/test_escalation_access.py. ``test_every_form_post_is_walked_or_exempt``
checks that no form POST of the inventory escapes; a route that legitimately says nothing is
listed in ``SILENT`` with the reason.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI

from app.db import Database
from app.web import flash
from tests.factories import PASSWORD, make_user, unique_phone
from tests.web.test_route_inventory import (
    HALL_SCOPED,
    ROUTES,
    Access,
    World,
    _council_ballot,
    _join_form,
    build_world,
    fill,
    is_api,
    logged_in,
    new_client,
    send,
)

# Form POSTs that answer with no notice, and why.
SILENT: dict[tuple[str, str], str] = {
    # the preview of a roster changes nothing: the page that follows is the preview itself
    ("POST", "/halls/{hall_id}/roster"): "a preview, nothing written",
    # logging in lands on the page asked for, the person's name now in the header
    ("POST", "/login"): "the landing page is the logged-in one",
    # 大字模式 and the language: the page itself is the answer (large type, English)
    ("POST", "/prefs/elder"): "the page comes back in large type (or not)",
    ("POST", "/prefs/locale"): "the page comes back in the language chosen",
}
# Walked with a world of their own: 吹哨报到's street and department routes that name an
# escalation, a department or a member (tests/web/test_escalation_access.py,
# test_every_escalation_action_answers).
WALKED_ELSEWHERE = "test_escalation_access"


# Rows whose standing state (the row's own ``prepare``) makes the allowed caller's call a
# refusal: the period is not over, the ballot already open, nothing answered yet. For them the
# test asserts that the refusal says why (a warning on the page, in place with htmx).
REFUSED_AS_LISTED = {
    ("POST", "/halls/{hall_id}/issues/{issue_id}/evaluation/close"),  # 评价期还没有结束
    ("POST", "/halls/{hall_id}/issues/{issue_id}/publicity/end"),  # 公示期还没有结束
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/ballots/{ballot_id}/open"),  # open
}
# A call made first, its last path segment replaced (with the same body): a second claim
# would be refused, and an answer is changed only once given.
FIRST: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/claim"): ("claim", "withdraw"),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/withdraw"): ("withdraw", "claim"),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/evaluation/answer/change"): ("/change", ""),
}


def _callers(access: Access, path: str) -> str | None:
    if access in HALL_SCOPED:
        return "chair"
    if access == Access.STREET and path.count("{") == 1:
        return "street"
    return None


FORM_POSTS = {key for key, entry in ROUTES.items() if key[0] == "POST" and not is_api(key[1])}
ACTIONS = sorted(
    key
    for key, entry in ROUTES.items()
    if key[0] == "POST"
    and not is_api(key[1])
    and entry.writes
    and _callers(entry.access, key[1]) is not None
)


class _Status(HTMLParser):
    """The text of every role="status" / role="alert" element, and of #flash."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.found: list[str] = []
        self.current: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        watched = a.get("role") in {"status", "alert"} or a.get("id") == "flash"
        watched = watched or "#flash" in (a.get("hx-swap-oob") or "")
        if tag in {"br", "img", "input", "meta", "link", "hr"}:
            return
        self.stack.append((tag, watched))
        if watched:
            self.current.append([])

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            name, watched = self.stack.pop()
            if watched:
                self.found.append("".join(self.current.pop()).strip())
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        for parts in self.current:
            parts.append(data)


def status_texts(html: str) -> list[str]:
    parser = _Status()
    parser.feed(html)
    return [t for t in parser.found if t]


def flash_of(response: Any) -> dict[str, str] | None:
    """The flash the response sets (kind and text), or None."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(flash.COOKIE + "=") and not header.startswith(flash.COOKIE + '=""'):
            value = header.split(";", 1)[0].split("=", 1)[1].strip('"')
            if not value:
                continue
            payload = value.rsplit(".", 1)[0]
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
            return {"text": str(data.get("t", "")), "kind": str(data.get("k", ""))}
    return None


@pytest.fixture(scope="module")
def world(app: FastAPI, db: Database) -> Iterator[World]:
    yield from build_world(app, db)


def _call(w: World, key: tuple[str, str], *, hx: bool) -> tuple[str, str, Any]:
    """The allowed caller's call with fresh objects: (role, url, response)."""
    method, template = key
    entry = ROUTES[key]
    role = _callers(entry.access, template)
    assert role is not None
    member = w.pending() if entry.pending else w.target_a
    objects = {**w.issue_params, **(entry.prepare(w) if entry.prepare else {})}
    url = fill(template, hall_id=w.a.hall.id, membership_id=member, **objects)
    body = entry.body(w) if entry.body else None
    if key in FIRST:
        old, new = FIRST[key]
        send(w, role, method, url[: -len(old)] + new, body)
    w.clients[role].cookies.delete(flash.COOKIE)
    return role, url, send(w, role, method, url, body, hx=hx)


def same(text: str) -> str:
    """A message without its codes (a receipt code differs from one call to the next)."""
    return re.sub(r"[A-Z0-9][A-Z0-9-]{4,}", "…", text)


@pytest.mark.parametrize("key", ACTIONS, ids=[f"{m} {p}" for m, p in ACTIONS])
def test_every_action_answers(world: World, key: tuple[str, str]) -> None:
    w = world
    if key in SILENT:
        _, _, response = _call(w, key, hx=False)
        assert response.status_code < 400
        assert flash_of(response) is None, "listed as silent but says something"
        return
    kind = "warn" if key in REFUSED_AS_LISTED else "ok"
    # Without JavaScript: PRG with the message, and the page it leads to shows it.
    role, url, response = _call(w, key, hx=False)
    # a refusal under the button pressed (a chair's button with no field) is the page, 409
    assert response.status_code in ({200, 303} if kind == "ok" else {303, 409}), response.text[:300]
    if response.status_code == 303:
        said = flash_of(response)
        where = response.headers["location"]
        assert said is not None, f"303 to {where} with no flash"
        assert said["text"].strip(), f"303 to {where} with an empty flash"
        assert said["kind"] == kind, said
        landed = w.clients[role].get(where)
        assert landed.status_code == 200
        assert said["text"] in status_texts(landed.text), "the page after the redirect hides it"
        text = said["text"]
    else:
        texts = status_texts(response.text)
        assert texts, f"a {response.status_code} page with no notice"
        text = texts[0]
    # With htmx: the same message in place (or carried by the redirect htmx follows).
    role, url, response = _call(w, key, hx=True)
    assert response.status_code in ({200, 303} if kind == "ok" else {409}), response.text[:300]
    if response.status_code == 303 or "hx-redirect" in response.headers:
        said = flash_of(response)
        assert said is not None, "an htmx redirect with no flash"
        assert same(said["text"]) == same(text)
    else:
        shown = [same(t) for t in status_texts(response.text)]
        assert same(text) in shown, f"htmx answer shows {shown}, not {text!r}"
    # The same call again: where it is now refused, the plain form says why with a warning on
    # the page it goes back to, and htmx says the same in place (409).
    body = ROUTES[key].body
    again = send(w, role, "POST", url, body(w) if body else None)
    told = flash_of(again) if again.status_code == 303 else None
    if told is not None and told["kind"] == "warn":
        landed = w.clients[role].get(again.headers["location"])
        assert told["text"] in status_texts(landed.text)
        refused = send(w, role, "POST", url, body(w) if body else None, hx=True)
        assert refused.status_code == 409, refused.text[:300]
        assert told["text"] in status_texts(refused.text), status_texts(refused.text)
    elif again.status_code == 409:
        assert status_texts(again.text), f"a 409 that says nothing: {again.text[:300]}"


def test_a_changed_vote_says_so(world: World) -> None:
    """A second vote on the phone replaces the first: the notice says so (PRG and htmx)."""
    w = world
    ballot = _council_ballot(w)["ballot_id"]
    url = f"/halls/{w.a.hall.id}/ballots/{ballot}/votes"

    def vote(option: str, *, hx: bool) -> Any:
        w.clients["resident"].cookies.delete(flash.COOKIE)
        body = {"data": {"option": option, "submission_id": str(uuid.uuid4())}}
        return send(w, "resident", "POST", url, body, hx=hx)

    first = flash_of(vote("yes", hx=False))
    assert first is not None
    assert first["text"].startswith("投票成功，回执码 ")
    changed = flash_of(vote("no", hx=False))
    assert changed is not None
    assert changed["text"].startswith("已改票，以最后一次为准，回执码 ")
    card = vote("yes", hx=True)
    assert card.status_code == 200
    shown = status_texts(card.text)
    assert any(t.startswith("已改票，以最后一次为准，回执码 ") for t in shown), shown
    assert any(t.startswith("当前有效：同意") for t in shown), shown


# The account's own form posts (no hall): who answers, with what.
ACCOUNT_ACTIONS = {
    ("POST", "/register"),
    ("POST", "/logout"),
    ("POST", "/account/password"),
    ("POST", "/notifications/read"),
    ("POST", "/join/{token}"),
}


def test_every_form_post_is_walked_or_exempt() -> None:
    """No form POST escapes the walk: each is walked here (hall and street routes, the
    account's), by the escalation walk, or listed as silent with its reason."""
    escalations = {
        k
        for k in FORM_POSTS
        if ROUTES[k].access in {Access.STREET, Access.DEPARTMENT} and k not in ACTIONS
    }
    covered = set(ACTIONS) | ACCOUNT_ACTIONS | SILENT.keys() | escalations
    assert covered == FORM_POSTS, sorted(FORM_POSTS ^ covered)
    assert all(k[1].startswith(("/streets/", "/departments/")) for k in escalations)
    assert WALKED_ELSEWHERE


def _told(w: World, client: Any, response: Any) -> str:
    """The flash a 303 sets, shown on the page it leads to."""
    assert response.status_code == 303, response.text[:300]
    said = flash_of(response)
    assert said is not None, f"303 to {response.headers['location']} with no flash"
    assert said["kind"] == "ok", said
    landed = client.get(response.headers["location"])
    assert said["text"] in status_texts(landed.text)
    return said["text"]


def test_account_actions_answer(world: World, app: FastAPI) -> None:
    w = world
    person = make_user(w.db, name="账户动作")
    assert person.phone
    client = logged_in(app, person)
    token = client.csrf("/")
    changed = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert _told(w, client, changed) == "密码已修改"
    token = client.csrf("/")
    read = client.post(
        "/notifications/read", headers={"X-CSRF-Token": token}, follow_redirects=False
    )
    assert _told(w, client, read) == "已全部标为已读"
    joined = client.post(
        f"/join/{w.invite_token()}",
        headers={"X-CSRF-Token": client.csrf("/")},
        follow_redirects=False,
        **_join_form(w),
    )
    assert _told(w, client, joined) == "申请已提交，请等待居委会审核"
    out = client.post("/logout", headers={"X-CSRF-Token": client.csrf("/")}, follow_redirects=False)
    assert _told(w, client, out) == "您已安全退出"
    client.__exit__(None, None, None)
    fresh = new_client(app)
    registered = fresh.post_form(
        "/register",
        {"phone": unique_phone(), "name": "新注册", "password": PASSWORD, "consent": "true"},
        token_from="/register",
        follow_redirects=False,
    )
    assert _told(w, fresh, registered) == "注册成功，欢迎使用议事厅"
    fresh.__exit__(None, None, None)
