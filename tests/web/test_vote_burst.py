"""One voter's burst of re-votes never blocks the hall (issue #10 §3), on SQLite and PostgreSQL.

A real server: uvicorn in a subprocess, one worker, the default pool settings
(YST_DB_POOL_SIZE=20, YST_DB_MAX_OVERFLOW=0, YST_DB_POOL_TIMEOUT=5). Four spawned client
processes meet at a barrier and send, at once and each from its own connection, 20 JSON votes
and 20 form votes (half of them htmx) of ONE voter on an open household ballot, while another
member of the hall loads the hall page three times during the burst.

Every re-vote of an open ballot is allowed (the later vote counts), so every one must be
acknowledged, none with a 409: a retry by the same voter would succeed, so a 409 here is the
server failing, not the voter. Before the fix, on PostgreSQL: the locked read of the ballot
returned the stale ballot of the route's dependency, so most form votes hit the unique
(ballot, height) index and answered 409; those 409 pages then opened a second connection on
the event loop for the bell count while the pool was exhausted, freezing the server for
SQLAlchemy's 30 s pool timeout; answers took 30 s, some were 500 (QueuePool limit reached),
and the other member's page took 30 s too.

The second test: the API and the form give the same answer in the same situation, refusals
included (the same service, each error's own status).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from app.accounts.models import User
from app.db import Database
from app.voting import queries, schemas, service
from app.voting.models import Ballot, LedgerEvent, RollCaster, Vote, VoterUnit
from app.voting.rules import RuleKind
from tests import factories as f
from tests.conftest import SECRET, Client
from tests.web import burst_client as bc
from tests.web import voting_helpers as vh
from tests.web.live_server import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
SPAWN = mp.get_context("spawn")
PROCESSES = 4
API_VOTES = 20
FORM_VOTES = 20  # every second one with HX-Request
PAGE_LOADS = (0.05, 0.3, 0.6)  # the other member's hall page, seconds into the burst
ANSWER_WITHIN = 2.0
PAGE_WITHIN = 1.0
SUCCESS = {"api": 201, "form": 303, "htmx": 200}
OPTIONS = ("yes", "no", "abstain")


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn serving app.main:create_app on a free port, as `python -m app serve` does."""
    port = free_port()
    log = tmp_path_factory.mktemp("burst") / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "YST_SECRET_KEY": SECRET,
        "YST_ENVIRONMENT": "test",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("YST_DB_POOL_SIZE", "YST_DB_MAX_OVERFLOW", "YST_DB_POOL_TIMEOUT"):
        env.pop(name, None)  # the defaults are what is tested
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - only on a hang
            proc.kill()


@dataclass
class Scene:
    world: f.HallWorld
    voter: User
    neighbour: User
    ballot: Ballot

    @property
    def votes_path(self) -> str:
        return f"/halls/{self.world.hall.id}/ballots/{self.ballot.id}/votes"


def _scene(db: Database) -> Scene:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    voter = f.make_member(db, world, household_index=0, chair=chair)[0]
    neighbour = f.make_member(db, world, household_index=1, chair=chair)[0]
    ballot = vh.open_ballot(
        db,
        world,
        chair,
        rule=RuleKind.RESIDENTS_MEETING,
        voter_unit=VoterUnit.HOUSEHOLD,
        secret=True,
        live_results=True,
    )
    return Scene(world, voter, neighbour, ballot)


