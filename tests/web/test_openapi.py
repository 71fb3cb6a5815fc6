"""The OpenAPI document tells the truth about the API (issue #10 §9).

It describes /api/v1 only (pages answer HTML and leave the schema); every operation lists each
error status it can answer with the one error body the app sends; and a schemathesis run,
logged in as a hall's chair, finds every answer's status, content type and body as documented,
and no 5xx. Unknown methods answer 405 with `Allow` (RFC 9110 §15.5.6).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.db import Database
from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.voting.rules import RuleKind
from app.web.openapi import ErrorBody
from tests.ballot_helpers import access_of, draft_ballot, open_ballot
from tests.factories import (
    PASSWORD,
    make_chair,
    make_deciding_issue,
    make_deliberating_issue,
    make_hall,
    make_issue,
    make_member,
)

ERROR_REF = "#/components/schemas/ErrorBody"


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


# --- the document -------------------------------------------------------------------------


def test_the_document_describes_the_json_api_and_no_page(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    pages = [p for p in spec["paths"] if not p.startswith("/api/v1/")]
    assert not pages, f"pages in the API document: {pages}"
    for (method, path), op in _operations(spec).items():
        ok = [s for s in op["responses"] if s.startswith("2")]
        for status in ok:
            content = op["responses"][status].get("content", {})
            assert set(content) <= {"application/json"}, (method, path, status, content)
        if "requestBody" in op:
            for media, body in op["requestBody"]["content"].items():
                schema = body["schema"]
                name = schema.get("$ref", "").rsplit("/", 1)[-1]
                resolved = spec["components"]["schemas"].get(name, schema)
                assert resolved.get("properties") or resolved.get("allOf"), (method, path, media)


def test_every_operation_documents_its_error_statuses_with_the_error_body(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    operations = _operations(spec)
    assert operations
    for (method, path), op in operations.items():
        statuses = set(op["responses"])
        needed = {"401", "403"}  # every operation needs a login; CSRF, one-time passwords
        if "{" in path:
            needed |= {"404", "422"}  # an id that is not there (or not the caller's)
        if op.get("parameters") or "requestBody" in op:
            needed.add("422")
        if method == "post" and "{" in path:
            needed.add("409")  # a state that does not allow it, or a concurrent change
        assert needed <= statuses, f"{method} {path} lacks {sorted(needed - statuses)}"
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status, schema)
    # FastAPI's own 422 body is not what this app sends (app/web/errors.py): it is not used.
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["error", "message"]


def test_the_error_bodies_sent_are_the_documented_model(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    chair = make_chair(db, world)
    client = make_client()
    client.login(chair.phone, PASSWORD)
    token = client.get("/api/v1/me").json()["csrf_token"]
    base = f"/api/v1/halls/{world.hall.id}"
    headers = {"X-CSRF-Token": token}
    answers = [
        make_client().get("/api/v1/me"),  # 401
        client.post(f"{base}/members/1/verify"),  # 403: no CSRF token
        client.get(f"{base}/issues/{2**31 - 1}"),  # 404
        client.get(f"{base}/members?limit=0"),  # 422 from FastAPI's validation
        client.post(f"{base}/roster", headers=headers),  # 422: no file
        # Bytes that are not UTF-8 JSON: the framework's 400, answered as the 422 it is.
        client.post(
            f"{base}/members/1/reject",
            content=b"\xf6\x0b\xfd9",
            headers={**headers, "Content-Type": "application/json"},
        ),
        # A CSV with a bare carriage return inside a field: unreadable, not a 500.
        client.post(
            f"{base}/roster",
            files={"file": ("r.csv", "楼栋,单元\r\n1\r2,3\n".encode(), "text/csv")},
            headers=headers,
        ),
    ]
    assert [a.status_code for a in answers] == [401, 403, 404, 422, 422, 422, 422]
    for answer in answers:
        body = ErrorBody.model_validate(answer.json())
        assert body.error
        assert body.message
    assert set(answers[3].json()["codes"]) == {"limit"}
    assert answers[5].json()["codes"] == {"body": "validation_failed"}
    assert answers[6].json()["codes"] == {"file": "file_unreadable"}


# --- TRACE and other methods no route has -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow", "json"),
    [
        ("TRACE", "/api/v1/me", "GET", True),
        ("TRACE", "/api/v1/join/sometoken", "GET, POST", True),  # two routes, one path
        ("PUT", "/api/v1/halls/1/ballots/1/votes", "POST", True),
        ("DELETE", "/login", "GET, POST", False),
        ("TRACE", "/", "GET", False),
        ("POST", "/static/css/app.css", "GET, HEAD", False),
    ],
)
def test_a_method_the_resource_lacks_answers_405_with_allow(
    client: Any, method: str, path: str, allow: str, json: bool
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers.get("allow") == allow
    if json:
        assert response.json()["error"]
    assert "TRACE" not in response.text  # nothing echoed back (no cross-site tracing)


def test_a_path_no_route_has_is_404_without_allow(client: Any) -> None:
    response = client.request("TRACE", "/api/v1/no-such-thing")
    assert response.status_code == 404
    assert "allow" not in response.headers


# --- schemathesis, logged in as a chair -----------------------------------------------------

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 20  # per operation and mode: bounded, so that a run takes well under a minute
# Valid input, and input the schema forbids (that must be refused as documented, never a 5xx).
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass
class Session:
    cookies: dict[str, str]
    headers: dict[str, str]
    ids: dict[str, list[Any]]  # real ids per path parameter, so cases reach past the 404


def _chair_session(db: Database, make_client: Any, settings: Settings) -> Session:
    """A hall like the demo's: a chair, residents (one waiting), issues in three stages with a
    comment, and an open ballot; the chair logged in."""
    world = make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = make_chair(db, world)
    resident, member = make_member(db, world, household_index=0, chair=chair, name="业主甲")
    make_member(db, world, household_index=1, chair=chair, name="业主乙")
    _, pending = make_member(db, world, household_index=2, verified=False)
    collecting = make_issue(db, world, resident)
    deliberating = make_deliberating_issue(db, world, chair)
    with db.session() as session:
        comment = issue_service.add_comment(
            session=session,
            access=access_of(db, world, resident),
            actor=resident,
            issue_id=deliberating.id or 0,
            form=issue_schemas.CommentForm(body="建议先查漏点", stance="suggest"),
        )
    deciding, _ = make_deciding_issue(db, world, chair)
    ballot = draft_ballot(db, world, chair, deciding, rule=RuleKind.OWNERS_ORDINARY)
    open_ballot(db, world, chair, ballot)
    client = make_client()
    client.login(chair.phone, PASSWORD)
    token = client.get("/api/v1/me").json()["csrf_token"]
    return Session(
        cookies={settings.session_cookie: client.cookies[settings.session_cookie]},
        headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "same-origin"},
        ids={
            "hall_id": [world.hall.id],
            "issue_id": [collecting.id, deliberating.id, deciding.id],
            "comment_id": [comment.id],
            "ballot_id": [ballot.id],
            "membership_id": [pending.id, member.id],
            "token": [world.hall.invite_token],
        },
    )


def _run(schema: Any, session: Session, record: Callable[[str], None]) -> int:
    operations = 0
    for result, mode in itertools.product(schema.get_all_operations(), MODES):
        operation = result.ok()
        operations += mode == GenerationMode.POSITIVE

        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any, data: st.DataObject) -> None:
            # Mostly real ids (past the 404 to the operation itself), sometimes generated ones.
            for name, values in session.ids.items():
                if name in (case.path_parameters or {}) and data.draw(st.integers(0, 3)):
                    case.path_parameters[name] = data.draw(st.sampled_from(values))
            try:
                response = case.call(headers=session.headers, cookies=session.cookies)
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, BaseExceptionGroup) as exc:
                first = " | ".join(str(exc).strip().splitlines()[:6])
                record(f"{case.method} {case.formatted_path}: {first}")
            except Exception as exc:  # the test client re-raises what the app did not handle
                record(f"{case.method} {case.formatted_path}: 500 {type(exc).__name__}: {exc}")

        check()
    return operations


def test_schemathesis_finds_the_api_as_documented(
    app: FastAPI, db: Database, make_client: Any, settings: Settings
) -> None:
    session = _chair_session(db, make_client, settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = _run(schema, session, failures.append)
    assert operations == len(_operations(app.openapi()))
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(
        sorted({re.sub(r"/\d+", "/N", f) for f in failures})
    )
