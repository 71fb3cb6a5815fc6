"""kill -9 in the middle of a group commit (issue #11), on SQLite and PostgreSQL.

A real server (uvicorn, one worker) whose ballot box holds each batch open for a moment after
its statements and before its commit (tests/web/crash_server.py). Twelve voters vote at once,
again and again, through the JSON API. When a batch of at least two votes is in that window,
the test kills the server with SIGKILL. Then, from the database alone:

- no acknowledged vote is lost: every receipt a voter was given is in the ledger and the votes;
- nothing is counted twice: each voter has at most one current vote, and the votes of the
  killed batch are not there (their requests were never answered);
- the ledger verifies (the chain links, the head and height are the chain's, the current votes
  are the ledger's replay);
- after a restart (without the hold), a retried submission that had been acknowledged gets its
  original receipt, and one that died with the batch is cast once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, func, select

from app.db import Database
from app.voting import queries
from app.voting.models import LedgerEvent, Vote, VoterUnit
from app.voting.rules import RuleKind
from tests import factories as f
from tests.conftest import SECRET
from tests.web import burst_client as bc
from tests.web import voting_helpers as vh
from tests.web.live_server import free_port, wait_until_healthy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VOTERS = 12


@contextmanager
def serving(
    database_url: str, tmp: Path, *, hold: bool
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "YST_SECRET_KEY": SECRET,
        "YST_ENVIRONMENT": "test",
        "PYTHONPATH": str(ROOT),
        "YST_CRASH_MARKER": str(tmp / "in-commit"),
        "YST_CRASH_HOLD": "0.3" if hold else "0",
    }
    script = ROOT / "tests" / "web" / "crash_server.py"
    log = (tmp / f"server-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc, tmp / f"server-{port}.log")
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)
        log.close()


def test_kill_9_in_the_middle_of_a_group_commit(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    world = f.make_hall(db, buildings=1, entrances=2, rooms=VOTERS // 2)
    chair = f.make_chair(db, world)
    voters = [f.make_member(db, world, household_index=i, chair=chair)[0] for i in range(VOTERS)]
    ballot = vh.open_ballot(
        db,
        world,
        chair,
        rule=RuleKind.RESIDENTS_MEETING,
        voter_unit=VoterUnit.HOUSEHOLD,
        secret=True,
    )
    path = f"/api/v1/halls/{world.hall.id}/ballots/{ballot.id}/votes"
    marker = tmp_path / "in-commit"
    acked: dict[str, str] = {}  # submission id → receipt
    sent: dict[str, str] = {}  # submission id → option, every request sent
    lock = threading.Lock()
    stop = threading.Event()

    with serving(database_url, tmp_path, hold=True) as (base, proc):
        logins = [bc.login(base, v.phone or "", f.PASSWORD) for v in voters]

        def vote_again_and_again(login: bc.Login) -> None:
            with bc.client(base, login.cookies) as c:
                n = 0
                while not stop.is_set():
                    submission, option = str(uuid.uuid4()), ("yes", "no")[n % 2]
                    n += 1
                    with lock:
                        sent[submission] = option
                    try:
                        r = c.post(
                            path,
                            json={"option": option, "submission_id": submission},
                            headers={"X-CSRF-Token": login.token},
                            timeout=10,
                        )
                    except httpx.HTTPError:
                        return  # the server is gone
                    assert r.status_code == 201, r.text[:300]
                    with lock:
                        acked[submission] = r.json()["receipt"]

        threads = [threading.Thread(target=vote_again_and_again, args=(lg,)) for lg in logins]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        killed_batch = 0
        while time.monotonic() < deadline:
            if marker.exists() and len(acked) >= VOTERS:
                size = int(marker.read_text() or 0)
                if size >= 2:
                    os.kill(proc.pid, signal.SIGKILL)  # in the held window: before the commit
                    killed_batch = size
                    break
                marker.unlink(missing_ok=True)
            time.sleep(0.005)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        proc.wait(timeout=10)
    assert killed_batch >= 2, "no group commit of two or more votes was caught"
    assert acked, "no vote was acknowledged before the kill"

    with db.session(read_only=True) as s:
        stored = dict(
            s.exec(
                select(Vote.submission_id, Vote.receipt).where(Vote.ballot_id == ballot.id)
            ).all()
        )
        receipts = set(
            s.exec(
                select(LedgerEvent.receipt).where(
                    LedgerEvent.ballot_id == ballot.id, col(LedgerEvent.receipt).is_not(None)
                )
            ).all()
        )
        current = s.exec(
            select(Vote.roll_id, func.count())
            .where(Vote.ballot_id == ballot.id, col(Vote.is_current).is_(True))
            .group_by(col(Vote.roll_id))
        ).all()
        verification = queries.verify_ballot(s, ballot.id or 0)
    lost = {sub for sub, receipt in acked.items() if stored.get(sub) != receipt}
    assert lost == set(), f"acknowledged votes lost: {sorted(lost)[:5]}"
    assert set(acked.values()) <= receipts
    assert all(n == 1 for _, n in current)
    assert len(current) <= VOTERS
    unanswered = set(sent) - set(acked)
    assert len(unanswered) >= killed_batch  # the killed batch was never answered …
    assert len(stored) == len(acked) + len(unanswered & set(stored))  # … nor stored twice
    assert len(unanswered & set(stored)) == 0  # the kill came before that batch's commit
    assert verification.ok, verification.problems
    assert verification.votes == len(current)

    # Restarted without the hold: retries are answered once and the chain goes on.
    with serving(database_url, tmp_path, hold=False) as (base, _proc):
        login = bc.login(base, voters[0].phone or "", f.PASSWORD)
        with bc.client(base, login.cookies) as c:
            one_acked = next(iter(acked))
            again = c.post(
                path,
                json={"option": sent[one_acked], "submission_id": one_acked},
                headers={"X-CSRF-Token": login.token},
            )
            assert again.status_code == 201
            assert again.json()["receipt"] == acked[one_acked]
            died = str(uuid.uuid4())
            first = c.post(
                path,
                json={"option": "yes", "submission_id": died},
                headers={"X-CSRF-Token": login.token},
            )
            retry = c.post(
                path,
                json={"option": "yes", "submission_id": died},
                headers={"X-CSRF-Token": login.token},
            )
            assert first.status_code == retry.status_code == 201
            assert first.json()["receipt"] == retry.json()["receipt"]
    with db.session(read_only=True) as s:
        assert queries.verify_ballot(s, ballot.id or 0).ok