def _burst(base: str, scene: Scene) -> list[bc.Answer]:
    voter = bc.login(base, scene.voter.phone or "", f.PASSWORD)
    neighbour = bc.login(base, scene.neighbour.phone or "", f.PASSWORD)
    api_path = "/api/v1" + scene.votes_path
    jobs = [
        (bc.Job("api", api_path, OPTIONS[i % 3], str(uuid.uuid4())), voter)
        for i in range(API_VOTES)
    ] + [
        (
            bc.Job(
                "htmx" if i % 2 else "form", scene.votes_path, OPTIONS[i % 3], str(uuid.uuid4())
            ),
            voter,
        )
        for i in range(FORM_VOTES)
    ]
    per_process: list[list[tuple[bc.Job, bc.Login]]] = [[] for _ in range(PROCESSES)]
    for k, job in enumerate(jobs):
        per_process[k % PROCESSES].append(job)
    hall_page = f"/halls/{scene.world.hall.id}"
    for k, delay in enumerate(PAGE_LOADS):
        per_process[k % PROCESSES].append((bc.Job("page", hall_page, delay=delay), neighbour))
    barrier = SPAWN.Barrier(PROCESSES)
    out = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=bc.run, args=(barrier, base, mine, out), daemon=True)
        for mine in per_process
    ]
    for p in procs:
        p.start()
    reported = [out.get(timeout=bc.TIMEOUT * 2) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    crashed = [r for r in reported if isinstance(r, str)]
    assert crashed == [], crashed
    return [a for answers in reported for a in answers]


def _summary(answers: list[bc.Answer]) -> str:
    counts = Counter((a.kind, a.status) for a in answers)
    slowest = sorted(answers, key=lambda a: -a.seconds)[:5]
    pages = ", ".join(f"{a.seconds:.2f}s" for a in answers if a.kind == "page")
    return f"{dict(sorted(counts.items()))}; pages: {pages}; slowest: " + ", ".join(
        f"{a.kind} {a.status} {a.seconds:.2f}s {a.text[:80]!r}" for a in slowest
    )


@pytest.mark.slow
def test_a_burst_of_one_voters_re_votes_takes_turns_and_never_blocks_the_hall(
    db: Database, server: str
) -> None:
    scene = _scene(db)
    # The voter has voted already: all forty are re-votes.
    with db.session() as s:
        service.cast_vote(
            session=s,
            access=f.member_access(db, scene.world, scene.voter),
            actor=scene.voter,
            ballot_id=scene.ballot.id or 0,
            form=schemas.VoteForm(option="yes", submission_id=str(uuid.uuid4())),
        )

    answers = _burst(server, scene)
    summary = _summary(answers)
    print(summary)  # pytest -s shows the numbers of a passing run

    assert len(answers) == API_VOTES + FORM_VOTES + len(PAGE_LOADS), summary
    assert [a for a in answers if a.status >= 500 or a.status == 0] == [], summary
    votes = [a for a in answers if a.kind in SUCCESS]
    # No 409 at all: a re-vote of an open ballot is always allowed, so the same voter's retry
    # would be acknowledged; every vote is answered as the success of its channel.
    assert [a for a in votes if a.status != SUCCESS[a.kind]] == [], summary
    assert max(a.seconds for a in votes) < ANSWER_WITHIN, summary
    pages = [a for a in answers if a.kind == "page"]
    assert all(a.status == 200 for a in pages), summary
    assert max(a.seconds for a in pages) < PAGE_WITHIN, summary

    with db.session(read_only=True) as s:
        roll_id = s.exec(
            select(RollCaster.roll_id).where(
                RollCaster.ballot_id == scene.ballot.id, RollCaster.user_id == scene.voter.id
            )
        ).one()
        current = s.exec(
            select(func.count())
            .select_from(Vote)
            .where(Vote.ballot_id == scene.ballot.id, Vote.roll_id == roll_id)
            .where(col(Vote.is_current).is_(True))
        ).one()
        cast_events = s.exec(
            select(func.count())
            .select_from(LedgerEvent)
            .where(LedgerEvent.ballot_id == scene.ballot.id)
            .where(col(LedgerEvent.kind).in_(["cast", "recast"]))
        ).one()
        verdict = queries.verify_ballot(s, scene.ballot.id or 0)
        ballot = s.get(Ballot, scene.ballot.id)
        assert ballot is not None
        turnout = queries.turnout(s, ballot)
    assert current == 1  # exactly one vote of that voter counts
    assert cast_events == 1 + API_VOTES + FORM_VOTES  # every acknowledged vote is in the chain
    assert verdict.ok, verdict.problems
    assert turnout.voters == 1


def test_the_api_and_the_form_refuse_a_vote_with_the_same_status(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """The same situation, the same answer: no such option 422, not on the roll 403, a closed
    ballot 409, from the JSON API, the plain form and the htmx form alike."""
    scene = _scene(db)
    chair = f.make_chair(db, scene.world)
    outsider = f.make_member(db, scene.world, household_index=2, chair=chair)[0]  # after open

    def statuses(user: User, option: str) -> dict[str, int]:
        c = make_client()
        c.login(user.phone or "", f.PASSWORD)
        token = c.get("/api/v1/me").json()["csrf_token"]
        body = {"option": option, "submission_id": str(uuid.uuid4())}
        got = {
            "api": c.post(
                "/api/v1" + scene.votes_path, json=body, headers={"X-CSRF-Token": token}
            ).status_code
        }
        for kind, headers in (("form", {}), ("htmx", {"HX-Request": "true"})):
            form = body | {"submission_id": str(uuid.uuid4()), "csrf_token": token}
            got[kind] = c.post(
                scene.votes_path, data=form, headers=headers, follow_redirects=False
            ).status_code
        return got

    assert statuses(scene.voter, "maybe") == dict.fromkeys(("api", "form", "htmx"), 422)
    assert statuses(outsider, "yes") == dict.fromkeys(("api", "form", "htmx"), 403)
    with db.session() as s:
        service.close_ballot(
            session=s,
            access=f.chair_access(db, scene.world, chair),
            actor=chair,
            ballot_id=scene.ballot.id or 0,
        )
    assert statuses(scene.voter, "yes") == dict.fromkeys(("api", "form", "htmx"), 409)
