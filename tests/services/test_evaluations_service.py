"""民评 use cases through the real service, on SQLite and PostgreSQL (issue #13).

- opening: refused without tasks, with a task not done, to a resident; a round copies the
  hall's weight and threshold, ends after the hall's window, moves the issue to 评价中 and asks
  the residents in scope;
- answers: one per person per round (a second is a Conflict, also from two processes at once),
  the round's counts always equal to its answers; an answer may be changed while the round is
  open; paper entries may leave the satisfaction blank (counted in `answers` only);
- closing: never before the window ends; exactly 1/3 不满意 closes as 已办结, 2 of 5 reopens to
  办理中 with a notice to everyone involved, and a second round can be opened; the job and the
  chair's button at once close once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from multiprocessing.synchronize import Barrier

import pytest
from sqlmodel import col, func, select

import app.models
from app.accounts.models import User
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.db import Database
from app.evaluations import queries, rules, schemas, service
from app.evaluations.models import AnswerSource, EvaluationAnswer, EvaluationRound, RoundOutcome
from app.issues.lifecycle import Stage
from app.issues.models import Issue, Notification
from app.jobs import runner
from app.jobs.registry import JOBS
from tests import evaluation_helpers as eh
from tests import factories as f
from tests.implementation_helpers import frozen, implementing_issue
from tests.services.test_races import Racers

CLOSE_DUE = JOBS["evaluations.close_due"]


@pytest.fixture
def world(db: Database) -> f.HallWorld:
    return f.make_hall(db, buildings=1, entrances=2, rooms=4)


@pytest.fixture
def chair(db: Database, world: f.HallWorld) -> User:
    return f.make_chair(db, world)


def stage_of(db: Database, issue: Issue) -> Stage:
    with db.session(read_only=True) as s:
        found = s.get(Issue, issue.id)
        assert found is not None
        return found.stage


def answers_of(db: Database, round_id: int) -> list[EvaluationAnswer]:
    with db.session(read_only=True) as s:
        return list(
            s.exec(select(EvaluationAnswer).where(EvaluationAnswer.round_id == round_id)).all()
        )


def assert_counts_match(db: Database, round_id: int) -> EvaluationRound:
    """The round's stored counts are exactly its answers'."""
    row = eh.round_of(db, round_id)
    rows = answers_of(db, round_id)
    valid = [a for a in rows if a.satisfaction is not None]
    assert row.answers == len(rows)
    assert row.valid == len(valid)
    for name, choice in (("satisfied", "satisfied"), ("basic", "basic")):
        assert getattr(row, name) == sum(1 for a in valid if a.satisfaction == choice)
    assert row.dissatisfied == sum(1 for a in valid if a.satisfaction == "dissatisfied")
    assert row.resolved_yes == sum(1 for a in valid if a.resolved is True)
    assert row.resolved_no == sum(1 for a in valid if a.resolved is False)
    return row


def kinds_for(db: Database, user: User, issue: Issue) -> list[str]:
    with db.session(read_only=True) as s:
        return list(
            s.exec(
                select(Notification.kind).where(
                    Notification.user_id == user.id, Notification.issue_id == issue.id
                )
            ).all()
        )


# --- opening --------------------------------------------------------------------------------


def test_opening_needs_a_task_all_done_and_the_chair(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue = implementing_issue(db, world, chair)
    with pytest.raises(Conflict) as no_tasks:
        eh.open_round(db, world, chair, issue)
    assert no_tasks.value.code == "evaluation_no_tasks"
    eh.add_task(db, world, issue, chair, done=True)
    eh.add_task(db, world, issue, chair, done=False)
    with pytest.raises(Conflict) as open_tasks:
        eh.open_round(db, world, chair, issue)
    assert open_tasks.value.code == "tasks_open"
    resident, _ = eh.quick_member(db, world)
    eh.finish_tasks(db, issue)
    with db.session() as s, pytest.raises(NotAllowed):
        service.open_round(
            session=s,
            access=f.member_access(db, world, resident),
            actor=resident,
            issue_id=issue.id or 0,
        )
    assert stage_of(db, issue) == Stage.IMPLEMENTING


def test_a_round_copies_the_halls_rules_and_asks_the_residents(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    f.set_hall_rules(
        db,
        world,
        evaluation_window_days=10,
        basic_satisfied_weight_num=4,
        basic_satisfied_weight_den=5,
        reopen_threshold_num=1,
        reopen_threshold_den=2,
    )
    resident, _ = eh.quick_member(db, world, household_index=5)
    worker = f.make_user(db, name="物业经理")
    issue = implementing_issue(db, world, chair)
    eh.add_task(db, world, issue, chair, responsible=worker)
    before = clock.now()
    row = eh.open_round(db, world, chair, issue)
    assert (row.number, row.weight_num, row.weight_den) == (1, 4, 5)
    assert (row.threshold_num, row.threshold_den) == (1, 2)
    assert before + timedelta(days=10) <= row.ends_at <= clock.now() + timedelta(days=10)
    assert stage_of(db, issue) == Stage.EVALUATING
    assert "evaluation_open" in kinds_for(db, resident, issue)
    # Out of the issue's scope, the person responsible cannot answer: told of the stage only.
    assert kinds_for(db, worker, issue) == ["stage:evaluating"]
    # A change of the hall's settings later does not change the open round.
    f.set_hall_rules(db, world, reopen_threshold_num=0, reopen_threshold_den=1)
    assert eh.round_of(db, row.id or 0).threshold_num == 1


# --- answers --------------------------------------------------------------------------------


def test_one_answer_per_person_and_the_counts_kept_in_step(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    users = eh.answer_many(db, world, issue, ["satisfied", "basic", "dissatisfied"])
    with pytest.raises(Conflict) as again:
        eh.answer(db, world, users[0], issue, "dissatisfied")
    assert again.value.code == "evaluation_already_answered"
    counted = assert_counts_match(db, row.id or 0)
    assert (counted.valid, counted.satisfied, counted.basic, counted.dissatisfied) == (3, 1, 1, 1)
    assert counted.resolved_yes == 3
    summary = queries.summarize(counted)
    assert rules.summary_data(summary)["satisfaction_rate"] == {
        "numerator": 19,
        "denominator": 30,
        "value": "0.6333",
    }  # (1 + 9/10) / 3


def test_the_phone_form_is_checked_field_by_field(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    user, _ = eh.quick_member(db, world)
    with pytest.raises(ValidationFailed) as bad:
        eh.answer(db, world, user, issue, "", resolved="maybe", comment="长" * 501)
    assert bad.value.errors == {
        "satisfaction": "satisfaction_required",
        "resolved": "resolved_required",
        "comment": "comment_too_long",
    }
    eh.answer(db, world, user, issue, "satisfied", comment="长" * 500)
    assert assert_counts_match(db, row.id or 0).answers == 1


def test_an_answer_can_be_changed_while_the_round_is_open(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    (user,) = eh.answer_many(db, world, issue, ["dissatisfied"])
    with db.session() as s:
        service.change_answer(
            session=s,
            access=f.member_access(db, world, user),
            actor=user,
            issue_id=issue.id or 0,
            form=schemas.AnswerForm(satisfaction="basic", resolved="no", comment="还行"),
        )
    counted = assert_counts_match(db, row.id or 0)
    assert (counted.answers, counted.basic, counted.dissatisfied) == (1, 1, 0)
    assert (counted.resolved_yes, counted.resolved_no) == (0, 1)
    with frozen(row.ends_at), db.session() as s, pytest.raises(Conflict) as over:
        service.change_answer(
            session=s,
            access=f.member_access(db, world, user),
            actor=user,
            issue_id=issue.id or 0,
            form=schemas.AnswerForm(satisfaction="satisfied", resolved="yes"),
        )
    assert over.value.code == "evaluation_over"


def test_paper_entries_by_the_recorder(db: Database, world: f.HallWorld, chair: User) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    user, membership = eh.quick_member(db, world)
    other, other_membership = eh.quick_member(db, world, household_index=1)
    access = f.chair_access(db, world, chair)
    with db.session() as s:
        found = service.enter_paper(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.PaperAnswerForm(membership_id=membership.id, resolved="yes"),
        )
    assert (found.source, found.entered_by_id, found.satisfaction) == (
        AnswerSource.PAPER,
        chair.id,
        None,
    )
    with db.session() as s:
        service.enter_paper(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.PaperAnswerForm(
                membership_id=other_membership.id, satisfaction="dissatisfied", resolved="no"
            ),
        )
    counted = assert_counts_match(db, row.id or 0)
    assert (counted.answers, counted.valid, counted.resolved_yes, counted.resolved_no) == (
        2,
        1,
        0,
        1,
    )
    with db.session() as s, pytest.raises(Conflict) as twice:
        service.enter_paper(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.PaperAnswerForm(membership_id=membership.id, satisfaction="satisfied"),
        )
    assert twice.value.code == "evaluation_member_answered"
    with pytest.raises(Conflict):  # the member answered on paper: not again on the phone
        eh.answer(db, world, user, issue, "satisfied")
    with db.session() as s, pytest.raises(ValidationFailed) as nobody:
        service.enter_paper(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.PaperAnswerForm(membership_id=None, satisfaction="satisfied"),
        )
    assert nobody.value.errors == {"membership_id": "evaluation_member_required"}
    with db.session() as s, pytest.raises(NotAllowed):
        service.enter_paper(
            session=s,
            access=f.member_access(db, world, other),
            actor=other,
            issue_id=issue.id or 0,
            form=schemas.PaperAnswerForm(membership_id=membership.id, satisfaction="satisfied"),
        )


# --- closing at the threshold's boundary ----------------------------------------------------


def close_by_chair(db: Database, world: f.HallWorld, chair: User, issue: Issue) -> EvaluationRound:
    with db.session() as s:
        return service.close_round(
            session=s, access=f.chair_access(db, world, chair), actor=chair, issue_id=issue.id or 0
        )


def test_not_closed_before_the_window_ends(db: Database, world: f.HallWorld, chair: User) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    eh.answer_many(db, world, issue, ["satisfied"])
    with frozen(row.ends_at - timedelta(seconds=1)), pytest.raises(Conflict) as early:
        close_by_chair(db, world, chair, issue)
    assert early.value.code == "evaluation_window_open"
    with frozen(row.ends_at), pytest.raises(Conflict) as late:
        eh.answer_many(db, world, issue, ["satisfied"])
    assert late.value.code == "evaluation_over"
    assert stage_of(db, issue) == Stage.EVALUATING


def test_exactly_a_third_dissatisfied_closes(db: Database, world: f.HallWorld, chair: User) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    eh.answer_many(db, world, issue, ["satisfied", "basic", "dissatisfied"])
    with frozen(row.ends_at):
        closed = close_by_chair(db, world, chair, issue)
    assert closed.outcome == RoundOutcome.CLOSED
    assert closed.closed_at is not None
    assert stage_of(db, issue) == Stage.CLOSED
    summary = queries.summarize(eh.round_of(db, row.id or 0))
    assert (summary.reopen, summary.check.needed, summary.check.margin) == (False, 2, -1)


def test_two_of_five_dissatisfied_reopens_and_a_second_round_follows(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    users = eh.answer_many(
        db, world, issue, ["satisfied", "basic", "basic", "dissatisfied", "dissatisfied"]
    )
    with frozen(row.ends_at + timedelta(hours=1)):
        closed = close_by_chair(db, world, chair, issue)
    assert closed.outcome == RoundOutcome.REOPENED
    assert stage_of(db, issue) == Stage.IMPLEMENTING
    assert "evaluation_reopened" in kinds_for(db, users[0], issue)
    summary = rules.summary_data(queries.summarize(closed))
    assert summary["dissatisfied_share"] == {"numerator": 2, "denominator": 5, "value": "0.4000"}
    assert summary["satisfaction_rate"] == {"numerator": 14, "denominator": 25, "value": "0.5600"}
    assert summary["reopen"] is True
    # The chair adds a task, finishes it and opens round 2.
    eh.add_task(db, world, issue, chair)
    second = eh.open_round(db, world, chair, issue)
    assert second.number == 2
    eh.answer(db, world, users[3], issue, "satisfied")  # a new round: a new answer
    assert assert_counts_match(db, second.id or 0).answers == 1


def test_the_job_closes_due_rounds_once(db: Database, world: f.HallWorld, chair: User) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    eh.answer_many(db, world, issue, ["dissatisfied"])
    with frozen(row.ends_at - timedelta(seconds=1)), db.session() as s:
        assert row.id not in service.close_due_rounds(session=s, now=clock.now())
        s.commit()
    with frozen(row.ends_at), db.session() as s:
        assert row.id in service.close_due_rounds(session=s, now=clock.now())
        s.commit()
    assert stage_of(db, issue) == Stage.IMPLEMENTING  # 1 of 1 不满意 > 1/3
    assert eh.round_of(db, row.id or 0).closed_by_id is None
    with frozen(row.ends_at + timedelta(days=1)), db.session() as s:
        assert row.id not in service.close_due_rounds(session=s, now=clock.now())
    with frozen(row.ends_at), pytest.raises(Conflict) as closed:
        close_by_chair(db, world, chair, issue)
    assert closed.value.code == "evaluation_not_open"


# --- races (spawned processes at one barrier) -----------------------------------------------


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    pool = Racers(2)
    yield pool
    pool.close()


def _answer_once(barrier: Barrier, url: str, hall_id: int, user_id: int, issue_id: int) -> str:
    from app.halls.models import Hall
    from app.halls.queries import hall_access

    db = Database.connect(url)
    try:
        with db.session(read_only=True) as s:
            user, hall = s.get(User, user_id), s.get(Hall, hall_id)
            assert user is not None
            assert hall is not None
            access = hall_access(s, user=user, hall=hall)
        barrier.wait()
        with db.session() as s:
            try:
                service.answer(
                    session=s,
                    access=access,
                    actor=user,
                    issue_id=issue_id,
                    form=schemas.AnswerForm(satisfaction="dissatisfied", resolved="no"),
                )
            except Conflict as exc:
                return exc.code
        return "answered"
    finally:
        db.dispose()


@pytest.mark.slow
def test_the_same_answer_from_two_processes_counts_once(
    db: Database, world: f.HallWorld, chair: User, racers: Racers
) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    user, _ = eh.quick_member(db, world)
    args = (db.url, world.hall.id, user.id, issue.id)
    results = racers.race(_answer_once, [args, args])
    assert sorted(results) == ["answered", "evaluation_already_answered"]
    counted = assert_counts_match(db, row.id or 0)
    assert (counted.answers, counted.dissatisfied) == (1, 1)


def _close_once(
    barrier: Barrier, url: str, at: str, by_job: bool, hall_id: int, chair_id: int, issue_id: int
) -> str:
    from datetime import datetime

    from app.halls.models import Hall
    from app.halls.queries import hall_access

    clock.freeze(datetime.fromisoformat(at))
    db = Database.connect(url)
    try:
        if by_job:
            barrier.wait()
            outcome = runner.run_job(db, CLOSE_DUE, token=runner.new_token(), force=True)
            return f"job:{outcome.status}:{outcome.count}"
        with db.session(read_only=True) as s:
            user, hall = s.get(User, chair_id), s.get(Hall, hall_id)
            assert user is not None
            assert hall is not None
            access = hall_access(s, user=user, hall=hall)
        barrier.wait()
        with db.session() as s:
            try:
                service.close_round(session=s, access=access, actor=user, issue_id=issue_id)
            except Conflict as exc:
                return f"chair:{exc.code}"
        return "chair:closed"
    finally:
        db.dispose()
        clock.freeze(None)


@pytest.mark.slow
def test_the_job_and_the_chair_at_once_close_once(
    db: Database, world: f.HallWorld, chair: User, racers: Racers
) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    eh.answer_many(db, world, issue, ["satisfied", "satisfied"])
    at = (row.ends_at + timedelta(minutes=1)).isoformat()
    common = (world.hall.id, chair.id, issue.id)
    results = racers.race(_close_once, [(db.url, at, True, *common), (db.url, at, False, *common)])
    job, by_chair = results
    assert job.startswith("job:ran:")  # it ran; whether it found this round depends on who won
    assert by_chair in {"chair:closed", "chair:evaluation_not_open"}
    with db.session(read_only=True) as s:
        events = s.exec(
            select(func.count())
            .select_from(app.issues.models.StageEvent)
            .where(
                col(app.issues.models.StageEvent.issue_id) == issue.id,
                col(app.issues.models.StageEvent.to_stage) == Stage.CLOSED,
            )
        ).one()
    assert events == 1
    assert stage_of(db, issue) == Stage.CLOSED
    assert eh.round_of(db, row.id or 0).outcome == RoundOutcome.CLOSED


def _job_once(barrier: Barrier, url: str, at: str, name: str) -> str:
    from datetime import datetime

    from app.jobs.registry import Job, close_due_evaluations

    clock.freeze(datetime.fromisoformat(at))
    db = Database.connect(url)
    job = Job(name=name, run=close_due_evaluations, description="", every=timedelta(days=1))
    try:
        barrier.wait()
        return runner.run_job(db, job, token=runner.new_token()).status
    finally:
        db.dispose()
        clock.freeze(None)


@pytest.mark.slow
def test_the_job_from_two_processes_at_once_closes_once(
    db: Database, world: f.HallWorld, chair: User, racers: Racers
) -> None:
    issue, row = eh.evaluating_issue(db, world, chair)
    eh.answer_many(db, world, issue, ["dissatisfied", "satisfied"])  # 1 of 2 > 1/3: reopen
    at = (row.ends_at + timedelta(minutes=1)).isoformat()
    name = f.unique("test.evaluations")[:64]
    results = racers.race(_job_once, [(db.url, at, name), (db.url, at, name)])
    assert sorted(results) == ["not_due", "ran"]
    with db.session(read_only=True) as s:
        reopened = s.exec(
            select(func.count())
            .select_from(app.issues.models.StageEvent)
            .where(
                col(app.issues.models.StageEvent.issue_id) == issue.id,
                col(app.issues.models.StageEvent.from_stage) == Stage.EVALUATING,
            )
        ).one()
        notices = s.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.issue_id == issue.id, Notification.kind == "evaluation_reopened")
        ).one()
    assert reopened == 1
    assert stage_of(db, issue) == Stage.IMPLEMENTING
    assert eh.round_of(db, row.id or 0).outcome == RoundOutcome.REOPENED
    # once each: the proposer, the two who answered, the chair (the job has no actor)
    assert notices == len(set(notices_for(db, issue)))


def notices_for(db: Database, issue: Issue) -> list[int]:
    with db.session(read_only=True) as s:
        return list(
            s.exec(
                select(Notification.user_id).where(
                    Notification.issue_id == issue.id, Notification.kind == "evaluation_reopened"
                )
            ).all()
        )
