"""An issue sent back to 民议 is deliberated and decided again (a second round).

A failed vote settled 退回民议, or an 异议 upheld at the end of the 公示, sends the issue back to
民议; the chair then closes it again with a new 协商意见. That second 结束协商 used to fail on
the opinion's key (one per issue), leaving the issue in 民议 for good. And a failed ballot the
chair never settled (another was held after it) stayed "closed", so the next round read it as
the vote waiting for the chair's next step (表决已截止, a 去处理 on the old ballot)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import Conflict, ValidationFailed
from app.db import Database
from app.halls.models import Relation
from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.issues.lifecycle import Stage
from app.issues.models import ConsultationOpinion, Issue, Solution
from app.voting import schemas as vote_schemas
from app.voting import service as vote_service
from app.voting.models import Ballot, BallotStatus
from tests import factories as f
from tests.conftest import Client
from tests.implementation_helpers import frozen
from tests.web import issue_helpers as ih
from tests.web.test_vote_state_labels import WAITING, login, tiles


def consensus(db: Database, world: f.HallWorld, chair: object, issue_id: int) -> Ballot:
    """A 协商一致 recorded as failed: the ballot is closed and waits for the chair."""
    made = ih.ballot(db, world, chair, issue_id, rule="consensus", opened=False)  # type: ignore[arg-type]
    with db.session() as s:
        vote_service.record_consensus(
            session=s,
            access=f.chair_access(db, world, chair),  # type: ignore[arg-type]
            actor=chair,  # type: ignore[arg-type]
            ballot_id=made.id or 0,
            form=vote_schemas.ConsensusForm(passed=False, text="未能协商一致"),
        )
    return made


def close_again(boss: Client, hall_id: int, issue_id: int, solution_id: int) -> int:
    path = f"/halls/{hall_id}/issues/{issue_id}/close"
    answer = boss.post_form(
        path,
        {
            "agreements": "第二轮：同意只在北侧加装",
            "disagreements": "南侧住户担心采光，改为北侧",
            "solution_ids": str(solution_id),
        },
        token_from=path,
        follow_redirects=False,
    )
    return answer.status_code


def test_a_failed_vote_sent_back_to_deliberation_is_closed_and_decided_again(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    owner = f.make_member(db, world, household_index=0, relation=Relation.OWNER, chair=chair)[0]
    issue, (first, second) = f.make_deciding_issue(db, world, chair, title="加装电梯的事")
    issue_id, hall_id = issue.id or 0, world.hall.id or 0
    stale = consensus(db, world, chair, issue_id)  # never settled: another attempt follows
    settled = consensus(db, world, chair, issue_id)
    with db.session() as s:
        vote_service.settle_failed(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=settled.id or 0,
            form=vote_schemas.FailedOutcomeForm(outcome="deliberate"),
        )
    boss, resident = login(make_client, chair), login(make_client, owner)

    # Leaving 民决 concluded the round: the unsettled failed ballot is no longer waiting.
    with db.session(read_only=True) as s:
        left = s.get(Ballot, stale.id)
        assert left is not None
        assert left.status == BallotStatus.PUBLISHED
        concluded = s.exec(
            select(AuditEvent.data).where(
                AuditEvent.action == "voting.conclude_round", AuditEvent.subject_id == issue_id
            )
        ).all()
    assert [json.loads(d)["ballots"] for d in concluded] == [[stale.id]]

    # Round two: the chair closes 民议 again, choosing only the second 方案.
    assert close_again(boss, hall_id, issue_id, second) == 303
    with db.session(read_only=True) as s:
        moved = s.get(Issue, issue_id)
        assert moved is not None
        assert moved.stage == Stage.DECIDING
        opinions = s.exec(
            select(ConsultationOpinion.agreements)
            .where(ConsultationOpinion.issue_id == issue_id)
            .order_by(ConsultationOpinion.id)  # type: ignore[arg-type]
        ).all()
        chosen = s.exec(
            select(Solution.id).where(Solution.issue_id == issue_id, Solution.selected)
        ).all()
    assert opinions == ["大家同意加装", "第二轮：同意只在北侧加装"]  # the first round's is kept
    assert list(chosen) == [second]  # this round's choice, not the first round's as well
    assert first != second

    page = html.unescape(boss.get(f"/halls/{hall_id}/issues/{issue_id}").text)
    assert "第二轮：同意只在北侧加装" in page  # the current opinion
    assert "大家同意加装" not in page
    assert "settle-now" not in page  # no 去处理 on the old round's ballot
    assert "待您发起表决" in page
    # The hall page and the API read the new round as waiting for a ballot, not 表决已截止.
    assert (WAITING, "待发起表决", "1") in tiles(resident.get(f"/halls/{hall_id}").text)
    assert (WAITING, "请您发起表决", "1") in tiles(boss.get(f"/halls/{hall_id}").text)
    api = resident.get(f"/api/v1/halls/{hall_id}/issues/{issue_id}").json()
    assert api["issue"]["vote"] == "waiting"

    # The stale ballot cannot be settled any more (it would end the new round unvoted).
    with db.session() as s, pytest.raises(Conflict):
        vote_service.settle_failed(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=stale.id or 0,
            form=vote_schemas.FailedOutcomeForm(outcome="not_passed"),
        )
    with db.session(read_only=True) as s:
        still = s.get(Issue, issue_id)
        assert still is not None
        assert still.stage == Stage.DECIDING

    # A second round can be decided: a 协商一致 passes and the issue goes to 公示.
    ih.publicize(db, world, chair, issue_id)
    with db.session(read_only=True) as s:
        done = s.get(Issue, issue_id)
        assert done is not None
        assert done.stage == Stage.PUBLICIZING


def test_an_upheld_objection_sends_it_back_and_it_is_closed_again(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    owner = f.make_member(db, world, household_index=0, relation=Relation.OWNER, chair=chair)[0]
    issue, (_, second) = f.make_deciding_issue(db, world, chair, title="楼道堆物清理")
    issue_id, hall_id = issue.id or 0, world.hall.id or 0
    ih.publicize(db, world, chair, issue_id)
    objection_id = ih.objection(db, world, owner, issue_id)
    with db.session() as s:
        vote_service.answer_objection(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            objection_id=objection_id,
            form=vote_schemas.AnswerForm(answer="异议成立，重新协商", upheld=True),
        )
    with frozen(clock.now() + timedelta(days=world.hall.publicity_days, seconds=1)):
        with db.session() as s:
            back = vote_service.end_publicity(
                session=s, access=f.chair_access(db, world, chair), actor=chair, issue_id=issue_id
            )
        assert back.stage == Stage.DELIBERATING
        boss = login(make_client, chair)
        assert close_again(boss, hall_id, issue_id, second) == 303
    with db.session(read_only=True) as s:
        again = s.get(Issue, issue_id)
        assert again is not None
        assert again.stage == Stage.DECIDING
        count = len(
            s.exec(
                select(ConsultationOpinion.id).where(ConsultationOpinion.issue_id == issue_id)
            ).all()
        )
    assert count == 2


def test_a_first_close_still_refuses_a_missing_opinion(db: Database) -> None:
    """The per-round opinion changes nothing for the first round: both texts are required."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    issue = f.make_deliberating_issue(db, world, chair)
    with db.session() as s:
        access = f.chair_access(db, world, chair)
        solution = issue_service.add_solution(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=issue_schemas.SolutionForm(title="方案", description="说明"),
        )
    with db.session() as s, pytest.raises(ValidationFailed) as refused:
        issue_service.close_deliberation(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            issue_id=issue.id or 0,
            form=issue_schemas.CloseForm(
                agreements=" ", disagreements="有", solution_ids=[solution.id or 0]
            ),
        )
    assert "agreements" in refused.value.errors
    with db.session(read_only=True) as s:
        assert (
            s.exec(
                select(ConsultationOpinion.id).where(ConsultationOpinion.issue_id == issue.id)
            ).first()
            is None
        )
