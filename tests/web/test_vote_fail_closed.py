"""LOG-06, fail closed: an exception inside the vote transaction rolls all of it back, and the
voter is not told the vote was recorded. Fault injection on SQLite and PostgreSQL.

Two faults, each through the page's form and through the JSON API, as a re-vote (so that the
retirement of the voter's earlier vote is part of what must roll back):

- the ledger append raises (after the earlier vote was retired);
- the commit fails right after the new vote row was INSERTed.
Both are raised by the database driver's statement hooks, so they reach the phone vote's real
path: the ballot box's batch (app/voting/service/phone_votes.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlmodel import col, select

from app.accounts.models import User
from app.db import Database
from app.voting import queries
from app.voting.models import Ballot, LedgerEvent, Vote
from app.voting.rules import RuleKind
from tests.ballot_helpers import cast, draft_ballot, open_ballot, sid
from tests.conftest import ORIGIN, Client
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_deciding_issue,
    make_hall,
    make_member,
)


class InjectedFault(RuntimeError):
    pass


@contextmanager
def failing_statement(db: Database, table: str, *, after: bool) -> Iterator[None]:
    """Raise as the INSERT into `table` is sent (before it) or once it has run (after it), on
    the write engine: whichever path writes the vote (the ballot box's batch, or one ORM
    flush), the fault is inside its transaction."""
    name = "after_cursor_execute" if after else "before_cursor_execute"

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            raise InjectedFault(f"{table} insert failed")

    event.listen(db.write_engine, name, hook)
    try:
        yield
    finally:
        event.remove(db.write_engine, name, hook)


def ledger_append_fails(db: Database) -> Any:
    # The earlier vote has been retired (its UPDATE ran first); the event is being written.
    return failing_statement(db, "ballot_ledger", after=False)


def commit_fails_after_the_vote_insert(db: Database) -> Any:
    # The ledger event and the new vote row are written; the commit never comes.
    return failing_statement(db, "vote", after=True)


FAULTS: dict[str, Callable[[Database], Any]] = {
    "ledger_append": ledger_append_fails,
    "after_vote_insert": commit_fails_after_the_vote_insert,
}


@pytest.fixture
def scene(db: Database, app: FastAPI) -> Iterator[tuple[HallWorld, User, Ballot, Client]]:
    world = make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = make_chair(db, world)
    voter, _ = make_member(db, world, household_index=0, chair=chair, name="业主")
    issue, _ = make_deciding_issue(db, world, chair)
    ballot = open_ballot(
        db, world, chair, draft_ballot(db, world, chair, issue, rule=RuleKind.OWNERS_ORDINARY)
    )
    # LOG-05: a real browser sees the error page; the test must not get the exception instead.
    client = Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN}, raise_server_exceptions=False)
    with client:
        assert voter.phone is not None
        client.login(voter.phone, PASSWORD)
        yield world, voter, ballot, client


def _snapshot(db: Database, ballot_id: int) -> tuple[Any, ...]:
    with db.session(read_only=True) as session:
        votes = session.exec(
            select(Vote.receipt, Vote.is_current)
            .where(Vote.ballot_id == ballot_id)
            .order_by(col(Vote.id))
        ).all()
        events = session.exec(
            select(LedgerEvent.hash).where(LedgerEvent.ballot_id == ballot_id)
        ).all()
        ballot = session.get(Ballot, ballot_id)
        assert ballot is not None
        verdict = queries.verify_ballot(session, ballot_id)
    assert verdict.ok, verdict.problems
    return tuple(votes), len(events), ballot.height, ballot.head_hash


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("channel", ["form", "api"])
def test_a_failure_inside_the_vote_transaction_records_nothing_and_says_so(
    db: Database,
    scene: tuple[HallWorld, User, Ballot, Client],
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    channel: str,
) -> None:
    world, voter, ballot, client = scene
    first = cast(db, world, voter, ballot.id or 0, "yes")
    before = _snapshot(db, ballot.id or 0)
    page = f"/halls/{world.hall.id}/ballots/{ballot.id}"
    key = sid()

    with FAULTS[fault](db):
        if channel == "form":
            response = client.post_form(
                f"{page}/votes",
                {"option": "no", "submission_id": key},
                token_from=page,
                follow_redirects=False,
            )
        else:
            token = client.get("/api/v1/me").json()["csrf_token"]
            response = client.post(
                f"/api/v1/halls/{world.hall.id}/ballots/{ballot.id}/votes",
                json={"option": "no", "submission_id": key},
                headers={"X-CSRF-Token": token},
            )

    assert response.status_code == 500
    assert "投票成功" not in response.text
    assert "yst_flash" not in response.headers.get("set-cookie", "")
    assert "Traceback" not in response.text
    assert "InjectedFault" not in response.text
    if channel == "api":
        assert response.json()["error"] == "server_error"
        assert "receipt" not in response.json()
    else:
        assert "系统出了点问题" in response.text  # the error page, with an error id to quote
        assert "错误编号" in response.text
    # Nothing of the failed vote is stored; the earlier vote is still the current one.
    assert _snapshot(db, ballot.id or 0) == before
    with db.session(read_only=True) as session:
        assert session.exec(select(Vote).where(Vote.submission_id == key)).first() is None
    assert before[0] == ((first.receipt, True),)
    # Once the fault is gone, the same submission goes through (nothing half-done blocks it).
    retry = cast(db, world, voter, ballot.id or 0, "no", key)
    assert retry.replaced
