"""吹哨报到 access matrix (SECURITY.md AUTHZ-03: 404, not 403), on both databases.

Every escalation route × every kind of caller, with the exact status each gets:

* ``anon``     — nobody logged in: pages redirect to the login page, the API answers 401
* ``resident`` — a verified resident of hall A
* ``chair``    — the chair of hall A (who blows the whistle)
* ``chair_b``  — the chair of hall B (another street), sending hall A's ids
* ``street``   — an official of hall A's street (dispatches)
* ``street_b`` — an official of hall B's street, sending street A's ids
* ``lead``     — a member of the department the escalation was dispatched to
* ``helper``   — a member of the department asked to help (协办)
* ``other``    — a member of another department of street A

A department's routes are asked with the caller's own department in the path (the lead's for
callers without one): a department sees exactly what was dispatched to it or it was asked to
help with. Each call gets fresh objects (an escalation in the state the route needs), so that
one caller's success does not decide the next caller's answer; refused calls change no row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI

from app.accounts.models import User
from app.db import Database
from app.escalations import schemas, service
from app.escalations.models import Department
from app.issues.models import Issue
from app.web import flash
from tests import escalation_helpers as eh
from tests import factories as f
from tests.conftest import Client
from tests.implementation_helpers import implementing_issue
from tests.web.test_action_notices import flash_of, status_texts
from tests.web.test_route_inventory import logged_in, new_client, row_counts

ROLES = ("anon", "resident", "chair", "chair_b", "street", "street_b", "lead", "helper", "other")


@dataclass
class W:
    db: Database
    a: f.HallWorld
    b: f.HallWorld
    users: dict[str, User]
    issue: Issue
    deps: dict[str, Department]  # lead, helper, other, spare
    clients: dict[str, Client] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def raised(self) -> int:
        return eh.raise_on(self.db, self.a, self.users["chair"], self.issue).id or 0

    def dispatched(self) -> int:
        e = eh.raise_on(self.db, self.a, self.users["chair"], self.issue)
        eh.dispatch(self.db, self.a, self.users["street"], e, self.deps["lead"])
        return e.id or 0

    def helped(self) -> int:
        """Dispatched to the lead department, 报到 made, the helper department asked."""
        e = eh.raise_on(self.db, self.a, self.users["chair"], self.issue)
        eh.dispatch(self.db, self.a, self.users["street"], e, self.deps["lead"])
        lead = self.users["lead"]
        eh.acknowledge(self.db, lead, self.deps["lead"], e)
        with self.db.session() as s:
            service.ask_help(
                session=s,
                access=eh.dept_access(self.db, lead, self.deps["lead"]),
                actor=lead,
                escalation_id=e.id or 0,
                form=schemas.HelpForm(department_id=self.deps["helper"].id),
            )
        return e.id or 0

    def member(self) -> int:
        """A fresh member of the spare department (to be removed)."""
        person = f.make_user(self.db, name="待移出")
        with self.db.session() as s:
            row = service.add_department_member(
                session=s,
                access=eh.street_access(self.a, self.users["street"]),
                actor=self.users["street"],
                department_id=self.deps["spare"].id or 0,
                form=schemas.MemberForm(phone=person.phone or ""),
            )
        return row.id or 0

    def dept_of(self, role: str) -> int:
        return (self.deps.get(role) or self.deps["lead"]).id or 0


@pytest.fixture(scope="module")
def w(app: FastAPI, db: Database) -> Iterator[W]:
    a, b = f.make_hall(db), f.make_hall(db)
    chair = f.make_chair(db, a, name="甲厅主任")
    chair_b = f.make_chair(db, b, name="乙厅主任")
    resident, _ = f.make_member(db, a, household_index=0, chair=chair, name="甲厅居民")
    street = eh.street_admin(db, a, name="甲街道干部")
    street_b = eh.street_admin(db, b, name="乙街道干部")
    people = {r: f.make_user(db, name=f"{r}部门成员") for r in ("lead", "helper", "other")}
    deps = {
        r: eh.department(db, a, street, f.unique(f"{r}科"), (people[r],))
        for r in ("lead", "helper", "other")
    }
    deps["spare"] = eh.department(db, a, street, f.unique("备用科"))
    users = {"resident": resident, "chair": chair, "chair_b": chair_b}
    users |= {"street": street, "street_b": street_b, **people}
    world = W(db, a, b, users, implementing_issue(db, a, chair), deps)
    world.clients = {r: logged_in(app, u) for r, u in users.items()}
    world.clients["anon"] = new_client(app)
    world.tokens = {r: c.csrf("/login" if r == "anon" else "/") for r, c in world.clients.items()}
    yield world
    for client in world.clients.values():
        client.__exit__(None, None, None)


Path = Callable[[W, str, dict[str, int]], str]
Prepare = Callable[[W], dict[str, int]]
Body = Callable[[W], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    method: str
    path: Path
    ok: dict[str, int]  # role → status; every other logged-in role: 404
    prepare: Prepare = lambda _w: {}
    body: Body | None = None


def _hall(suffix: str) -> Path:
    return lambda w, _role, o: (
        f"/halls/{w.a.hall.id}/issues/{w.issue.id}/escalations{suffix.format(**o)}"
    )


def _api_hall(suffix: str) -> Path:
    return lambda w, _role, o: (
        f"/api/v1/halls/{w.a.hall.id}/issues/{w.issue.id}/escalations{suffix.format(**o)}"
    )


def _street(suffix: str) -> Path:
    return lambda w, _role, o: f"/streets/{w.a.street.id}{suffix.format(**o)}"


def _dept(suffix: str, *, api: bool = False) -> Path:
    prefix = "/api/v1" if api else ""
    return lambda w, role, o: (
        f"{prefix}/departments/{w.dept_of(role)}/escalations{suffix.format(**o)}"
    )


def _form(data: dict[str, Any]) -> Body:
    return lambda _w: {"data": data}


def _json(data: dict[str, Any]) -> Body:
    return lambda _w: {"json": data}


RAISE = {"category": "enforcement", "urgency": "emergency", "summary": "违建占道，请街道协调执法"}
DEADLINE = {
    "urgency": "complex",
    "respond": "2",
    "respond_unit": "hours",
    "resolve": "15",
    "resolve_unit": "days",
}

CASES: dict[str, Case] = {
    # the hall: 吹哨 and withdraw (the chair); the issue's escalations (whoever sees the hall)
    "new": Case("GET", _hall("/new"), {"chair": 200}),
    "raise": Case("POST", _hall(""), {"chair": 303}, body=_form(RAISE)),
    "withdraw": Case(
        "POST", _hall("/{e}/withdraw"), {"chair": 303}, prepare=lambda w: {"e": w.raised()}
    ),
    "api list": Case("GET", _api_hall(""), {"resident": 200, "chair": 200, "street": 200}),
    "api raise": Case("POST", _api_hall(""), {"chair": 201}, body=_json(RAISE)),
    # the street's officials
    "street inbox": Case("GET", _street("/escalations"), {"street": 200}),
    "street detail": Case(
        "GET", _street("/escalations/{e}"), {"street": 200}, prepare=lambda w: {"e": w.raised()}
    ),
    "dispatch": Case(
        "POST",
        _street("/escalations/{e}/dispatch"),
        {"street": 303},
        prepare=lambda w: {"e": w.raised(), "d": w.deps["lead"].id or 0},
        body=lambda w: {"data": {"department_id": str(w.deps["lead"].id)}},
    ),
    "departments": Case("GET", _street("/departments"), {"street": 200}),
    "create department": Case(
        "POST",
        _street("/departments"),
        {"street": 303},
        body=lambda _w: {"data": {"name": f.unique("新科")}},
    ),
    "rename department": Case(
        "POST",
        _street("/departments/{d}"),
        {"street": 303},
        prepare=lambda w: {"d": w.deps["spare"].id or 0},
        body=lambda _w: {"data": {"name": f.unique("备用科")}},
    ),
    "add member": Case(
        "POST",
        _street("/departments/{d}/members"),
        {"street": 303},
        prepare=lambda w: {"d": w.deps["spare"].id or 0},
        body=lambda w: {"data": {"phone": f.make_user(w.db, name="新成员").phone}},
    ),
    "remove member": Case(
        "POST",
        _street("/departments/{d}/members/{m}/remove"),
        {"street": 303},
        prepare=lambda w: {"d": w.deps["spare"].id or 0, "m": w.member()},
    ),
    "deadlines": Case("GET", _street("/deadlines"), {"street": 200}),
    "set deadline": Case("POST", _street("/deadlines"), {"street": 303}, body=_form(DEADLINE)),
    # a department's members, each with their own department in the path
    "department inbox": Case("GET", _dept(""), {"lead": 200, "helper": 200, "other": 200}),
    "department detail": Case(
        "GET", _dept("/{e}"), {"lead": 200, "helper": 200}, prepare=lambda w: {"e": w.helped()}
    ),
    "acknowledge": Case(
        "POST", _dept("/{e}/acknowledge"), {"lead": 303}, prepare=lambda w: {"e": w.dispatched()}
    ),
    "reply": Case(
        "POST",
        _dept("/{e}/replies"),
        {"lead": 303, "helper": 303},
        prepare=lambda w: {"e": w.helped()},
        body=_form({"text": "已到现场查看"}),
    ),
    "ask help": Case(
        "POST",
        _dept("/{e}/helpers"),
        {"lead": 303},
        prepare=lambda w: {"e": w.helped()},
        body=lambda w: {"data": {"department_id": str(w.deps["other"].id)}},
    ),
    "resolve": Case(
        "POST",
        _dept("/{e}/resolve"),
        {"lead": 303},
        prepare=lambda w: {"e": w.helped()},
        body=_form({"text": "已拆除违建"}),
    ),
    "api inbox": Case("GET", _dept("", api=True), {"lead": 200, "helper": 200, "other": 200}),
    "api acknowledge": Case(
        "POST",
        _dept("/{e}/acknowledge", api=True),
        {"lead": 200},
        prepare=lambda w: {"e": w.dispatched()},
    ),
    "api reply": Case(
        "POST",
        _dept("/{e}/replies", api=True),
        {"lead": 200, "helper": 200},
        prepare=lambda w: {"e": w.helped()},
        body=_json({"text": "进展：已联系产权单位"}),
    ),
    "api resolve": Case(
        "POST",
        _dept("/{e}/resolve", api=True),
        {"lead": 200},
        prepare=lambda w: {"e": w.helped()},
        body=_json({"text": "已办结"}),
    ),
}


def _send(w: W, role: str, method: str, url: str, body: dict[str, Any] | None) -> Any:
    headers = {"X-CSRF-Token": w.tokens[role]} if method == "POST" else {}
    return w.clients[role].request(
        method, url, headers=headers, follow_redirects=False, **(body or {})
    )


@pytest.mark.parametrize("name", list(CASES))
def test_escalation_access_matrix(w: W, name: str) -> None:
    case = CASES[name]
    failures: list[str] = []
    # Refusals first, each on fresh objects: no row may change.
    for role in ROLES:
        if role in case.ok:
            continue
        objects = case.prepare(w)
        url = case.path(w, role, objects)
        body = case.body(w) if case.body else None
        before = row_counts(w.db)
        response = _send(w, role, case.method, url, body)
        if role == "anon":
            if url.startswith("/api/"):
                expected_ok = response.status_code == 401
            else:
                expected_ok = response.status_code == 303 and response.headers[
                    "location"
                ].startswith("/login")
            if not expected_ok:
                failures.append(f"anon {case.method} {url}: {response.status_code}")
        elif response.status_code != 404:
            failures.append(f"{role} {case.method} {url}: expected 404, got {response.status_code}")
        if row_counts(w.db) != before:
            failures.append(f"{role} {case.method} {url}: a refused call changed rows")
    # Those who may.
    for role, status in case.ok.items():
        objects = case.prepare(w)
        url = case.path(w, role, objects)
        response = _send(w, role, case.method, url, case.body(w) if case.body else None)
        if response.status_code != status:
            failures.append(
                f"{role} {case.method} {url}: expected {status}, got {response.status_code}"
                f" {response.text[:200]}"
            )
        elif status == 303 and response.headers["location"].startswith("/login"):
            failures.append(f"{role} {case.method} {url}: sent to log in")
    assert not failures, "\n".join(failures)


# Every form POST of 吹哨报到 answers (issue #14; the hall's routes: test_action_notices.py).
FORM_POSTS = [n for n, c in CASES.items() if c.method == "POST" and not n.startswith("api ")]


@pytest.mark.parametrize("name", FORM_POSTS)
def test_every_escalation_action_answers(w: W, name: str) -> None:
    """The first allowed caller, fresh objects for each call: PRG with a flash the page it
    leads to shows; with htmx the same message in place or carried by the redirect."""
    case = CASES[name]
    role = next(iter(case.ok))
    said: list[str] = []
    for hx in (False, True):
        url = case.path(w, role, case.prepare(w))
        w.clients[role].cookies.delete(flash.COOKIE)
        headers = {"X-CSRF-Token": w.tokens[role], **({"HX-Request": "true"} if hx else {})}
        response = w.clients[role].request(
            "POST",
            url,
            headers=headers,
            follow_redirects=False,
            **(case.body(w) if case.body else {}),
        )
        assert response.status_code in {200, 303}, response.text[:300]
        if response.status_code == 303 or "hx-redirect" in response.headers:
            told = flash_of(response)
            assert told is not None, f"{url}: no flash"
            assert told["kind"] == "ok", told
            said.append(told["text"])
            if not hx:
                landed = w.clients[role].get(response.headers["location"])
                assert told["text"] in status_texts(landed.text)
        else:
            assert hx, "a plain form answers with PRG"
            assert said[0] in status_texts(response.text)
    assert said[0].strip()


def test_a_department_sees_only_its_own(w: W) -> None:
    """The inboxes: the lead and the helper see the escalation, another department does not,
    nor does the lead's member through another department's path."""
    helped = w.helped()
    dispatched = w.dispatched()
    seen = {}
    for role in ("lead", "helper", "other"):
        rows = _send(w, role, "GET", f"/api/v1/departments/{w.dept_of(role)}/escalations", None)
        assert rows.status_code == 200
        seen[role] = {(e["id"], e["part"]) for e in rows.json()["escalations"]}
    assert {(helped, "lead"), (dispatched, "lead")} <= seen["lead"]
    assert (helped, "helper") in seen["helper"]
    assert dispatched not in {i for i, _ in seen["helper"]}
    assert not {helped, dispatched} & {i for i, _ in seen["other"]}
    # A member of one department using another's path: 404 (not a member of it).
    for role, target in (("helper", "lead"), ("lead", "helper"), ("other", "lead")):
        url = f"/departments/{w.deps[target].id}/escalations"
        assert _send(w, role, "GET", url, None).status_code == 404, (role, target)
    # Another street's escalation does not exist for this street's official.
    e_b = f"/streets/{w.a.street.id}/escalations/{helped}"
    assert _send(w, "street_b", "GET", e_b, None).status_code == 404
    assert _send(w, "street", "GET", e_b, None).status_code == 200
