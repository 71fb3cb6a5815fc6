"""Who gets which notice for each event (issue #14): the notification matrix.

One hall with a person in every relationship to its issues — the proposer, a co-signer, a
commenter (who lives outside the issue's building), a council member (the council ballot's
roll, and the member responsible for the task), a plain resident of the building, a resident of
the other building, the chair who acts and the hall's other chair — and around it a resident of another hall, the street's
official and two departments' members. Each row of MATRIX brings an issue (or a meeting, an
escalation) to the moment before its event through the services, triggers the event, and
asserts exactly who got which kind of notice, and that each notice's page names what the
reader can do and links where to do it. MATRIX covers every kind of app.issues.notices.NOTICES:
a new kind without a row fails `test_every_kind_has_a_row`. Both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.accounts.models import User
from app.db import Database
from app.escalations import schemas as escalation_schemas
from app.escalations import service as escalations
from app.escalations.models import Department, Escalation
from app.evaluations import queries as evaluation_queries
from app.evaluations import schemas as evaluation_schemas
from app.evaluations import service as evaluations
from app.halls.models import Entrance
from app.issues import lifecycle, notices, queries
from app.issues import schemas as issue_schemas
from app.issues import service as issues
from app.issues.models import Category, Issue, Notification, Scope, Stance
from app.jobs import registry, runner
from app.meetings.models import Meeting
from app.tasks import schemas as task_schemas
from app.tasks import service as tasks
from app.tasks.models import Task
from app.voting import queries as voting_queries
from app.voting import schemas as voting_schemas
from app.voting import service as voting
from app.voting.models import Ballot
from app.voting.rules import RuleKind
from tests import escalation_helpers as eh
from tests import factories as f
from tests import meeting_helpers as mh
from tests.ballot_helpers import cast, draft_ballot, open_ballot
from tests.conftest import Client
from tests.implementation_helpers import frozen
from tests.task_helpers import task_form

# --- the world --------------------------------------------------------------------------------


@dataclass
class World:
    db: Database
    hall: f.HallWorld
    building_id: int  # the issues' scope: building 1
    people: dict[str, User]
    lead: Department
    helper: Department
    names: dict[int, str] = field(default_factory=dict)
    meeting: Meeting | None = None  # the last one scheduled: its notices link to its page

    def __post_init__(self) -> None:
        self.names = {u.id or 0: name for name, u in self.people.items()}

    def __getattr__(self, name: str) -> User:
        people = self.__dict__.get("people", {})
        if name in people:
            return people[name]  # type: ignore[no-any-return]
        raise AttributeError(name)

    def access(self, user: User) -> Any:
        return f.member_access(self.db, self.hall, user)


@pytest.fixture(scope="module")
def w(db: Database) -> World:
    return make_world(db)


def make_world(db: Database) -> World:
    hall = f.make_hall(db, buildings=2, entrances=1, rooms=6)  # households 0–5: building 1
    f.set_hall_rules(db, hall, cosign_threshold=1)
    chair = f.make_chair(db, hall, name="主任")
    vice = f.make_chair(db, hall, name="副主任")  # the hall's other chair

    def member(index: int, name: str) -> User:
        return f.make_member(db, hall, household_index=index, chair=chair, name=name)[0]

    people = {
        "chair": chair,
        "vice": vice,
        "proposer": member(0, "提议人"),
        "cosigner": member(1, "附议人"),
        "council": member(2, "议事会成员"),
        "resident": member(3, "本楼居民"),
        "commenter": member(6, "评论人"),  # building 2: outside the issues' scope
        "far_resident": member(7, "二号楼居民"),
    }
    mh.give_roles(db, hall, chair, people["council"], "council")
    other = f.make_hall(db, buildings=1, entrances=1, rooms=1)
    people["other_hall"] = f.make_member(db, other, name="别的社区居民")[0]
    people["official"] = eh.street_admin(db, hall, name="街道干部")
    people["dept"] = f.make_user(db, name="城管科干部")
    people["helper"] = f.make_user(db, name="市政所干部")
    lead = eh.department(db, hall, people["official"], f.unique("城管科"), (people["dept"],))
    helper = eh.department(db, hall, people["official"], f.unique("市政所"), (people["helper"],))
    with db.session(read_only=True) as s:
        entrance = s.get(Entrance, hall.households[0].entrance_id)
        assert entrance is not None
    return World(db, hall, entrance.building_id, people, lead, helper)


# --- bringing an issue along, through the services ---------------------------------------------


def _call(w: World, user: User, use_case: Callable[..., Any], **kwargs: Any) -> Any:
    with w.db.session() as s:
        return use_case(session=s, access=w.access(user), actor=user, **kwargs)


def proposed(w: World) -> Issue:
    """Proposed by the proposer for building 1 (collecting: the threshold is one co-signer)."""
    form = issue_schemas.ProposeForm(
        title=f.unique("楼道灯不亮"),
        description="晚上楼道太黑。",
        category=Category.BUILDING,
        scope=Scope.BUILDING,
        scope_building_id=w.building_id,
    )
    issue: Issue = _call(w, w.proposer, issues.propose_issue, form=form)
    return issue


def under_review(w: World) -> Issue:
    issue = proposed(w)
    _call(w, w.cosigner, issues.cosign_issue, issue_id=issue.id)
    return issue


def deliberating(w: World) -> Issue:
    issue = under_review(w)
    _call(w, w.chair, issues.accept_issue, issue_id=issue.id, form=issue_schemas.AcceptForm())
    return issue


def comment(w: World, issue: Issue, user: User, parent_id: int | None = None) -> int:
    form = issue_schemas.CommentForm(body="同意", stance=Stance.SUPPORT, parent_id=parent_id)
    found: int = _call(w, user, issues.add_comment, issue_id=issue.id, form=form).id
    return found


def commented(w: World) -> Issue:
    issue = deliberating(w)
    comment(w, issue, w.commenter)
    return issue


def deciding(w: World) -> Issue:
    issue = commented(w)
    solution = _call(
        w,
        w.chair,
        issues.add_solution,
        issue_id=issue.id,
        form=issue_schemas.SolutionForm(title="换感应灯", description="每层一盏"),
    )
    form = issue_schemas.CloseForm(
        agreements="换灯", disagreements="无", solution_ids=[solution.id or 0]
    )
    _call(w, w.chair, issues.close_deliberation, issue_id=issue.id, form=form)
    return issue


def council_ballot(w: World, issue: Issue, **values: Any) -> Ballot:
    ballot = draft_ballot(
        w.db, w.hall, w.chair, issue, rule=RuleKind.COUNCIL_MAJORITY, title="换灯表决", **values
    )
    return open_ballot(w.db, w.hall, w.chair, ballot)


def voted(w: World, option: str) -> tuple[Issue, Ballot]:
    issue = deciding(w)
    ballot = council_ballot(w, issue)
    cast(w.db, w.hall, w.council, ballot.id or 0, option)
    return issue, ballot


def close(w: World, ballot: Ballot) -> None:
    _call(w, w.chair, voting.close_ballot, ballot_id=ballot.id)


def consensus(w: World, issue: Issue, *, passed: bool = True) -> None:
    form = voting_schemas.BallotForm(title="协商一致", rule=RuleKind.CONSENSUS)
    ballot = _call(w, w.chair, voting.create_ballot, issue_id=issue.id, form=form)
    text = "协商一致：换感应灯" if passed else "对灯的亮度意见不一"
    _call(
        w,
        w.chair,
        voting.record_consensus,
        ballot_id=ballot.id,
        form=voting_schemas.ConsensusForm(passed=passed, text=text),
    )


def publicizing(w: World) -> Issue:
    issue, ballot = voted(w, "yes")
    close(w, ballot)
    return issue


def objected(w: World) -> tuple[Issue, int]:
    issue = publicizing(w)
    objection = _call(
        w,
        w.resident,
        voting.file_objection,
        issue_id=issue.id,
        form=voting_schemas.ObjectionForm(body="灯太亮"),
    )
    return issue, objection.id


def answered(w: World) -> Issue:
    issue, objection_id = objected(w)
    form = voting_schemas.AnswerForm(answer="可调暗", upheld=False)
    _call(w, w.chair, voting.answer_objection, objection_id=objection_id, form=form)
    return issue


def end_publicity(w: World, issue: Issue) -> None:
    with w.db.session(read_only=True) as s:
        ends = voting_queries.get_publicized_resolution(
            s, hall_id=issue.hall_id, issue_id=issue.id or 0
        )
    assert ends is not None
    assert ends.publicity_ends_at is not None
    with frozen(ends.publicity_ends_at + timedelta(seconds=1)):
        _call(w, w.chair, voting.end_publicity, issue_id=issue.id)


def implementing(w: World) -> Issue:
    issue = publicizing(w)
    end_publicity(w, issue)
    return issue


def add_task(w: World, issue: Issue, **values: Any) -> Task:
    form = task_form(responsible_user_id=w.council.id, **values)
    task: Task = _call(w, w.chair, tasks.add_task, issue_id=issue.id, form=form)
    return task


def done(w: World) -> Issue:
    """办理中 with its one task (the council member's) done."""
    issue = implementing(w)
    task = add_task(w, issue)
    _call(
        w,
        w.council,
        tasks.report_progress,
        issue_id=issue.id,
        task_id=task.id,
        form=task_schemas.UpdatePageForm.model_validate({"text": "已换好", "status": "done"}),
        uploads=[],
    )
    return issue


def evaluating(w: World) -> Issue:
    issue = done(w)
    _call(w, w.chair, evaluations.open_round, issue_id=issue.id)
    return issue


def evaluated(w: World, satisfaction: str) -> Issue:
    """评价中, the resident's answer in, the window over (the clock is frozen past it)."""
    issue = evaluating(w)
    _call(
        w,
        w.resident,
        evaluations.answer,
        issue_id=issue.id,
        form=evaluation_schemas.AnswerForm(satisfaction=satisfaction, resolved="yes"),
    )
    return issue


def close_round_later(w: World, issue: Issue, *, by_job: bool) -> None:
    with w.db.session(read_only=True) as s:
        row = evaluation_queries.open_round(s, hall_id=issue.hall_id, issue_id=issue.id or 0)
    assert row is not None
    with frozen(row.ends_at + timedelta(seconds=1)):
        if by_job:
            run_job("evaluations.close_due")
        else:
            _call(w, w.chair, evaluations.close_round, issue_id=issue.id)


def run_job(name: str) -> None:
    (result,) = runner.run_once(DB[0], jobs=[registry.JOBS[name]], force=True)
    assert result is not None


DB: list[Database] = []  # the database of the running test, for run_job


def escalation(w: World, *, dispatched: bool = False) -> tuple[Issue, Escalation]:
    issue = implementing(w)
    found = eh.raise_on(w.db, w.hall, w.chair, issue, summary=f.unique("楼门口路面塌陷"))
    if dispatched:
        found = eh.dispatch(w.db, w.hall, w.official, found, w.lead)
    return issue, found


def dept_call(
    w: World, user: User, dep: Department, use_case: Callable[..., Any], **kw: Any
) -> Any:
    with w.db.session() as s:
        return use_case(session=s, access=eh.dept_access(w.db, user, dep), actor=user, **kw)


def meeting(w: World, issue: Issue) -> Meeting:
    """A 议事会 (the council is invited) with the resident as its 记录人 and `issue` (followed
    by the proposer, the co-signer and the commenter) on its agenda."""
    form = mh.form(recorder_id=w.resident.id, issue_ids=[issue.id])
    w.meeting = mh.schedule(w.db, w.hall, w.chair, form)
    return w.meeting


# --- the events -----------------------------------------------------------------------------------

Trigger = Callable[[World], None]
Setup = Callable[[World], Trigger]
FOLLOWERS = ("proposer", "cosigner", "commenter")  # of an issue that has reached 民议


def _each(names: tuple[str, ...] | list[str], *kinds: str) -> dict[str, set[str]]:
    return {name: set(kinds) for name in names}


@dataclass(frozen=True)
class Row:
    event: str
    setup: Setup  # builds the moment before the event; returns the event
    expected: dict[str, set[str]]  # who gets which kinds; everyone else nothing
    # A periodic job's event: the job looks at every hall's issues, so its row has a hall of
    # its own, where nothing but its setup is overdue or due.
    job: bool = False
    # What the linked page, opened over HTTP, must show its reader ("*": every reader).
    says: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _cosign(w: World) -> Trigger:
    issue = proposed(w)
    return lambda w: _call(w, w.cosigner, issues.cosign_issue, issue_id=issue.id)


def _enter_on_behalf(w: World) -> Trigger:
    """A resident came to the office: the chair enters the issue for them (to review at once)."""
    form = issue_schemas.OnBehalfIssueForm(
        title=f.unique("楼下噪音扰民"),
        description="居民来居委会反映：夜里楼下施工。",
        category=Category.NEIGHBOURHOOD,
        scope=Scope.BUILDING,
        scope_building_id=w.building_id,
    )
    return lambda w: _call(w, w.chair, issues.enter_issue_on_behalf, form=form) and None


def _withdraw(w: World) -> Trigger:
    issue = under_review(w)
    return lambda w: _call(w, w.proposer, issues.withdraw_issue, issue_id=issue.id)


def _accept(w: World) -> Trigger:
    issue = under_review(w)
    form = issue_schemas.AcceptForm()
    return lambda w: _call(w, w.chair, issues.accept_issue, issue_id=issue.id, form=form)


def _reject(w: World) -> Trigger:
    issue = under_review(w)
    form = issue_schemas.ReasonForm(reason="不属于社区事务")
    return lambda w: _call(w, w.chair, issues.reject_issue, issue_id=issue.id, form=form)


def _merge(w: World) -> Trigger:
    issue = under_review(w)
    target = f.make_deliberating_issue(w.db, w.hall, w.chair)
    form = issue_schemas.MergeForm(target_id=target.id)
    return lambda w: _call(w, w.chair, issues.merge_issue, issue_id=issue.id, form=form)


def _answer_comment(w: World) -> Trigger:
    issue = deliberating(w)
    parent = comment(w, issue, w.commenter)
    return lambda w: comment(w, issue, w.resident, parent_id=parent) and None


def _hide(w: World) -> Trigger:
    issue = deliberating(w)
    comment_id = comment(w, issue, w.commenter)
    form = issue_schemas.ReasonForm(reason="含有他人电话号码")
    return lambda w: _call(w, w.chair, issues.hide_comment, comment_id=comment_id, form=form)


def _close_deliberation(w: World) -> Trigger:
    issue = commented(w)
    solution = _call(
        w,
        w.chair,
        issues.add_solution,
        issue_id=issue.id,
        form=issue_schemas.SolutionForm(title="换灯", description="全部换"),
    )
    form = issue_schemas.CloseForm(agreements="换", disagreements="无", solution_ids=[solution.id])
    return lambda w: _call(w, w.chair, issues.close_deliberation, issue_id=issue.id, form=form)


def _open_ballot(w: World) -> Trigger:
    issue = deciding(w)
    ballot = draft_ballot(w.db, w.hall, w.chair, issue, rule=RuleKind.COUNCIL_MAJORITY)
    return lambda w: open_ballot(w.db, w.hall, w.chair, ballot) and None


def _remind(w: World) -> Trigger:
    issue = deciding(w)
    ballot = council_ballot(w, issue, closes_in_hours="48")
    assert ballot.closes_at is not None
    due = ballot.closes_at - timedelta(hours=24)

    def trigger(w: World) -> None:
        with frozen(due):
            run_job("voting.remind")

    return trigger


def _close_ballot(option: str) -> Setup:
    def setup(w: World) -> Trigger:
        _, ballot = voted(w, option)
        return lambda w: close(w, ballot)

    return setup


def _consensus(w: World) -> Trigger:
    issue = deciding(w)
    return lambda w: consensus(w, issue)


def _no_consensus(w: World) -> Trigger:
    issue = deciding(w)
    return lambda w: consensus(w, issue, passed=False)


def _settle_failed(w: World) -> Trigger:
    _, ballot = voted(w, "no")
    close(w, ballot)
    form = voting_schemas.FailedOutcomeForm(outcome="not_passed")
    return lambda w: _call(w, w.chair, voting.settle_failed, ballot_id=ballot.id, form=form)


def _object(w: World) -> Trigger:
    issue = publicizing(w)
    form = voting_schemas.ObjectionForm(body="灯太亮")
    return lambda w: _call(w, w.resident, voting.file_objection, issue_id=issue.id, form=form)


def _answer_objection(w: World) -> Trigger:
    _, objection_id = objected(w)
    form = voting_schemas.AnswerForm(answer="可调暗", upheld=False)
    return lambda w: _call(
        w, w.chair, voting.answer_objection, objection_id=objection_id, form=form
    )


def _end_publicity(w: World) -> Trigger:
    issue = answered(w)
    return lambda w: end_publicity(w, issue)


def _assign_task(w: World) -> Trigger:
    issue = implementing(w)
    return lambda w: add_task(w, issue) and None


def _task_overdue(w: World) -> Trigger:
    issue = implementing(w)
    task = add_task(w, issue)

    def trigger(w: World) -> None:
        with frozen(task.due_at + timedelta(minutes=1)):
            run_job("tasks.overdue")

    return trigger


def _raise(w: World) -> Trigger:
    issue = implementing(w)
    return lambda w: eh.raise_on(w.db, w.hall, w.chair, issue) and None


def _withdraw_escalation(w: World) -> Trigger:
    issue, found = escalation(w)
    return lambda w: _call(
        w,
        w.chair,
        escalations.withdraw_escalation,
        issue_id=issue.id,
        escalation_id=found.id,
    )


def _dispatch(w: World) -> Trigger:
    _, found = escalation(w)
    return lambda w: eh.dispatch(w.db, w.hall, w.official, found, w.lead) and None


def _acknowledge(w: World) -> Trigger:
    _, found = escalation(w, dispatched=True)
    return lambda w: eh.acknowledge(w.db, w.dept, w.lead, found) and None


def _reply(w: World) -> Trigger:
    _, found = escalation(w, dispatched=True)
    eh.acknowledge(w.db, w.dept, w.lead, found)
    form = escalation_schemas.TextForm(text="已安排人员勘察")
    return lambda w: dept_call(
        w, w.dept, w.lead, escalations.reply, escalation_id=found.id, form=form
    )


def _ask_help(w: World) -> Trigger:
    _, found = escalation(w, dispatched=True)
    eh.acknowledge(w.db, w.dept, w.lead, found)
    form = escalation_schemas.HelpForm(department_id=w.helper.id, text="请协助")
    return lambda w: dept_call(
        w, w.dept, w.lead, escalations.ask_help, escalation_id=found.id, form=form
    )


def _resolve(w: World) -> Trigger:
    _, found = escalation(w, dispatched=True)
    eh.acknowledge(w.db, w.dept, w.lead, found)
    form = escalation_schemas.TextForm(text="已修复")
    return lambda w: dept_call(
        w, w.dept, w.lead, escalations.resolve, escalation_id=found.id, form=form
    )


def _overdue(which: str) -> Setup:
    def setup(w: World) -> Trigger:
        _, found = escalation(w, dispatched=True)
        if which == "resolve":
            eh.acknowledge(w.db, w.dept, w.lead, found)
        due = found.respond_due_at if which == "respond" else found.resolve_due_at
        assert due is not None

        def trigger(w: World) -> None:
            with frozen(due + timedelta(minutes=1)):
                run_job("escalations.overdue")

        return trigger

    return setup


def _schedule(w: World) -> Trigger:
    issue = commented(w)
    return lambda w: meeting(w, issue) and None


def _reschedule(w: World) -> Trigger:
    found = meeting(w, commented(w))
    return lambda w: (
        mh.reschedule(w.db, w.hall, w.chair, found, place="二楼会议室", reason="换场地") and None
    )


def _cancel(w: World) -> Trigger:
    found = meeting(w, commented(w))
    return lambda w: mh.cancel(w.db, w.hall, w.chair, found) and None


def _open_round(w: World) -> Trigger:
    issue = done(w)
    return lambda w: _call(w, w.chair, evaluations.open_round, issue_id=issue.id)


def _close_round(satisfaction: str, *, by_job: bool) -> Setup:
    def setup(w: World) -> Trigger:
        issue = evaluated(w, satisfaction)
        return lambda w: close_round_later(w, issue, by_job=by_job)

    return setup


CHAIRS = ("chair", "vice")  # the hall's chairs: the one who acts is never told
EXPECTED = ("council", "resident")  # at the 议事会: the council, and the resident as 记录人
IN_SCOPE = ("proposer", "cosigner", "council", "resident")  # building 1's verified members

MATRIX: list[Row] = [
    # 民提
    Row(
        "co-signature reaches the threshold",
        _cosign,
        {"proposer": {"stage:under_review"}} | _each(CHAIRS, "review_needed"),
    ),
    Row(
        "a chair enters an issue for a resident",
        _enter_on_behalf,
        {"vice": {"review_needed"}},  # as for a proposal that reaches review; not the chair
        says={"vice": ("楼下噪音扰民",)},
    ),
    Row("the proposer withdraws", _withdraw, {"cosigner": {"stage:withdrawn"}}),
    Row("the chair accepts", _accept, _each(["proposer", "cosigner"], "stage:deliberating")),
    Row("the chair declines", _reject, _each(["proposer", "cosigner"], "stage:rejected")),
    Row("the chair merges a duplicate", _merge, _each(["proposer", "cosigner"], "merged")),
    # 民议
    Row("a reply to a comment", _answer_comment, {"commenter": {"reply"}}),
    Row("the chair hides a comment", _hide, {"commenter": {"comment_hidden"}}),
    Row("the chair closes 民议", _close_deliberation, _each(FOLLOWERS, "stage:deciding")),
    # 民决
    Row("a council ballot opens", _open_ballot, {"council": {"ballot_open"}}),
    Row("the reminder before the close", _remind, {"council": {"ballot_reminder"}}, job=True),
    Row(
        "a ballot passes",
        _close_ballot("yes"),
        _each([*FOLLOWERS, "council"], "ballot_passed"),
    ),
    Row(
        "a ballot fails",
        _close_ballot("no"),
        # the other chair is asked to settle it (未通过 or back to 民议), on the issue page
        {"vice": {"ballot_settle"}} | _each([*FOLLOWERS, "council"], "ballot_failed"),
        says={"vice": ("去处理：换灯表决 未通过，请决定结束议题或退回民议",)},
    ),
    Row("协商一致 passes", _consensus, _each(FOLLOWERS, "stage:publicizing")),
    Row(
        "协商一致 fails",
        _no_consensus,
        {"vice": {"consensus_settle"}} | _each(FOLLOWERS, "consensus_failed"),
        # the outcome recorded; the other chair's way to settle it
        says={"*": ("对灯的亮度意见不一",), "vice": ("对灯的亮度意见不一", "去处理：协商一致")},
    ),
    Row("the chair closes a failed vote", _settle_failed, _each(FOLLOWERS, "stage:not_passed")),
    Row("an 异议 is filed", _object, _each(CHAIRS, "objection")),
    Row("the chair answers an 异议", _answer_objection, {"resident": {"objection_answered"}}),
    Row(
        "the 公示 ends",
        _end_publicity,
        _each([*FOLLOWERS, "resident"], "stage:implementing"),  # the objector too
    ),
    # 民办
    Row("a task is given to a member", _assign_task, {"council": {"task_assigned"}}),
    Row(
        "a task is overdue (job)",
        _task_overdue,
        _each([*CHAIRS, "official", "council"], "task_overdue"),
        job=True,
    ),
    # 吹哨报到
    Row("the chair blows the whistle", _raise, {"official": {"escalation_raised"}}),
    Row(
        "the chair withdraws the whistle",
        _withdraw_escalation,
        {"official": {"escalation_withdrawn"}},
    ),
    Row("the street dispatches", _dispatch, {"dept": {"escalation_dispatched"}}),
    Row(
        "the department reports in (报到)",
        _acknowledge,
        _each(CHAIRS, "escalation_acknowledged"),
    ),
    Row("the department replies", _reply, _each(CHAIRS, "escalation_replied")),
    Row("the department asks for help", _ask_help, {"helper": {"escalation_help_asked"}}),
    Row(
        "the department resolves",
        _resolve,
        _each([*CHAIRS, "official"], "escalation_resolved"),
    ),
    Row(
        "报到 is overdue (job)",
        _overdue("respond"),
        _each(["dept", "official", *CHAIRS], "escalation_respond_overdue"),
        job=True,
    ),
    Row(
        "办结 is overdue (job)",
        _overdue("resolve"),
        _each(["dept", "official", *CHAIRS], "escalation_resolve_overdue"),
        job=True,
    ),
    # 协商会议
    Row(
        "a meeting is scheduled",
        _schedule,
        _each(EXPECTED, "meeting_scheduled") | _each(FOLLOWERS, "meeting_agenda"),
    ),
    Row(
        "a meeting is moved",
        _reschedule,
        _each([*EXPECTED, *FOLLOWERS], "meeting_rescheduled"),
        says={"*": ("二楼会议室", "会议已改期")},
    ),
    Row(
        "a meeting is cancelled",
        _cancel,
        _each([*EXPECTED, *FOLLOWERS], "meeting_cancelled"),
        says={"*": ("会议已取消",)},  # its page still opens, and says so
    ),
    # 民评
    Row(
        "the chair opens 民评",
        _open_round,
        _each(IN_SCOPE, "evaluation_open") | {"commenter": {"stage:evaluating"}},
    ),
    Row(
        "a round closes satisfied",
        _close_round("satisfied", by_job=False),
        _each([*FOLLOWERS, "council", "resident"], "stage:closed"),
    ),
    Row(
        "a round closes dissatisfied (job)",
        _close_round("dissatisfied", by_job=True),
        _each([*FOLLOWERS, "council", "resident", *CHAIRS], "evaluation_reopened"),
        job=True,
    ),
]


def test_every_kind_has_a_row() -> None:
    """The matrix covers every kind the app can write, and the stage notices every stage an
    issue can move to (but a merge, told by `merged`)."""
    covered = {kind for row in MATRIX for kinds in row.expected.values() for kind in kinds}
    assert covered == set(notices.NOTICES)
    targets = {stage for after in lifecycle.TRANSITIONS.values() for stage in after}
    assert set(notices.STAGE_NOTICES) == targets - {lifecycle.Stage.MERGED}


def test_an_unregistered_kind_is_refused(w: World) -> None:
    with w.db.session() as s, pytest.raises(notices.UnknownNotice):
        notices.send(s, hall_id=w.hall.hall.id or 0, user_ids=[w.chair.id], kind="x", text="")


# --- running a row ----------------------------------------------------------------------------


@pytest.fixture
def bound(db: Database, app: FastAPI) -> Iterator[None]:
    """The test's database for run_job; the app built (links are made from its routes)."""
    DB[:] = [db]
    yield
    DB.clear()


def _last_id(db: Database) -> int:
    with db.session(read_only=True) as s:
        return int(s.exec(select(func.coalesce(func.max(Notification.id), 0))).one())


def _who_got(w: World, after: int) -> tuple[dict[str, set[str]], list[Notification]]:
    """The notices of the world's hall written since `after` (other tests' halls aside)."""
    with w.db.session(read_only=True) as s:
        rows = list(
            s.exec(
                select(Notification)
                .where(col(Notification.id) > after, Notification.hall_id == w.hall.hall.id)
                .order_by(col(Notification.id))
            ).all()
        )
    got: dict[str, set[str]] = {}
    for n in rows:
        got.setdefault(w.names.get(n.user_id, f"someone else ({n.user_id})"), set()).add(n.kind)
    return got, rows


def _expected_link(w: World, name: str, n: Notification) -> str:
    """Where the reader should be sent to act on the notice."""
    target = notices.NOTICES[n.kind].target
    hall = f"/halls/{n.hall_id}"
    if target == "meeting":
        assert w.meeting is not None
        return f"{hall}/meetings/{w.meeting.id}"  # that meeting's page, not the list
    if target in {"escalation", "street"} and name == "official":
        return f"/streets/{w.hall.street.id}/escalations"
    if target == "escalation" and name in {"dept", "helper"}:
        dep = w.lead if name == "dept" else w.helper
        return f"/departments/{dep.id}/escalations"
    issue = f"{hall}/issues/{n.issue_id}"
    if target in {"escalation", "street"}:
        return f"{issue}#issue-{n.issue_id}-escalations"
    return {"tasks": f"{issue}/tasks", "evaluation": f"{issue}/evaluation"}.get(target, issue)


@pytest.mark.parametrize("row", MATRIX, ids=[r.event for r in MATRIX])
def test_who_gets_which_notice(
    db: Database, w: World, row: Row, bound: None, make_client: Callable[[], Client]
) -> None:
    if row.job:
        w = make_world(db)
    trigger = row.setup(w)
    before = _last_id(w.db)
    trigger(w)
    got, rows = _who_got(w, before)
    assert got == row.expected
    # Each notice names the event, says what the reader can do, and links where to do it.
    for n in rows:
        name = w.names[n.user_id]
        with w.db.session(read_only=True) as s:
            (shown,) = [
                r
                for r in queries.list_notifications(s, user_id=n.user_id, limit=500)
                if r.notification.id == n.id
            ]
        notice = notices.NOTICES[n.kind]
        assert shown.action == notice.action
        assert shown.link == _expected_link(w, name, n), (name, n.kind)
        assert n.text.strip()
    # … and the reader may open that page.
    for user_id in {n.user_id for n in rows}:
        name = w.names[user_id]
        client = make_client()
        client.login(w.people[name].phone or "", f.PASSWORD)
        with w.db.session(read_only=True) as s:
            links = {r.link for r in queries.list_notifications(s, user_id=user_id, limit=500)}
        opened = links & {_expected_link(w, name, n) for n in rows}
        assert opened, name
        for link in opened:
            page = client.get(link)
            assert page.status_code == 200, (name, link)
            for words in row.says.get(name, row.says.get("*", ())):
                assert words in page.text, (name, link, words)
            if w.meeting is not None and link.endswith(f"/meetings/{w.meeting.id}"):
                assert w.meeting.title in page.text  # the meeting's own page


def test_the_bell_page_shows_the_action_and_its_link(
    w: World, bound: None, make_client: Callable[[], Client]
) -> None:
    """Through HTTP: the resident's bell says 去评价 and links to the 民评 page; the
    department member's says 去报到 and links to their 部门待办."""
    issue = done(w)
    _call(w, w.chair, evaluations.open_round, issue_id=issue.id)
    _, found = escalation(w, dispatched=True)
    for user, action, link in [
        (w.resident, "去评价", f"/halls/{issue.hall_id}/issues/{issue.id}/evaluation"),
        (w.dept, "去报到", f"/departments/{w.lead.id}/escalations"),
    ]:
        client = make_client()
        client.login(user.phone or "", f.PASSWORD)
        page = client.get("/notifications")
        assert page.status_code == 200
        assert f'href="{link}">{action}</a>' in page.text, found.summary
