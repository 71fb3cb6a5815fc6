"""Route inventory: every route is classified, and each class behaves as classified.

SECURITY.md AUTHZ-03 (hall scoping, 404 not 403), AUTHZ-05 (default deny: no route without its
guard) and CSRF-03 (no state change on GET). ``ROUTES`` below is the one table of who may call
what. A route that is added without a row here fails ``test_every_route_is_classified``, and a
row whose route is gone fails it too. The privacy crawler (test_privacy.py) visits the same table.

Roles used against hall A:

* ``anon``      — nobody logged in (but holding an anonymous CSRF token, so CSRF is not what stops them)
* ``outsider``  — a verified resident of hall B, sending hall A's ids
* ``chair_b``   — the chair of hall B, sending hall A's ids (and B's hall id with A's member ids)
* ``applicant`` — has asked to join hall A, not yet verified
* ``resident``  — a plain verified resident of hall A
* ``street``    — a 街道 official of hall A's street (read-only view of the hall; the
  street's own pages, ``Access.STREET``)
* ``chair``     — the chair of hall A
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.routing import Mount

from app.accounts.deps import current_user
from app.accounts.models import User
from app.config import Settings
from app.core import clock
from app.db import Database
from app.escalations.models import DepartmentMember
from app.evaluations import service as evaluation_service
from app.halls import queries as hall_queries
from app.halls import roster, schemas, service
from app.halls.models import Entrance, Hall, Membership, MembershipStatus
from app.issues.models import Issue
from app.main import create_app
from app.meetings import queries as meeting_queries
from app.meetings import schemas as meeting_schemas
from app.meetings import service as meeting_service
from app.meetings.models import Meeting
from app.meetings.rules import MeetingKind
from app.rates import schemas as rate_schemas
from app.tasks.models import Task, TaskPhoto
from app.voting.models import Ballot
from app.voting.rules import RuleKind
from app.web.routing import GuardedRoute
from tests import escalation_helpers as eh
from tests import evaluation_helpers as evh
from tests import live_helpers as lh
from tests import meeting_helpers as mh
from tests import minutes_helpers as minh
from tests import task_helpers as th
from tests.conftest import ORIGIN, Client
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_hall,
    make_member,
    make_user,
    unique,
    unique_phone,
)
from tests.implementation_helpers import implementing_issue
from tests.web import issue_helpers as ih
from tests.web import voting_helpers as vh

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Access(StrEnum):
    PUBLIC = "public"  # anyone, logged in or not
    LOGIN = "login"  # any logged-in person; no hall in the path
    INVITE = "invite"  # the invite token in the path is the capability (plus login to act)
    MEMBER = "member"  # verified members of the hall, and street officials
    STAFF = "staff"  # the chair; street officials read-only. Plain residents: 404
    CHAIR = "chair"  # the chair only (manage members, roster, settings, invite). Others: 404
    # verified members act (propose, co-sign, comment, 方案, report); street officials only
    # look, so for them these routes do not exist (404)
    PARTICIPANT = "participant"
    # 吹哨报到: a street's officials (/streets/{street_id}/…, StreetDep) and a department's
    # members (/departments/{department_id}/…, DepartmentDep); anyone else 404. Their matrix of
    # callers is tests/web/test_escalation_access.py.
    STREET = "street_official"
    DEPARTMENT = "department"


HALL_SCOPED = frozenset({Access.MEMBER, Access.STAFF, Access.CHAIR, Access.PARTICIPANT})


# --- request bodies ---------------------------------------------------------------------------


@dataclass
class World:
    """Two halls, one person per role, and a logged-in client per role."""

    db: Database
    a: HallWorld
    b: HallWorld
    users: dict[str, User]
    target_a: int  # a verified member of A who is nobody's client (roles, member page)
    member_b: int  # a verified membership of hall B
    clients: dict[str, Client]
    tokens: dict[str, str]
    building_id: int = 0
    entrance_id: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # issue_id, comment_id, photo_id of standing test data (routes may prepare fresh ones)
    issue_params: dict[str, int] = field(default_factory=dict)

    def invite_token(self, hall: Hall | None = None) -> str:
        """The current token: rotating the invite (a route under test) changes it."""
        with self.db.session(read_only=True) as session:
            row = session.get(Hall, (hall or self.a.hall).id)
            assert row is not None
            return row.invite_token

    def pending(self, world: HallWorld | None = None) -> int:
        """A fresh pending request to join (verify and reject need one each)."""
        world = world or self.a
        world.hall.invite_token = self.invite_token(world.hall)  # the link may have been rotated
        _, membership = make_member(self.db, world, household_index=2, verified=False)
        assert membership.id is not None
        return membership.id

    def membership_status(self, membership_id: int) -> MembershipStatus:
        with self.db.session(read_only=True) as session:
            row = session.get(Membership, membership_id)
            assert row is not None
            return MembershipStatus(row.status)


Body = Callable[[World], dict[str, Any]]


def _reject_form(w: World) -> dict[str, Any]:
    return {"data": {"reason": "房号与登记不符"}}


def _reject_json(w: World) -> dict[str, Any]:
    return {"json": {"reason": "房号与登记不符"}}


def _on_behalf(w: World) -> dict[str, Any]:
    return {
        "data": {
            "name": "代录测试",
            "phone": "",
            "household_id": str(w.a.households[3].id),
            "relation": "family",
            "building_id": str(w.building_id),
            "entrance_id": str(w.entrance_id),
        }
    }


def _roles(w: World) -> dict[str, Any]:
    return {"data": {"roles": ["council"]}}


def _roster(w: World) -> dict[str, Any]:
    csv = f"楼栋,单元,房号,面积\r\n{unique('新楼')},1单元,101,80.50\r\n"
    return {"files": {"file": ("roster.csv", csv.encode(), "text/csv")}}


def _roster_token(w: World) -> str:
    """A roster previewed by the chair of hall A: the token its confirmation takes."""
    chair = w.users["chair"]
    rows = [["楼栋", "单元", "房号", "面积"], [unique("新楼"), "1单元", "101", "80.50"]]
    with w.db.session() as session:
        access = hall_queries.hall_access(session, user=chair, hall=w.a.hall)
        check = service.preview_roster(
            session=session,
            access=access,
            actor=chair,
            roster=roster.parse_rows(rows),
            filename="roster.csv",
            content=b"",
        )
    return check.token


def _roster_confirm(w: World) -> dict[str, Any]:
    return {"data": {"token": _roster_token(w)}}


def _roster_confirm_json(w: World) -> dict[str, Any]:
    return {"json": {"token": _roster_token(w)}}


def _settings(w: World) -> dict[str, Any]:
    return {"data": {name: str(getattr(w.a.hall, name)) for name in schemas.SETTING_BOUNDS}}


def _rate_settings(w: World) -> dict[str, Any]:
    fields = rate_schemas.SETTING_BOUNDS
    return {"data": {name: str(getattr(w.a.street, name)) for name in fields}}


def _join_form(w: World) -> dict[str, Any]:
    return {"data": {"household_id": str(w.a.households[1].id), "relation": "tenant"}}


def _join_json(w: World) -> dict[str, Any]:
    return {"json": {"household_id": w.a.households[1].id, "relation": "tenant"}}


# --- issues: fresh objects per test, and their bodies -----------------------------------------

Prepare = Callable[[World], dict[str, int]]


def _collecting(w: World) -> dict[str, int]:
    """A fresh issue collecting co-signatures, proposed by a neighbour (not a client)."""
    issue = ih.propose(w.db, w.a, w.users["target"], title=unique("路灯不亮"))
    return {"issue_id": issue.id or 0}


def _cosigned(w: World) -> dict[str, int]:
    params = _collecting(w)
    for role in ("resident", "chair"):
        ih.cosign(w.db, w.a, w.users[role], params["issue_id"])
    return params


def _chairs_own(w: World) -> dict[str, int]:
    issue = ih.propose(w.db, w.a, w.users["chair"], title=unique("主任的议题"))
    return {"issue_id": issue.id or 0}


def _in_review(w: World) -> dict[str, int]:
    issue = ih.enter(w.db, w.a, w.users["chair"], title=unique("待审议题"))
    w.extra["merge_target"] = ih.enter(w.db, w.a, w.users["chair"], title=unique("合并目标")).id
    return {"issue_id": issue.id or 0}


def _deliberating(w: World) -> dict[str, int]:
    issue = ih.deliberating(w.db, w.a, w.users["chair"], title=unique("协商议题"))
    return {"issue_id": issue.id or 0}


def _neighbours_comment(w: World) -> dict[str, int]:
    params = _deliberating(w)
    comment = ih.comment(w.db, w.a, w.users["target"], params["issue_id"])
    return {**params, "comment_id": comment.id or 0}


def _chairs_comment(w: World) -> dict[str, int]:
    params = _deliberating(w)
    comment = ih.comment(w.db, w.a, w.users["chair"], params["issue_id"])
    return {**params, "comment_id": comment.id or 0}


def _closable(w: World) -> dict[str, int]:
    params = _deliberating(w)
    w.extra["solution_id"] = ih.solution(w.db, w.a, w.users["chair"], params["issue_id"]).id
    return params


def _issue_form(w: World) -> dict[str, Any]:
    return {"data": {"title": unique("新议题"), "description": "说明", "category": "other"}}


def _enter_form(w: World) -> dict[str, Any]:
    return {"data": {**_issue_form(w)["data"], "source": "hotline", "work_order_no": "A123"}}


def _as_json(body: Body) -> Body:
    """The same body for the JSON API (lists stay lists, numbers stay numbers)."""

    def json_body(w: World) -> dict[str, Any]:
        data = dict(body(w)["data"])
        if "solution_ids" in data:
            data["solution_ids"] = [int(data["solution_ids"])]
        if "target_id" in data:
            data["target_id"] = int(data["target_id"])
        return {"json": data}

    return json_body


def _days(w: World) -> dict[str, Any]:
    return {"data": {"deliberation_days": "7"}}


def _reason(w: World) -> dict[str, Any]:
    return {"data": {"reason": "理由"}}


def _merge(w: World) -> dict[str, Any]:
    return {"data": {"target_id": str(w.extra["merge_target"])}}


def _comment(w: World) -> dict[str, Any]:
    return {"data": {"body": "我的意见", "stance": "support"}}


def _edit(w: World) -> dict[str, Any]:
    return {"data": {"body": "改过的意见"}}


def _solution(w: World) -> dict[str, Any]:
    return {"data": {"title": "方案", "description": "内容", "estimated_cost": "100"}}


def _close(w: World) -> dict[str, Any]:
    return {
        "data": {
            "agreements": "共识",
            "disagreements": "分歧与回应",
            "solution_ids": str(w.extra["solution_id"]),
        }
    }


# --- ballots (民决) ----------------------------------------------------------------------------


def _deciding(w: World) -> dict[str, int]:
    """A fresh issue in 表决中 (a 协商意见 sent one 方案 to the decision)."""
    params = _closable(w)
    ih.close_deliberation(w.db, w.a, w.users["chair"], params["issue_id"], w.extra["solution_id"])
    return params


def _ballot(w: World, *, rule: str = "residents_meeting", opened: bool = True) -> dict[str, int]:
    params = _deciding(w)
    ballot = ih.ballot(w.db, w.a, w.users["chair"], params["issue_id"], rule=rule, opened=opened)
    return {**params, "ballot_id": ballot.id or 0}


def _draft_ballot(w: World) -> dict[str, int]:
    return _ballot(w, opened=False)


def _open_ballot(w: World) -> dict[str, int]:
    return _ballot(w)


def _consensus_draft(w: World) -> dict[str, int]:
    return _ballot(w, rule="consensus", opened=False)


def _closed_ballot(w: World) -> dict[str, int]:
    """Closed with no votes: it failed, and waits for the chair's choice."""
    params = _ballot(w)
    ih.close_ballot(w.db, w.a, w.users["chair"], params["ballot_id"])
    return params


def _publicizing(w: World) -> dict[str, int]:
    """A fresh issue in 公示 (a 协商一致 recorded as passed)."""
    params = _deciding(w)
    ih.publicize(w.db, w.a, w.users["chair"], params["issue_id"])
    return params


def _publicized_ballot(w: World) -> dict[str, int]:
    """A fresh issue in 公示 and the ballot whose 决议 it publishes."""
    params = _deciding(w)
    made = ih.publicize(w.db, w.a, w.users["chair"], params["issue_id"])
    return {"ballot_id": made.id or 0}


def _objected(w: World) -> dict[str, int]:
    """An issue in 公示 with an unanswered 异议 by a neighbour (not a client)."""
    params = _publicizing(w)
    objection_id = ih.objection(w.db, w.a, w.users["target"], params["issue_id"])
    return {**params, "objection_id": objection_id}


def _tasks_done(w: World) -> dict[str, int]:
    """A fresh issue in 办理中 whose one task is done: the chair may open 民评."""
    issue = implementing_issue(w.db, w.a, w.users["chair"])
    evh.add_task(w.db, w.a, issue, w.users["chair"])
    return {"issue_id": issue.id or 0}


def _evaluating(w: World) -> dict[str, int]:
    """A fresh issue in 评价中, its first round open."""
    issue, _ = evh.evaluating_issue(w.db, w.a, w.users["chair"])
    return {"issue_id": issue.id or 0}


def _evaluated(w: World) -> dict[str, int]:
    """A fresh issue whose first 民评 round has closed (已办结)."""
    issue, row = evh.evaluating_issue(w.db, w.a, w.users["chair"])
    with w.db.session() as session:
        evaluation_service.close_due_rounds(session=session, now=row.ends_at)
        session.commit()
    return {"issue_id": issue.id or 0}


def _evaluation(w: World) -> dict[str, Any]:
    return {"data": {"satisfaction": "satisfied", "resolved": "yes", "comment": "好"}}


def _paper_evaluation(w: World) -> dict[str, Any]:
    return {"data": {"membership_id": str(w.target_a), "satisfaction": "basic"}}


def _objection(w: World) -> dict[str, Any]:
    return {"data": {"body": "分摊方案不公平"}}


def _answer(w: World) -> dict[str, Any]:
    return {"data": {"answer": "已调整分摊方案", "upheld": "on"}}


def _ballot_form(w: World) -> dict[str, Any]:
    return {
        "data": {"title": unique("表决"), "rule": "residents_meeting", "voter_unit": "household"}
    }


def _vote(w: World) -> dict[str, Any]:
    return {"data": {"option": "yes", "submission_id": str(uuid.uuid4())}}


def _council_ballot(w: World) -> dict[str, int]:
    """An open 议事会 ballot whose roll holds both the resident and the chair (the API and the
    page answer 403 not_on_roll to a member off the roll)."""
    if "council" not in w.extra:
        chair = w.users["chair"]
        with w.db.session() as session:
            access = hall_queries.hall_access(session, user=chair, hall=w.a.hall)
            for role, roles in (("chair", ["chair", "council"]), ("resident", ["council"])):
                membership = session.exec(
                    sa.select(Membership).where(
                        Membership.hall_id == w.a.hall.id,
                        Membership.user_id == w.users[role].id,
                    )
                ).scalar_one()
                service.set_member_roles(
                    session=session,
                    access=access,
                    actor=chair,
                    membership_id=membership.id or 0,
                    form=schemas.RolesForm(roles=roles),
                )
        w.extra["council"] = True
    return _ballot(w, rule="council_majority")


def _consensus(w: World) -> dict[str, Any]:
    return {"data": {"passed": "yes", "text": "协商一致通过"}}


def _settle(w: World) -> dict[str, Any]:
    return {"data": {"outcome": "deliberate"}}


# --- ballots: the roll, in-person votes and paper ballots ------------------------------------


def _paper_ballot(w: World) -> dict[str, int]:
    """A fresh open ballot by 户 (every flat on the roll) with its paper ballots printed and the
    neighbour (not a client) as its 计票人."""
    ballot = vh.open_ballot(
        w.db,
        w.a,
        w.users["chair"],
        rule=RuleKind.RESIDENTS_MEETING,
        voter_unit="household",
        counters=(w.users["target"],),
        secret=False,  # named: the chair may record in person
    )
    vh.issue_papers(w.db, w.a, w.users["chair"], ballot)
    w.extra["paper_ballot"] = ballot
    w.extra["roll_id"] = vh.roll(w.db, ballot)[0].entry.id
    return {"ballot_id": ballot.id or 0}


def _current_vote(w: World) -> dict[str, int]:
    """An in-person vote on a fresh paper ballot, to void."""
    params = _paper_ballot(w)
    ballot = w.extra["paper_ballot"]
    vh.in_person(w.db, w.a, w.users["chair"], ballot, w.extra["roll_id"], "no")
    vote_id = next(r.vote_id for r in vh.roll(w.db, ballot) if r.vote_id is not None)
    return {**params, "vote_id": vote_id}


def _pending_entry(w: World) -> dict[str, int]:
    """A paper reading by the 计票人, waiting for the chair (a different officer) to decide."""
    params = _paper_ballot(w)
    ballot = w.extra["paper_ballot"]
    entry = vh.enter_paper(w.db, w.a, w.users["target"], ballot, vh.free_code(w.db, ballot))
    return {**params, "entry_id": entry.id or 0}


def _in_person(w: World) -> dict[str, Any]:
    roll_id = str(w.extra["roll_id"])
    return {"data": {"roll_id": roll_id, "option": "yes", "submission_id": vh.sid()}}


def _attendance(w: World) -> dict[str, Any]:
    return {"data": {"present_ids": [str(w.extra["roll_id"])]}}


def _paper_entry(w: World) -> dict[str, Any]:
    code = vh.free_code(w.db, w.extra["paper_ballot"])
    return {"data": {"code": code, "result": "vote", "option": "no", "submission_id": vh.sid()}}


# --- meetings (协商会议) ------------------------------------------------------------------------


def _meeting_now(w: World) -> dict[str, int]:
    """A fresh 议事会 whose sign-in is open now (short notice, with its reason)."""
    meeting = mh.now_meeting(w.db, w.a, w.users["chair"])
    w.extra["meeting_token"] = meeting.signin_token
    return {"meeting_id": meeting.id or 0}


def _meeting_form(w: World) -> dict[str, Any]:
    starts = clock.now() + timedelta(days=5)
    return {
        "data": {
            "kind": "council",
            "title": unique("议事会"),
            "starts_at": mh.local(starts),
            "ends_at": mh.local(starts + timedelta(hours=2)),
            "place": "社区议事厅",
            "free_items_text": "楼道堆物清理",
            "guests_text": "张经理，物业，某某物业公司",
        }
    }


def _meeting_json(w: World) -> dict[str, Any]:
    data = dict(_meeting_form(w)["data"])
    del data["free_items_text"], data["guests_text"]
    data["free_items"] = ["楼道堆物清理"]
    data["guests"] = [{"name": "张经理", "organisation": "某某物业", "kind": "property"}]
    return {"json": data}


def _signin_form(w: World) -> dict[str, Any]:
    return {"data": {"t": w.extra["meeting_token"]}}


def _signin_json(w: World) -> dict[str, Any]:
    return {"json": {"token": w.extra["meeting_token"]}}


def _guest_form(w: World) -> dict[str, Any]:
    return {"data": {"guest_name": "刘代表", "guest_org": "区人大", "guest_kind": "deputy"}}


# --- 任务分工 (民办) ---------------------------------------------------------------------------


def _tasks(w: World) -> dict[str, int]:
    """An issue 办理中 with a 居民志愿者 task (no cap) and a progress update with a photo, made
    once and kept: every task route may be called on them again."""
    if "tasks" not in w.extra:
        chair = w.users["chair"]
        issue = implementing_issue(w.db, w.a, chair)
        task = th.add_task(w.db, w.a, chair, issue, party_type="volunteers", volunteer_cap="")
        update = th.report(w.db, w.a, chair, task, uploads=[ih.jpeg_with_exif()])
        with w.db.session(read_only=True) as session:
            photo = session.exec(
                sa.select(TaskPhoto.id).where(TaskPhoto.update_id == update.id)
            ).scalar_one()
        w.extra["tasks"] = {"issue_id": issue.id or 0, "task_id": task.id or 0, "photo_id": photo}
    return dict(w.extra["tasks"])


def _task_form(w: World) -> dict[str, Any]:
    due = (clock.now() + timedelta(days=9)).date().isoformat()
    return {"data": {"title": unique("任务"), "party_type": "committee", "due_at": due}}


def _task_json(w: World) -> dict[str, Any]:
    return {"json": _task_form(w)["data"]}


def _task_edit(w: World) -> dict[str, Any]:
    """The edit form on the task's current version (each call edits it once more)."""
    with w.db.session(read_only=True) as session:
        task = session.get(Task, _tasks(w)["task_id"])
        assert task is not None
    data = _task_form(w)["data"] | {"party_type": "volunteers", "version": str(task.version)}
    return {"data": data}


def _task_update(w: World) -> dict[str, Any]:
    return {"data": {"text": "已清运一车", "progress": "30"}}


def _task_update_json(w: World) -> dict[str, Any]:
    return {"json": {"text": "已清运一车", "progress": 30}}


# --- the minutes (会议纪要) ---------------------------------------------------------------------


def _meeting_started(w: World) -> dict[str, int]:
    """A fresh 议事会 that has started, the chair its 主持人 and 记录人 (signs both lines)."""
    chair = w.users["chair"]
    form = mh.form(starts_in=timedelta(minutes=30), short_notice_reason="情况紧急")
    meeting = mh.schedule(w.db, w.a, chair, form.model_copy(update={"recorder_id": chair.id}))
    minh.start(w.db, meeting)
    return {"meeting_id": meeting.id or 0}


def _minutes_signed(w: World) -> dict[str, int]:
    objects = _meeting_started(w)
    chair = w.users["chair"]
    with w.db.session(read_only=True) as session:
        access = hall_queries.hall_access(session, user=chair, hall=w.a.hall)
    for line in ("chair", "recorder"):
        with w.db.session() as session:
            meeting_service.sign_minutes(
                session=session,
                access=access,
                actor=chair,
                meeting_id=objects["meeting_id"],
                form=meeting_schemas.SignMinutesForm(line=meeting_schemas.MinutesLine(line)),
            )
    return objects


def _residents_meeting(w: World) -> dict[str, int]:
    """A 居民会议 open now: the target member is 应到 and absent (a reason may be recorded)."""
    meeting = mh.now_meeting(w.db, w.a, w.users["chair"], MeetingKind.RESIDENTS)
    return {"meeting_id": meeting.id or 0}


def _absence_form(w: World) -> dict[str, Any]:
    return {"data": {"membership_id": str(w.target_a), "reason": "请假"}}


def _minutes_form(w: World) -> dict[str, Any]:
    return {"data": {"version": "0", "notes": "讨论热烈", "tasks": "清理楼道 | 物业 | 12月20日"}}


def _minutes_json(w: World) -> dict[str, Any]:
    return {"json": {"version": 0, "notes": "讨论热烈"}}


# --- the meeting as it is held (live mode, the projector, the queue) ------------------------------


def _meeting_live(w: World) -> dict[str, int]:
    """A fresh 议事会, opened by the chair; its first agenda item in w.extra["item_id"]."""
    meeting = mh.now_meeting(w.db, w.a, w.users["chair"])
    lh.call(w.db, w.a, w.users["chair"], meeting_service.start_meeting, meeting_id=meeting.id)
    with w.db.session(read_only=True) as session:
        w.extra["item_id"] = meeting_queries.agenda(session, meeting)[0].item.id
    return {"meeting_id": meeting.id or 0}


def _meeting_open(w: World) -> dict[str, int]:
    """One opened meeting kept for the routes that leave it open (the current item, adding a
    speaker, noting a speech): the hostile-input walk prepares a fresh one after every value
    that goes through, and a meeting is costly to schedule."""
    if "open_meeting" not in w.extra:
        w.extra["open_meeting"] = (_meeting_live(w), w.extra["item_id"])
    params, w.extra["item_id"] = w.extra["open_meeting"]
    return dict(params)


def _kept(w: World, prepare: Prepare) -> dict[str, int]:
    """`prepare`'s objects made once and kept, for routes that may be called again on them
    (moving a speaker, correcting a speech)."""
    name = f"kept:{prepare.__name__}"
    if name not in w.extra:
        w.extra[name] = prepare(w)
    return dict(w.extra[name])


def _meeting_speaker_kept(w: World) -> dict[str, int]:
    return _kept(w, _meeting_speaker)


def _meeting_speech_kept(w: World) -> dict[str, int]:
    return _kept(w, _meeting_speech)


def _meeting_hand(w: World) -> dict[str, int]:
    """An open meeting where the resident and the chair are signed in (they may raise a hand)."""
    params = _meeting_live(w)
    with w.db.session(read_only=True) as session:
        row = session.get(Meeting, params["meeting_id"])
    assert row is not None
    for role in ("resident", "chair"):
        mh.tick(w.db, w.a, w.users["chair"], row, w.users[role])
    return params


def _meeting_raised(w: World) -> dict[str, int]:
    """An open meeting where the resident's hand is up (the resident may lower it)."""
    params = _meeting_hand(w)
    lh.call(
        w.db, w.a, w.users["resident"], meeting_service.raise_hand, meeting_id=params["meeting_id"]
    )
    return params


def _meeting_speaker(w: World) -> dict[str, int]:
    """An open meeting with two guests in the queue (the second can move up)."""
    params = _meeting_live(w)
    ids = []
    for name in ("张经理", "刘科长"):
        hand = lh.call(
            w.db,
            w.a,
            w.users["chair"],
            meeting_service.add_speaker,
            meeting_id=params["meeting_id"],
            form=meeting_schemas.SpeakerForm(name=name, identity="物业"),
        )
        ids.append(hand.speaker.id or 0)
    return {**params, "speaker_id": ids[1]}


def _meeting_speech(w: World) -> dict[str, int]:
    params = _meeting_live(w)
    with w.db.session(read_only=True) as session:
        row = session.get(Meeting, params["meeting_id"])
    assert row is not None
    speech = lh.speech(w.db, w.a, w.users["chair"], row)
    return {**params, "speech_id": speech.id or 0}


def _meeting_ended(w: World) -> dict[str, int]:
    """Opened and closed: its projector stream sends the state once and ends."""
    params = _meeting_live(w)
    lh.call(
        w.db, w.a, w.users["chair"], meeting_service.end_meeting, meeting_id=params["meeting_id"]
    )
    return params


def _item_form(w: World) -> dict[str, Any]:
    return {"data": {"item_id": str(w.extra["item_id"])}}


def _item_json(w: World) -> dict[str, Any]:
    return {"json": {"item_id": w.extra["item_id"]}}


def _speaker_form(w: World) -> dict[str, Any]:
    return {"data": {"name": "王工", "identity": "驻区单位"}}


def _move_form(w: World) -> dict[str, Any]:
    return {"data": {"direction": "up"}}


def _raise_json(w: World) -> dict[str, Any]:
    return {"json": {}}  # an empty body: the caller's own hand


def _move_json(w: World) -> dict[str, Any]:
    return {"json": {"direction": "up"}}


def _speech_form(w: World) -> dict[str, Any]:
    return {"data": {"speaker_name": "王工", "identity": "驻区单位", "summary": "建议错峰施工。"}}


def _speech_json(w: World) -> dict[str, Any]:
    return {"json": _speech_form(w)["data"]}


def _meeting_ballot(w: World) -> dict[str, int]:
    """A meeting open now with a 无记名 ballot by 户 held at it (its paper ballots not issued)."""
    params = _meeting_now(w)
    ballot = vh.open_ballot(
        w.db, w.a, w.users["chair"], rule=RuleKind.RESIDENTS_MEETING, voter_unit="household"
    )
    with w.db.session() as session:
        row = session.get(Ballot, ballot.id)
        assert row is not None
        row.meeting_id = params["meeting_id"]
        session.add(row)
        session.commit()
    w.extra["meeting_ballot_id"] = ballot.id
    return params


def _meeting_ballot_path(w: World) -> dict[str, int]:
    """The same, the ballot in the path (live mode's open and close)."""
    params = _meeting_ballot(w)
    return params | {"ballot_id": w.extra["meeting_ballot_id"]}


def _building(w: World) -> dict[str, int]:
    return {"building_id": w.building_id}


def _issue_papers_form(w: World) -> dict[str, Any]:
    return {"data": {"ballot_id": str(w.extra.get("meeting_ballot_id", 0))}}


def _reschedule_form(w: World) -> dict[str, Any]:
    return {"data": {"place": "3号楼活动室", "reason": "议事厅维修", "short_notice_reason": "急"}}


def _reschedule_json(w: World) -> dict[str, Any]:
    return {"json": _reschedule_form(w)["data"]}


# --- 吹哨报到 (escalations) ------------------------------------------------------------------------


def _implementing(w: World) -> dict[str, int]:
    """Hall A's issue 办理中 (the chair may blow the whistle on it)."""
    return {"issue_id": w.extra["implementing_issue_id"]}


def _raised(w: World) -> dict[str, int]:
    """A fresh escalation on it, not yet dispatched (the chair may withdraw it)."""
    e = eh.raise_on(w.db, w.a, w.users["chair"], _issue(w, w.extra["implementing_issue_id"]))
    return _implementing(w) | {"escalation_id": e.id or 0}


def _issue(w: World, issue_id: int) -> Issue:
    with w.db.session(read_only=True) as session:
        issue = session.get(Issue, issue_id)
        assert issue is not None
        return issue


def _escalation_form(w: World) -> dict[str, Any]:
    return {"data": {"category": "demand", "urgency": "general", "summary": "请街道协调修路"}}


def _escalation_json(w: World) -> dict[str, Any]:
    return {"json": _escalation_form(w)["data"]}


def _to_department(w: World) -> dict[str, Any]:
    return {"data": {"department_id": str(w.issue_params["department_id"])}}


def _department_name(w: World) -> dict[str, Any]:
    return {"data": {"name": unique("科室")}}


def _member_phone(w: World) -> dict[str, Any]:
    """A registered person (the body writes nothing; a second add is refused as a repeat)."""
    return {"data": {"phone": w.users["target"].phone}}


def _windows(w: World) -> dict[str, Any]:
    return {
        "data": {
            "urgency": "general",
            "respond": "2",
            "respond_unit": "hours",
            "resolve": "7",
            "resolve_unit": "days",
        }
    }


def _step_text(w: World) -> dict[str, Any]:
    return {"data": {"text": "已到现场查看"}}


def _help(w: World) -> dict[str, Any]:
    return {"data": {"department_id": str(w.issue_params["department_id"]), "text": "请协办"}}


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    access: Access
    writes: bool = False  # has side effects: must accept unsafe methods only (CSRF-03)
    ok: int = 200  # what the allowed caller gets (the chair, for hall routes)
    pending: bool = False  # {membership_id} must be a pending request (verify, reject)
    body: Body | None = None
    prepare: Prepare | None = None  # fresh objects for the path (issue_id, comment_id)


ROUTES: dict[tuple[str, str], Entry] = {
    # framework and static files (the docs exist outside production only; CONF-01)
    ("GET", "/openapi.json"): Entry(Access.PUBLIC),
    ("GET", "/docs"): Entry(Access.PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Entry(Access.PUBLIC),
    ("MOUNT", "/static"): Entry(Access.PUBLIC),
    # pages that belong to no hall
    ("GET", "/"): Entry(Access.PUBLIC),
    ("GET", "/healthz"): Entry(Access.PUBLIC),
    ("GET", "/privacy"): Entry(Access.PUBLIC),
    ("POST", "/prefs/elder"): Entry(Access.PUBLIC, writes=True, ok=303),
    ("POST", "/prefs/locale"): Entry(Access.PUBLIC, writes=True, ok=303),
    ("GET", "/register"): Entry(Access.PUBLIC),
    ("POST", "/register"): Entry(Access.PUBLIC, writes=True, ok=303),
    ("GET", "/login"): Entry(Access.PUBLIC),
    ("POST", "/login"): Entry(Access.PUBLIC, writes=True, ok=303),
    ("POST", "/logout"): Entry(Access.PUBLIC, writes=True, ok=303),
    # logged in, no hall
    ("GET", "/account/password"): Entry(Access.LOGIN),
    ("POST", "/account/password"): Entry(Access.LOGIN, writes=True, ok=303),
    ("GET", "/api/v1/me"): Entry(Access.LOGIN),
    ("GET", "/api/v1/halls"): Entry(Access.LOGIN),
    # the invite link
    ("GET", "/join/{token}"): Entry(Access.INVITE),
    ("POST", "/join/{token}"): Entry(Access.INVITE, writes=True, ok=303, body=_join_form),
    ("GET", "/api/v1/join/{token}"): Entry(Access.INVITE),
    ("POST", "/api/v1/join/{token}"): Entry(Access.INVITE, writes=True, ok=201, body=_join_json),
    # hall pages
    ("GET", "/halls/{hall_id}"): Entry(Access.MEMBER),
    ("GET", "/halls/{hall_id}/members"): Entry(Access.STAFF),
    ("GET", "/halls/{hall_id}/audit"): Entry(Access.STAFF),
    ("GET", "/api/v1/halls/{hall_id}/members"): Entry(Access.STAFF),
    ("POST", "/halls/{hall_id}/members/{membership_id}/verify"): Entry(
        Access.CHAIR, writes=True, ok=303, pending=True
    ),
    ("POST", "/halls/{hall_id}/members/{membership_id}/reject"): Entry(
        Access.CHAIR, writes=True, ok=303, pending=True, body=_reject_form
    ),
    ("GET", "/halls/{hall_id}/members/new"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/members/new"): Entry(
        Access.CHAIR, writes=True, ok=303, body=_on_behalf
    ),
    ("GET", "/halls/{hall_id}/members/{membership_id}"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/members/{membership_id}/roles"): Entry(
        Access.CHAIR, writes=True, ok=303, body=_roles
    ),
    ("GET", "/halls/{hall_id}/roster"): Entry(Access.CHAIR),
    ("GET", "/halls/{hall_id}/roster/template.csv"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/roster"): Entry(Access.CHAIR, writes=True, body=_roster),
    ("POST", "/halls/{hall_id}/roster/confirm"): Entry(
        Access.CHAIR, writes=True, body=_roster_confirm
    ),
    ("GET", "/halls/{hall_id}/settings"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/settings"): Entry(Access.CHAIR, writes=True, ok=303, body=_settings),
    ("GET", "/halls/{hall_id}/invite"): Entry(Access.CHAIR),
    ("GET", "/halls/{hall_id}/invite.png"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/invite/rotate"): Entry(Access.CHAIR, writes=True, ok=303),
    # the join poster, an A4 view and its PDF
    ("GET", "/halls/{hall_id}/print/poster"): Entry(Access.CHAIR),
    ("GET", "/halls/{hall_id}/print/poster.pdf"): Entry(Access.CHAIR),
    ("POST", "/api/v1/halls/{hall_id}/members/{membership_id}/verify"): Entry(
        Access.CHAIR, writes=True, pending=True
    ),
    ("POST", "/api/v1/halls/{hall_id}/members/{membership_id}/reject"): Entry(
        Access.CHAIR, writes=True, pending=True, body=_reject_json
    ),
    ("POST", "/api/v1/halls/{hall_id}/roster"): Entry(Access.CHAIR, writes=True, body=_roster),
    ("POST", "/api/v1/halls/{hall_id}/roster/confirm"): Entry(
        Access.CHAIR, writes=True, body=_roster_confirm_json
    ),
    # issues
    ("GET", "/notifications"): Entry(Access.LOGIN),
    ("POST", "/notifications/read"): Entry(Access.LOGIN, writes=True, ok=303),
    ("GET", "/halls/{hall_id}/issues"): Entry(Access.MEMBER),
    ("GET", "/halls/{hall_id}/issues/similar"): Entry(Access.MEMBER),
    ("GET", "/halls/{hall_id}/issues/new"): Entry(Access.PARTICIPANT),
    ("POST", "/halls/{hall_id}/issues"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, body=_issue_form
    ),
    ("GET", "/halls/{hall_id}/issues/enter"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/issues/enter"): Entry(
        Access.CHAIR, writes=True, ok=303, body=_enter_form
    ),
    ("GET", "/halls/{hall_id}/review"): Entry(Access.STAFF),
    ("GET", "/halls/{hall_id}/moderation"): Entry(Access.STAFF),
    ("GET", "/halls/{hall_id}/issues/{issue_id}"): Entry(Access.MEMBER),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/photos/{photo_id}"): Entry(Access.MEMBER),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/share"): Entry(Access.MEMBER),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/share.pdf"): Entry(Access.MEMBER),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/share.png"): Entry(Access.MEMBER),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/cosign"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_collecting
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/cosign/withdraw"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_cosigned
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/withdraw"): Entry(
        Access.CHAIR,
        writes=True,
        ok=303,
        prepare=_chairs_own,  # the proposer: here the chair
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/accept"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_in_review, body=_days
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/reject"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_in_review, body=_reason
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/merge"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_in_review, body=_merge
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/comments"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_deliberating, body=_comment
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/solutions"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_deliberating, body=_solution
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/close"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/close"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_closable, body=_close
    ),
    # the forms for one comment (in place with htmx, a page of their own without JavaScript)
    ("GET", "/halls/{hall_id}/comments/{comment_id}/reply"): Entry(Access.PARTICIPANT),
    ("GET", "/halls/{hall_id}/comments/{comment_id}/report"): Entry(Access.PARTICIPANT),
    ("GET", "/halls/{hall_id}/comments/{comment_id}/edit"): Entry(
        Access.CHAIR,
        prepare=_chairs_comment,  # the author, within the 10 minutes
    ),
    ("GET", "/halls/{hall_id}/comments/{comment_id}/hide"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/comments/{comment_id}/edit"): Entry(
        Access.CHAIR,
        writes=True,
        ok=303,
        prepare=_chairs_comment,
        body=_edit,  # the author
    ),
    ("POST", "/halls/{hall_id}/comments/{comment_id}/report"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_neighbours_comment, body=_reason
    ),
    ("POST", "/halls/{hall_id}/comments/{comment_id}/hide"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_neighbours_comment, body=_reason
    ),
    ("POST", "/halls/{hall_id}/comments/{comment_id}/restore"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_neighbours_comment
    ),
    # the issue API: the same services as the pages
    ("GET", "/api/v1/halls/{hall_id}/issues"): Entry(Access.MEMBER),
    ("GET", "/api/v1/halls/{hall_id}/issues/{issue_id}"): Entry(Access.MEMBER),
    ("POST", "/api/v1/halls/{hall_id}/issues"): Entry(
        Access.PARTICIPANT, writes=True, ok=201, body=_issue_form
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/cosign"): Entry(
        Access.PARTICIPANT, writes=True, prepare=_collecting
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/cosign/withdraw"): Entry(
        Access.PARTICIPANT, writes=True, prepare=_cosigned
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/withdraw"): Entry(
        Access.CHAIR, writes=True, prepare=_chairs_own
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/accept"): Entry(
        Access.CHAIR, writes=True, prepare=_in_review, body=_as_json(_days)
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/reject"): Entry(
        Access.CHAIR, writes=True, prepare=_in_review, body=_as_json(_reason)
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/merge"): Entry(
        Access.CHAIR, writes=True, prepare=_in_review, body=_as_json(_merge)
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/comments"): Entry(
        Access.PARTICIPANT, writes=True, ok=201, prepare=_deliberating, body=_as_json(_comment)
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/solutions"): Entry(
        Access.PARTICIPANT, writes=True, ok=201, prepare=_deliberating, body=_as_json(_solution)
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/close"): Entry(
        Access.CHAIR, writes=True, prepare=_closable, body=_as_json(_close)
    ),
    ("POST", "/api/v1/halls/{hall_id}/comments/{comment_id}/report"): Entry(
        Access.PARTICIPANT, writes=True, ok=204, prepare=_neighbours_comment, body=_as_json(_reason)
    ),
    ("POST", "/api/v1/halls/{hall_id}/comments/{comment_id}/hide"): Entry(
        Access.CHAIR, writes=True, prepare=_neighbours_comment, body=_as_json(_reason)
    ),
    # ballots (民决)
    ("GET", "/halls/{hall_id}/issues/{issue_id}/ballots/new"): Entry(
        Access.CHAIR, prepare=_deciding
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/ballots"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_deciding, body=_ballot_form
    ),
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}"): Entry(Access.MEMBER, prepare=_open_ballot),
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}/tally"): Entry(
        Access.MEMBER, prepare=_open_ballot
    ),
    # a finished ballot's stream sends the final tally and ends (an open one streams on)
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}/live"): Entry(
        Access.MEMBER, prepare=_closed_ballot
    ),
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}/board"): Entry(
        Access.MEMBER, prepare=_open_ballot
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/open"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_draft_ballot
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/close"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_open_ballot
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/consensus"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_consensus_draft, body=_consensus
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/settle"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_closed_ballot, body=_settle
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/votes"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_council_ballot, body=_vote
    ),
    # the frozen roll, in-person votes, attendance and voids: the chair's; the paper desk also
    # opens to the ballot's 计票人 and 监票人 (tests/web/test_voting_paper.py), who are no role here
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}/roll"): Entry(
        Access.CHAIR, prepare=_current_vote
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/in-person"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_paper_ballot, body=_in_person
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/attendance"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_paper_ballot, body=_attendance
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/votes/{vote_id}/void"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_current_vote, body=_reason
    ),
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}/paper"): Entry(
        Access.CHAIR, prepare=_pending_entry
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/paper/issue"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_paper_ballot
    ),
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}/paper/print"): Entry(
        Access.CHAIR, prepare=_paper_ballot
    ),
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}/paper/sign-sheet"): Entry(
        Access.CHAIR, prepare=_paper_ballot
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/paper/entries"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_paper_ballot, body=_paper_entry
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/paper/entries/{entry_id}/confirm"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_pending_entry
    ),
    ("POST", "/halls/{hall_id}/ballots/{ballot_id}/paper/entries/{entry_id}/reject"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_pending_entry
    ),
    # the ballot API: the same services as the pages
    ("GET", "/api/v1/halls/{hall_id}/ballots"): Entry(Access.MEMBER, prepare=_open_ballot),
    ("GET", "/api/v1/halls/{hall_id}/ballots/{ballot_id}"): Entry(
        Access.MEMBER, prepare=_open_ballot
    ),
    ("POST", "/api/v1/halls/{hall_id}/ballots/{ballot_id}/votes"): Entry(
        Access.PARTICIPANT, writes=True, ok=201, prepare=_council_ballot, body=_as_json(_vote)
    ),
    # 决议 and 公示
    ("GET", "/halls/{hall_id}/issues/{issue_id}/publicity"): Entry(
        Access.MEMBER, prepare=_publicizing
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/publicity/print"): Entry(
        Access.MEMBER, prepare=_publicizing
    ),
    ("GET", "/halls/{hall_id}/ballots/{ballot_id}/print/publicity.pdf"): Entry(
        Access.MEMBER, prepare=_publicized_ballot
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/objections"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_publicizing, body=_objection
    ),
    ("POST", "/halls/{hall_id}/objections/{objection_id}/answer"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_objected, body=_answer
    ),
    # before the period is over the chair is refused: PRG with the reason as a warning flash
    # (its period not over: refused, the 公示 again with the reason under 结束公示)
    ("POST", "/halls/{hall_id}/issues/{issue_id}/publicity/end"): Entry(
        Access.CHAIR, writes=True, ok=409, prepare=_publicizing
    ),
    # 民评: residents in scope answer (and may change their answer); the chair opens and closes
    # rounds, enters paper forms and prints them; everyone who sees the hall reads the result.
    # A refused answer (already answered, not answered yet) is PRG with a warning flash.
    ("GET", "/halls/{hall_id}/issues/{issue_id}/evaluation"): Entry(
        Access.MEMBER, prepare=_evaluating
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/evaluation/answer"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_evaluating, body=_evaluation
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/evaluation/answer/change"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_evaluating, body=_evaluation
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/evaluation/open"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_tasks_done
    ),
    # (its window still open: refused, the page again with the reason under 结束民评)
    ("POST", "/halls/{hall_id}/issues/{issue_id}/evaluation/close"): Entry(
        Access.CHAIR, writes=True, ok=409, prepare=_evaluating
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/evaluation/paper"): Entry(
        Access.CHAIR, prepare=_evaluating
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/evaluation/paper"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_evaluating, body=_paper_evaluation
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/evaluation/form"): Entry(
        Access.CHAIR, prepare=_evaluating
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/evaluation/form.pdf"): Entry(
        Access.CHAIR, prepare=_evaluating
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/evaluation/result"): Entry(
        Access.MEMBER, prepare=_evaluated
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/evaluation/result.pdf"): Entry(
        Access.MEMBER, prepare=_evaluated
    ),
    ("GET", "/api/v1/halls/{hall_id}/issues/{issue_id}/evaluations"): Entry(
        Access.MEMBER, prepare=_evaluating
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/evaluations"): Entry(
        Access.PARTICIPANT, writes=True, ok=201, prepare=_evaluating, body=_as_json(_evaluation)
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/evaluations/rounds"): Entry(
        Access.CHAIR, writes=True, ok=201, prepare=_tasks_done
    ),
    # 任务分工 (民办): whoever sees the hall reads the tasks, their photos and the printed
    # 任务分工表; the chair adds, edits and reports (the task's responsible member reports too:
    # tests/web/test_tasks_pages.py); verified members 认领 and withdraw
    ("GET", "/halls/{hall_id}/issues/{issue_id}/tasks"): Entry(Access.MEMBER, prepare=_tasks),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/tasks"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_tasks, body=_task_form
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/tasks/print"): Entry(Access.MEMBER, prepare=_tasks),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/tasks/print.pdf"): Entry(
        Access.MEMBER, prepare=_tasks
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/tasks/photos/{photo_id}"): Entry(
        Access.MEMBER, prepare=_tasks
    ),
    ("GET", "/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}"): Entry(
        Access.MEMBER, prepare=_tasks
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_tasks, body=_task_edit
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/updates"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_tasks, body=_task_update
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/claim"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_tasks
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/withdraw"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_tasks
    ),
    ("GET", "/api/v1/halls/{hall_id}/issues/{issue_id}/tasks"): Entry(
        Access.MEMBER, prepare=_tasks
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/tasks"): Entry(
        Access.CHAIR, writes=True, ok=201, prepare=_tasks, body=_task_json
    ),
    ("GET", "/api/v1/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/updates"): Entry(
        Access.MEMBER, prepare=_tasks
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/updates"): Entry(
        Access.CHAIR, writes=True, ok=201, prepare=_tasks, body=_task_update_json
    ),
    # 协商会议: residents see meetings and sign themselves in with the QR's token; the chair
    # schedules, cancels and signs others in (the meeting's 主持人 / 记录人 too:
    # tests/services/test_meetings_service.py)
    ("GET", "/halls/{hall_id}/meetings"): Entry(Access.MEMBER),
    ("GET", "/halls/{hall_id}/meetings/new"): Entry(Access.CHAIR),
    ("POST", "/halls/{hall_id}/meetings"): Entry(
        Access.CHAIR, writes=True, ok=303, body=_meeting_form
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}"): Entry(Access.MEMBER, prepare=_meeting_now),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/cancel"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_now, body=_reason
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/attendance"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_now, body=_guest_form
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/signin"): Entry(
        Access.PARTICIPANT, prepare=_meeting_now
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/signin"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_meeting_now, body=_signin_form
    ),
    # A meeting on paper: the notice is the hall's (any member); the 签到表 the chair's
    # (and the meeting's 主持人 / 记录人: tests/web/test_meeting_print.py)
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/notice"): Entry(
        Access.MEMBER, prepare=_meeting_now
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/notice.pdf"): Entry(
        Access.MEMBER, prepare=_meeting_now
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/signin"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/signin.pdf"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    # The minutes (会议纪要): a draft is the chair's and the meeting's 主持人 / 记录人 (signed
    # minutes are every member's: tests/web/test_minutes.py)
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/minutes"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/minutes"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_now, body=_minutes_form
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/minutes/absences"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_residents_meeting, body=_absence_form
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/minutes/sign"): Entry(
        Access.CHAIR,
        writes=True,
        ok=303,
        prepare=_meeting_started,
        body=lambda _w: {"data": {"line": "chair"}},
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/minutes/corrections"): Entry(
        Access.CHAIR,
        writes=True,
        ok=303,
        prepare=_minutes_signed,
        body=lambda _w: {"data": {"text": "更正"}},
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/minutes"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/minutes.pdf"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    ("GET", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    ("PUT", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes"): Entry(
        Access.CHAIR, writes=True, prepare=_meeting_now, body=_minutes_json
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes/sign"): Entry(
        Access.CHAIR,
        writes=True,
        prepare=_meeting_started,
        body=lambda _w: {"json": {"line": "chair"}},
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes/corrections"): Entry(
        Access.CHAIR,
        writes=True,
        ok=201,
        prepare=_minutes_signed,
        body=lambda _w: {"json": {"text": "更正"}},
    ),
    # One building's join poster (the chair, as the hall's poster)
    ("GET", "/halls/{hall_id}/buildings/{building_id}/poster"): Entry(
        Access.CHAIR, prepare=_building
    ),
    ("GET", "/halls/{hall_id}/buildings/{building_id}/poster.pdf"): Entry(
        Access.CHAIR, prepare=_building
    ),
    # The ballots held at a meeting on paper: 表决票 and 领票登记 for the chair (and the
    # meeting's 主持人 / 记录人), 计票表 for them and the ballots' 计票人 / 监票人
    # (tests/web/test_meeting_ballots_print.py); codes are issued by the voting desk's use case
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/ballots"): Entry(
        Access.CHAIR, prepare=_meeting_ballot
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/ballots.pdf"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/print/ballots/issue"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_ballot, body=_issue_papers_form
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/issued"): Entry(
        Access.CHAIR, prepare=_meeting_ballot
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/issued.pdf"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/tally"): Entry(
        Access.CHAIR, prepare=_meeting_ballot
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/print/tally.pdf"): Entry(
        Access.CHAIR, prepare=_meeting_now
    ),
    # 改期 (the chair) and the calendar file (any member: 加入手机日历)
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/reschedule"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_now, body=_reschedule_form
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/meeting.ics"): Entry(
        Access.MEMBER, prepare=_meeting_now
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/reschedule"): Entry(
        Access.CHAIR, writes=True, ok=200, prepare=_meeting_now, body=_reschedule_json
    ),
    ("GET", "/api/v1/halls/{hall_id}/meetings"): Entry(Access.MEMBER),
    ("POST", "/api/v1/halls/{hall_id}/meetings"): Entry(
        Access.CHAIR, writes=True, ok=201, body=_meeting_json
    ),
    ("GET", "/api/v1/halls/{hall_id}/meetings/{meeting_id}"): Entry(
        Access.MEMBER, prepare=_meeting_now
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/attendance"): Entry(
        Access.PARTICIPANT, writes=True, ok=201, prepare=_meeting_now, body=_signin_json
    ),
    # The meeting as it is held: the chair runs it (the meeting's 主持人 / 记录人 too:
    # tests/services/test_meeting_live.py); members signed in raise a hand; anyone who sees
    # the hall may open the projector and read the queue and the speeches.
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/live"): Entry(
        Access.CHAIR, prepare=_meeting_speaker
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/live/queue"): Entry(
        Access.CHAIR, prepare=_meeting_speaker
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/start"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_now
    ),
    # The current item's ballot from live mode: the chair (an open one: opening it again is
    # refused, the live page again with the reason under 开始表决; closing it freezes the result)
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/ballots/{ballot_id}/open"): Entry(
        Access.CHAIR, writes=True, ok=409, prepare=_meeting_ballot_path
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/ballots/{ballot_id}/close"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_ballot_path
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/end"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_live
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/current-item"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_open, body=_item_form
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/speakers"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_open, body=_speaker_form
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/speakers/{speaker_id}/floor"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_speaker
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/speakers/{speaker_id}/move"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_speaker_kept, body=_move_form
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/speakers/{speaker_id}/withdraw"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_speaker
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/speeches"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_open, body=_speech_form
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/live/speeches/{speech_id}"): Entry(
        Access.CHAIR, prepare=_meeting_speech
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/live/speeches/{speech_id}"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_meeting_speech_kept, body=_speech_form
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/hand"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_meeting_hand
    ),
    ("POST", "/halls/{hall_id}/meetings/{meeting_id}/hand/lower"): Entry(
        Access.PARTICIPANT, writes=True, ok=303, prepare=_meeting_raised
    ),
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/screen"): Entry(
        Access.MEMBER, prepare=_meeting_speaker
    ),
    # An open meeting's stream goes on until the client leaves: asked of a closed one.
    ("GET", "/halls/{hall_id}/meetings/{meeting_id}/screen/live"): Entry(
        Access.MEMBER, prepare=_meeting_ended
    ),
    ("GET", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers"): Entry(
        Access.MEMBER, prepare=_meeting_speaker
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers"): Entry(
        Access.PARTICIPANT, writes=True, ok=201, prepare=_meeting_hand, body=_raise_json
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers/{speaker_id}/floor"): Entry(
        Access.CHAIR, writes=True, prepare=_meeting_speaker
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers/{speaker_id}/move"): Entry(
        Access.CHAIR,
        writes=True,
        prepare=_meeting_speaker_kept,
        body=_move_json,
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers/{speaker_id}/withdraw"): Entry(
        Access.CHAIR, writes=True, prepare=_meeting_speaker
    ),
    ("GET", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speeches"): Entry(
        Access.MEMBER, prepare=_meeting_speech
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speeches"): Entry(
        Access.CHAIR, writes=True, ok=201, prepare=_meeting_open, body=_speech_json
    ),
    ("POST", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/current-item"): Entry(
        Access.CHAIR, writes=True, prepare=_meeting_open, body=_item_json
    ),
    # 吹哨报到: the chair blows the whistle on an issue 办理中 and withdraws it before dispatch;
    # whoever sees the hall reads an issue's escalations (and the card on the issue page).
    ("GET", "/halls/{hall_id}/issues/{issue_id}/escalations/new"): Entry(
        Access.CHAIR, prepare=_implementing
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/escalations"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_implementing, body=_escalation_form
    ),
    ("POST", "/halls/{hall_id}/issues/{issue_id}/escalations/{escalation_id}/withdraw"): Entry(
        Access.CHAIR, writes=True, ok=303, prepare=_raised
    ),
    ("GET", "/api/v1/halls/{hall_id}/issues/{issue_id}/escalations"): Entry(
        Access.MEMBER, prepare=_implementing
    ),
    ("POST", "/api/v1/halls/{hall_id}/issues/{issue_id}/escalations"): Entry(
        Access.CHAIR, writes=True, ok=201, prepare=_implementing, body=_escalation_json
    ),
    # The street's officials: the dispatch inbox, 派单, departments and their members, deadlines.
    ("GET", "/streets/{street_id}/escalations"): Entry(Access.STREET),
    ("GET", "/streets/{street_id}/escalations/{escalation_id}"): Entry(Access.STREET),
    ("POST", "/streets/{street_id}/escalations/{escalation_id}/dispatch"): Entry(
        Access.STREET, writes=True, ok=303, body=_to_department
    ),
    ("GET", "/streets/{street_id}/departments"): Entry(Access.STREET),
    ("POST", "/streets/{street_id}/departments"): Entry(
        Access.STREET, writes=True, ok=303, body=_department_name
    ),
    ("POST", "/streets/{street_id}/departments/{department_id}"): Entry(
        Access.STREET, writes=True, ok=303, body=_department_name
    ),
    ("POST", "/streets/{street_id}/departments/{department_id}/members"): Entry(
        Access.STREET, writes=True, ok=303, body=_member_phone
    ),
    ("POST", "/streets/{street_id}/departments/{department_id}/members/{member_id}/remove"): Entry(
        Access.STREET, writes=True, ok=303
    ),
    ("GET", "/streets/{street_id}/deadlines"): Entry(Access.STREET),
    ("POST", "/streets/{street_id}/deadlines"): Entry(
        Access.STREET, writes=True, ok=303, body=_windows
    ),
    # A department's members: its inbox (what was dispatched to it or it helps with), 报到,
    # 答复, 请求协办, 办结 (pages and API).
    ("GET", "/departments/{department_id}/escalations"): Entry(Access.DEPARTMENT),
    ("GET", "/departments/{department_id}/escalations/{escalation_id}"): Entry(Access.DEPARTMENT),
    ("POST", "/departments/{department_id}/escalations/{escalation_id}/acknowledge"): Entry(
        Access.DEPARTMENT, writes=True, ok=303
    ),
    ("POST", "/departments/{department_id}/escalations/{escalation_id}/replies"): Entry(
        Access.DEPARTMENT, writes=True, ok=303, body=_step_text
    ),
    ("POST", "/departments/{department_id}/escalations/{escalation_id}/helpers"): Entry(
        Access.DEPARTMENT, writes=True, ok=303, body=_help
    ),
    ("POST", "/departments/{department_id}/escalations/{escalation_id}/resolve"): Entry(
        Access.DEPARTMENT, writes=True, ok=303, body=_step_text
    ),
    ("GET", "/api/v1/departments/{department_id}/escalations"): Entry(Access.DEPARTMENT),
    ("POST", "/api/v1/departments/{department_id}/escalations/{escalation_id}/acknowledge"): Entry(
        Access.DEPARTMENT, writes=True
    ),
    ("POST", "/api/v1/departments/{department_id}/escalations/{escalation_id}/replies"): Entry(
        Access.DEPARTMENT, writes=True, body=_as_json(_step_text)
    ),
    ("POST", "/api/v1/departments/{department_id}/escalations/{escalation_id}/resolve"): Entry(
        Access.DEPARTMENT, writes=True, body=_as_json(_step_text)
    ),
    # 三率: the street's report and weights for its officials; a hall's own for its chair
    # (and the street's officials, read-only)
    ("GET", "/streets/{street_id}/rates"): Entry(Access.STREET),
    ("GET", "/streets/{street_id}/rates/settings"): Entry(Access.STREET),
    ("POST", "/streets/{street_id}/rates/settings"): Entry(
        Access.STREET, writes=True, ok=303, body=_rate_settings
    ),
    ("GET", "/api/v1/streets/{street_id}/rates"): Entry(Access.STREET),
    ("GET", "/halls/{hall_id}/rates"): Entry(Access.STAFF),
}

# Query strings worth crawling as well (filters, pages, the building → entrance picker).
EXTRA_QUERIES: dict[tuple[str, str], list[str]] = {
    ("GET", "/halls/{hall_id}/members"): [
        "status=pending",
        "status=verified",
        "status=rejected",
        "page=2",
    ],
    ("GET", "/halls/{hall_id}/members/new"): [
        "building_id={building_id}",
        "building_id={building_id}&entrance_id={entrance_id}",
    ],
    ("GET", "/join/{token}"): [
        "building_id={building_id}",
        "building_id={building_id}&entrance_id={entrance_id}",
    ],
    ("GET", "/halls/{hall_id}/audit"): ["before=2147483647"],
    ("GET", "/api/v1/halls/{hall_id}/members"): ["status=verified", "limit=500"],
    ("GET", "/halls/{hall_id}/issues"): [
        "q=停车",
        "stage=collecting&category=parking&building_id={building_id}",
        "before=2147483647",
    ],
    ("GET", "/halls/{hall_id}/issues/similar"): ["title=路灯不亮"],
    ("GET", "/halls/{hall_id}/issues/{issue_id}"): ["before=2147483647"],
    ("GET", "/streets/{street_id}/rates"): [
        "by=department&from=2026-01-01&to=2026-12-31",
        "by=company",
        "by=nobody&from=2026-13-01",
    ],
}
STATIC_SAMPLE = "/static/css/app.css"


def is_api(path: str) -> bool:
    return path.startswith("/api/")


# --- reading the app's routes -----------------------------------------------------------------


def route_contexts(app: FastAPI) -> list[Any]:
    """Every route, flattened (FastAPI ≥ 0.16x keeps included routers as lazy branches)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def route_keys(app: FastAPI) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for ctx in route_contexts(app):
        route = getattr(ctx, "original_route", ctx)
        if isinstance(route, Mount):
            keys.add(("MOUNT", ctx.path))
            continue
        methods = set(ctx.methods or ()) - {"HEAD"}
        if not methods:  # a websocket or an odd route: it must be classified by hand
            keys.add((type(route).__name__, ctx.path))
        keys.update((method, ctx.path) for method in methods)
    return keys


def dependency_calls(ctx: Any) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()

    def walk(dependant: Any) -> None:
        for dep in dependant.dependencies:
            if dep.call is not None:
                found.add(dep.call)
            walk(dep)

    dependant = getattr(ctx, "dependant", None)
    if dependant is not None:
        walk(dependant)
    return found


# --- database snapshots -----------------------------------------------------------------------


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table of the database (what any write would change)."""
    engine = db.read_engine
    names = sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
            for name in names
        }


# --- the world --------------------------------------------------------------------------------


def new_client(app: FastAPI) -> Client:
    client = Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN})
    client.__enter__()
    return client


def logged_in(app: FastAPI, user: User) -> Client:
    client = new_client(app)
    assert user.phone is not None
    client.login(user.phone, PASSWORD)
    return client


def build_world(app: FastAPI, db: Database) -> Iterator[World]:
    a = make_hall(db)
    b = make_hall(db)
    chair = make_chair(db, a, name="甲厅主任")
    chair_b = make_chair(db, b, name="乙厅主任")
    resident, _ = make_member(db, a, household_index=0, chair=chair, name="甲厅居民")
    target_user, target = make_member(db, a, household_index=5, chair=chair, name="甲厅邻居")
    outsider, member_b = make_member(db, b, household_index=0, chair=chair_b, name="乙厅居民")
    applicant, _ = make_member(db, a, household_index=1, verified=False, name="申请人")
    street = make_user(db, name="街道干部")
    dep_member = make_user(db, name="部门成员")  # of a department of A's street (below)
    with db.session() as session:
        service.add_street_admin(session=session, street=a.street, user=street, actor_id=a.admin.id)
        entrance = session.get(Entrance, a.households[0].entrance_id)
        assert entrance is not None
        building_id, entrance_id = entrance.building_id, entrance.id or 0
    users = {
        "chair": chair,
        "chair_b": chair_b,
        "resident": resident,
        "outsider": outsider,
        "applicant": applicant,
        "street": street,
        "department": dep_member,
        "target": target_user,
    }
    clients = {role: logged_in(app, users[role]) for role in users if role != "target"}
    clients["anon"] = new_client(app)
    tokens = {
        role: client.csrf("/login" if role == "anon" else "/") for role, client in clients.items()
    }
    assert target.id is not None
    assert member_b.id is not None
    with_photo = ih.propose(
        db, a, target_user, title="有照片的议题", uploads=(ih.jpeg_with_exif(),)
    )
    talked = ih.deliberating(db, a, chair, title="有评论的议题")
    said = ih.comment(db, a, target_user, talked.id or 0)
    deciding = ih.deliberating(db, a, chair, title="表决中的议题")
    plan = ih.solution(db, a, chair, deciding.id or 0)
    ih.close_deliberation(db, a, chair, deciding.id or 0, plan.id or 0)
    standing = ih.ballot(db, a, chair, deciding.id or 0)
    publicized = ih.deliberating(db, a, chair, title="公示中的议题")
    plan = ih.solution(db, a, chair, publicized.id or 0)
    ih.close_deliberation(db, a, chair, publicized.id or 0, plan.id or 0)
    ih.publicize(db, a, chair, publicized.id or 0)
    objected = ih.objection(db, a, target_user, publicized.id or 0)
    # A finished ballot for the crawl of the live stream (an open ballot's stream never ends).
    finished = ih.deliberating(db, a, chair, title="已截止表决的议题")
    plan = ih.solution(db, a, chair, finished.id or 0)
    ih.close_deliberation(db, a, chair, finished.id or 0, plan.id or 0)
    closed = ih.ballot(db, a, chair, finished.id or 0)
    ih.close_ballot(db, a, chair, closed.id or 0)
    # A vote to void and a paper reading to confirm, on a ballot with its paper ballots printed.
    papers = vh.open_ballot(
        db,
        a,
        chair,
        rule=RuleKind.RESIDENTS_MEETING,
        voter_unit="household",
        counters=(target_user,),
        secret=False,  # named: the chair may record in person
    )
    vh.issue_papers(db, a, chair, papers)
    vh.in_person(db, a, chair, papers, vh.roll(db, papers)[0].entry.id or 0, "yes")
    reading = vh.enter_paper(db, a, target_user, papers, vh.free_code(db, papers))
    meeting = mh.now_meeting(db, a, chair)
    # The meeting as held: one opened with a guest in the queue and a speech noted, and one
    # closed (its projector stream ends, so the crawl can read it).
    held = mh.now_meeting(db, a, chair)
    lh.call(db, a, chair, meeting_service.start_meeting, meeting_id=held.id)
    queued = lh.call(
        db,
        a,
        chair,
        meeting_service.add_speaker,
        meeting_id=held.id,
        form=meeting_schemas.SpeakerForm(name="张经理", identity="物业"),
    )
    noted = lh.speech(db, a, chair, held)
    ended = mh.now_meeting(db, a, chair)
    lh.call(db, a, chair, meeting_service.start_meeting, meeting_id=ended.id)
    lh.call(db, a, chair, meeting_service.end_meeting, meeting_id=ended.id)
    # 吹哨报到: an issue 办理中, a department of A's street with a member, an escalation
    # dispatched to it (the crawl and the CSRF walk fill the street and department routes).
    implementing = implementing_issue(db, a, chair)
    dep = eh.department(db, a, street, unique("城管科"), (dep_member,))
    escalation = eh.raise_on(db, a, chair, implementing)
    eh.dispatch(db, a, street, escalation, dep)
    with db.session(read_only=True) as session:
        dep_member_id = session.exec(
            sa.select(DepartmentMember.id).where(DepartmentMember.department_id == dep.id)
        ).scalar_one()
    issue_params = {
        "street_id": a.street.id or 0,
        "department_id": dep.id or 0,
        "escalation_id": escalation.id or 0,
        "member_id": dep_member_id,
        "meeting_id": meeting.id or 0,
        "speaker_id": queued.speaker.id or 0,
        "speech_id": noted.id or 0,
        "closed_meeting_id": ended.id or 0,
        "issue_id": with_photo.id or 0,
        "photo_id": ih.photo_id(db, with_photo.id or 0),
        "comment_id": said.id or 0,
        "ballot_id": standing.id or 0,
        "objection_id": objected,
        "vote_id": next(r.vote_id for r in vh.roll(db, papers) if r.vote_id is not None),
        "entry_id": reading.id or 0,
        "closed_ballot_id": closed.id or 0,
        "task_id": th.standing_task(db, a, chair, with_photo.id or 0).id or 0,
    }
    world = World(
        db=db,
        a=a,
        b=b,
        users=users,
        target_a=target.id,
        member_b=member_b.id,
        clients=clients,
        tokens=tokens,
        building_id=building_id,
        entrance_id=entrance_id,
        issue_params=issue_params,
    )
    world.extra["implementing_issue_id"] = implementing.id or 0
    yield world
    for client in clients.values():
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def world(app: FastAPI, db: Database) -> Iterator[World]:
    yield from build_world(app, db)


def send(
    w: World,
    role: str,
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    hx: bool = False,
    csrf: bool = True,
) -> Any:
    headers: dict[str, str] = {}
    if method not in SAFE and csrf:
        headers["X-CSRF-Token"] = w.tokens[role]
    if hx:
        headers["HX-Request"] = "true"
    return w.clients[role].request(
        method, url, headers=headers, follow_redirects=False, **(body or {})
    )


def fill(template: str, **params: object) -> str:
    return template.format(**params)


def expect_login(response: Any, path: str) -> str | None:
    """Anonymous: pages redirect to the login page, the API answers 401 JSON."""
    if is_api(path):
        if response.status_code != 401:
            return f"expected 401, got {response.status_code}"
        if response.json().get("error") != "not_logged_in":
            return f"401 body {response.text[:200]}"
        return None
    if response.status_code != 303:
        return f"expected 303 to /login, got {response.status_code}"
    if not response.headers["location"].startswith("/login?next="):
        return f"redirected to {response.headers['location']}"
    return None


def expect_status(response: Any, status: int) -> str | None:
    if response.status_code != status:
        return f"expected {status}, got {response.status_code}: {response.text[:300]}"
    if status == 303 and response.headers["location"].startswith("/login"):
        return "redirected to the login page"
    json_404 = status == 404 and response.headers.get("content-type", "").startswith(
        "application/json"
    )
    if json_404 and response.json().get("error") not in {"not_found", "member_unknown"}:
        return f"404 body {response.text[:200]}"
    return None


# --- 1. the inventory itself ------------------------------------------------------------------


def test_every_route_is_classified(app: FastAPI) -> None:
    actual = route_keys(app)
    unclassified = sorted(actual - ROUTES.keys())
    stale = sorted(ROUTES.keys() - actual)
    assert not unclassified, (
        f"routes missing from tests/web/test_route_inventory.py ROUTES: {unclassified}. "
        "Classify each (who may call it, does it write) before shipping it."
    )
    assert not stale, f"ROUTES lists routes that no longer exist: {stale}"


def test_side_effects_only_on_unsafe_methods(app: FastAPI) -> None:
    """CSRF-03, statically: writers are POST-only; no route mixes safe and unsafe methods."""
    for (method, path), entry in ROUTES.items():
        if entry.writes:
            assert method in UNSAFE, f"{method} {path} has side effects on a safe method"
        elif method in UNSAFE:
            pytest.fail(f"{method} {path}: an unsafe method that declares no side effects")
    for ctx in route_contexts(app):
        methods = set(ctx.methods or ())
        assert not (methods & SAFE and methods & UNSAFE), f"{ctx.path} mixes {sorted(methods)}"


# Hall routes that resolve the caller's standing in the hall inside their use case instead of
# through load_hall / hall_access, with the reason. The behaviour (404 for a non-member, as
# for every hall route) is asserted by the access matrix below like any other route's.
STANDING_IN_SERVICE = {
    ("POST", "/api/v1/halls/{hall_id}/ballots/{ballot_id}/votes"): (
        "the ballot box reads the voters' memberships with the rest of its batch "
        "(app/voting/service/phone_votes.cast_votes): no thread hop in front of a vote"
    ),
}


def test_every_route_has_its_guard(app: FastAPI) -> None:
    """AUTHZ-05: the CSRF/locale guard runs in front of every route (app/web/routing.py:
    every route is a GuardedRoute); hall routes resolve the caller's
    standing in the hall; login routes require a user."""
    from app.escalations.deps import load_department
    from app.halls.deps import hall_access, load_hall, load_street

    problems = []
    for ctx in route_contexts(app):
        if not hasattr(ctx, "dependant"):
            continue  # openapi, docs and the static mount: framework routes with no data
        calls = dependency_calls(ctx)
        for method in set(ctx.methods or ()) - {"HEAD"}:
            entry = ROUTES.get((method, ctx.path))
            if entry is None:
                continue  # unclassified: test_every_route_is_classified reports it
            if not isinstance(getattr(ctx, "original_route", ctx), GuardedRoute):
                problems.append(f"{method} {ctx.path}: not a GuardedRoute (no guard in front)")
            if (method, ctx.path) in STANDING_IN_SERVICE:
                continue
            if "{hall_id}" in ctx.path and not {load_hall, hall_access} <= calls:
                problems.append(f"{method} {ctx.path}: hall in the path but no hall_access")
            if entry.access in HALL_SCOPED and "{hall_id}" not in ctx.path:
                problems.append(f"{method} {ctx.path}: hall-scoped but no hall in the path")
            if entry.access == Access.STREET and load_street not in calls:
                problems.append(f"{method} {ctx.path}: street route without StreetDep")
            if entry.access == Access.DEPARTMENT and load_department not in calls:
                problems.append(f"{method} {ctx.path}: department route without DepartmentDep")
            if entry.access == Access.LOGIN and current_user not in calls:
                problems.append(f"{method} {ctx.path}: login route without current_user")
            if entry.access in HALL_SCOPED and hall_access not in calls:
                problems.append(f"{method} {ctx.path}: hall route without hall_access")
    assert not problems, "\n".join(problems)


def test_a_route_added_to_the_app_later_is_guarded_too(settings: Settings, db: Database) -> None:
    """The app's own router makes GuardedRoutes: a POST without our CSRF token is refused.
    (An app of its own: the shared one keeps the routes the other tests list.)"""
    app = create_app(settings, database=db)

    @app.post("/test-only/write")
    async def write() -> dict[str, bool]:
        return {"written": True}

    with Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN}) as client:
        refused = client.post("/test-only/write", headers={"X-CSRF-Token": "forged"})
        assert refused.status_code == 403
        assert "written" not in refused.text


# --- 2. hall routes: anonymous, other hall, applicant, resident, street, chair ----------------

HALL_ROUTES = sorted(k for k, e in ROUTES.items() if e.access in HALL_SCOPED)


@pytest.mark.parametrize("key", HALL_ROUTES, ids=[f"{m} {p}" for m, p in HALL_ROUTES])
def test_hall_route_access(world: World, key: tuple[str, str]) -> None:
    method, template = key
    entry = ROUTES[key]
    w = world
    hall_a, hall_b = w.a.hall.id, w.b.hall.id
    member_a = w.pending() if entry.pending else w.target_a
    member_b = w.pending(w.b) if entry.pending else w.member_b
    objects = {**w.issue_params, **(entry.prepare(w) if entry.prepare else {})}
    url = fill(template, hall_id=hall_a, membership_id=member_a, **objects)
    body = entry.body(w) if entry.body else None
    variants = [False, True] if method == "GET" else [False]  # GETs also as HTMX fragments
    failures: list[str] = []
    resident_status = entry.ok if entry.access in {Access.MEMBER, Access.PARTICIPANT} else 404
    street_status = entry.ok if entry.access in {Access.MEMBER, Access.STAFF} else 404

    def check(role: str, target: str, problem: str | None, hx: bool = False) -> None:
        if problem:
            failures.append(f"{role}{' (htmx)' if hx else ''} {method} {target}: {problem}")

    before = row_counts(w.db)
    for hx in variants:
        # (a) anonymous
        check("anon", url, expect_login(send(w, "anon", method, url, body, hx=hx), url), hx)
        # (b) other hall, a request still pending, and a hall that does not exist
        for role in ("outsider", "chair_b", "applicant"):
            check(role, url, expect_status(send(w, role, method, url, body, hx=hx), 404), hx)
        missing = fill(template, hall_id=2**31 - 1, membership_id=member_a, **objects)
        check(
            "chair", missing, expect_status(send(w, "chair", method, missing, body, hx=hx), 404), hx
        )
        if "{membership_id}" in template:
            # B's chair with B's hall and A's member; A's chair with A's hall and B's member.
            cross = fill(template, hall_id=hall_b, membership_id=member_a)
            response = send(w, "chair_b", method, cross, body, hx=hx)
            check("chair_b", cross, expect_status(response, 404), hx)
            foreign = fill(template, hall_id=hall_a, membership_id=member_b)
            response = send(w, "chair", method, foreign, body, hx=hx)
            check("chair", foreign, expect_status(response, 404), hx)
        if objects.keys() & set(re.findall(r"{(\w+)}", template)):
            # B's chair with B's hall and A's issue, comment or photo.
            cross = fill(template, hall_id=hall_b, membership_id=member_b, **objects)
            response = send(w, "chair_b", method, cross, body, hx=hx)
            check("chair_b", cross, expect_status(response, 404), hx)
        # (c) a plain resident of A, and the street official, where they may not
        if resident_status == 404:
            response = send(w, "resident", method, url, body, hx=hx)
            check("resident", url, expect_status(response, 404), hx)
        if street_status == 404:
            check(
                "street", url, expect_status(send(w, "street", method, url, body, hx=hx), 404), hx
            )
    after = row_counts(w.db)
    if before != after:
        failures.append(
            f"refused calls changed rows: { {k: (before[k], after[k]) for k in before if before[k] != after.get(k)} }"
        )
    if entry.pending:
        assert w.membership_status(member_a) == MembershipStatus.PENDING
        assert w.membership_status(member_b) == MembershipStatus.PENDING

    # (d) those who may: the resident and the street official where allowed, then the chair
    for hx in variants:
        if resident_status != 404:
            response = send(
                w, "resident", method, url, entry.body(w) if entry.body else None, hx=hx
            )
            check("resident", url, expect_status(response, resident_status), hx)
        if street_status != 404:
            response = send(w, "street", method, url, body, hx=hx)
            check("street", url, expect_status(response, street_status), hx)
    if method == "GET" and not failures:
        assert row_counts(w.db) == after, f"GET {template} changed rows (resident, street)"
    for hx in variants:
        response = send(w, "chair", method, url, entry.body(w) if entry.body else None, hx=hx)
        check("chair", url, expect_status(response, entry.ok), hx)
    if method == "GET" and not failures:
        assert row_counts(w.db) == after, f"GET {template} changed rows"
    if entry.pending and not failures:
        expected = (
            MembershipStatus.VERIFIED if template.endswith("verify") else MembershipStatus.REJECTED
        )
        assert w.membership_status(member_a) == expected
    assert not failures, "\n".join(failures)


# --- 2b. street routes: only the street's officials; everyone else 404 -------------------------

# Those with the street alone in the path; the ones that also name an escalation, a department
# or a member are walked with their own world by tests/web/test_escalation_access.py.
STREET_ROUTES = sorted(
    k
    for k, e in ROUTES.items()
    if e.access == Access.STREET and re.findall(r"\{(\w+)\}", k[1]) == ["street_id"]
)


@pytest.mark.parametrize("key", STREET_ROUTES, ids=[f"{m} {p}" for m, p in STREET_ROUTES])
def test_street_route_access(world: World, key: tuple[str, str]) -> None:
    method, template = key
    entry = ROUTES[key]
    w = world
    url = fill(template, street_id=w.a.street.id)
    other = fill(template, street_id=w.b.street.id)  # hall B's street: not this official's
    missing = fill(template, street_id=2**31 - 1)
    variants = [False, True] if method == "GET" else [False]
    failures: list[str] = []

    def check(role: str, target: str, problem: str | None, hx: bool) -> None:
        if problem:
            failures.append(f"{role}{' (htmx)' if hx else ''} {method} {target}: {problem}")

    before = row_counts(w.db)
    for hx in variants:
        body = entry.body(w) if entry.body else None
        check("anon", url, expect_login(send(w, "anon", method, url, body, hx=hx), url), hx)
        for role in ("outsider", "chair_b", "applicant", "resident", "chair"):
            check(role, url, expect_status(send(w, role, method, url, body, hx=hx), 404), hx)
        for target in (other, missing):
            response = send(w, "street", method, target, body, hx=hx)
            check("street", target, expect_status(response, 404), hx)
    after = row_counts(w.db)
    if before != after:
        failures.append(f"refused calls changed rows: {before} → {after}")
    for hx in variants:
        body = entry.body(w) if entry.body else None
        check(
            "street", url, expect_status(send(w, "street", method, url, body, hx=hx), entry.ok), hx
        )
    assert not failures, "\n".join(failures)


def test_chair_responses_have_the_right_type(world: World) -> None:
    w = world
    hall = w.a.hall.id
    png = send(w, "chair", "GET", f"/halls/{hall}/invite.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    csv = send(w, "chair", "GET", f"/halls/{hall}/roster/template.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    members = send(w, "chair", "GET", f"/api/v1/halls/{hall}/members")
    assert members.headers["content-type"] == "application/json"
    assert {m["membership_id"] for m in members.json()} >= {w.target_a}


# --- 3. invite links, login-only routes, public routes ----------------------------------------


def test_invite_routes(world: World, app: FastAPI) -> None:
    w = world
    token = w.invite_token()
    bad = "x" * 43
    # Anyone may open the invite page; acting on it needs a login.
    page = send(w, "anon", "GET", f"/join/{token}")
    assert page.status_code == 200
    assert w.a.hall.name in page.text
    assert expect_login(send(w, "anon", "POST", f"/join/{token}", _join_form(w)), "/join/") is None
    for method in ("GET", "POST"):
        path = f"/api/v1/join/{token}"
        body = _join_json(w) if method == "POST" else None
        assert expect_login(send(w, "anon", method, path, body), path) is None
    # An unknown token is a page that does not exist, for everyone.
    for role in ("anon", "outsider", "chair"):
        assert send(w, role, "GET", f"/join/{bad}").status_code == 404
    for role in ("outsider", "chair"):
        assert send(w, role, "POST", f"/join/{bad}", _join_form(w)).status_code == 404
        assert send(w, role, "GET", f"/api/v1/join/{bad}").status_code == 404
        assert send(w, role, "POST", f"/api/v1/join/{bad}", _join_json(w)).status_code == 404
    # A logged-in person of another hall may ask to join with the link (that is its purpose).
    joiner = new_client(app)
    newcomer = make_user(w.db, name="新居民")
    assert newcomer.phone
    joiner.login(newcomer.phone, PASSWORD)
    picker = joiner.get(
        f"/join/{token}?building_id={w.building_id}&entrance_id={w.entrance_id}",
        headers={"HX-Request": "true"},
    )
    assert picker.status_code == 200
    assert 'name="household_id"' in picker.text
    assert joiner.get(f"/api/v1/join/{token}").json()["hall_id"] == w.a.hall.id
    before = row_counts(w.db)
    response = joiner.post(
        f"/join/{token}",
        headers={"X-CSRF-Token": joiner.csrf("/")},
        follow_redirects=False,
        **_join_form(w),
    )
    assert response.status_code == 303
    assert row_counts(w.db)["membership"] == before["membership"] + 1
    # The API joins too, and refuses a second request from the same person.
    api_joiner = new_client(app)
    other = make_user(w.db, name="新居民二")
    assert other.phone
    api_joiner.login(other.phone, PASSWORD)
    csrf_token = api_joiner.get("/api/v1/me").json()["csrf_token"]
    first = api_joiner.post(
        f"/api/v1/join/{token}", headers={"X-CSRF-Token": csrf_token}, **_join_json(w)
    )
    assert first.status_code == 201, first.text
    again = api_joiner.post(
        f"/api/v1/join/{token}", headers={"X-CSRF-Token": csrf_token}, **_join_json(w)
    )
    assert again.status_code == 409
    # Once the chair rotates the link, the old one leads nowhere.
    assert send(w, "chair", "POST", f"/halls/{w.a.hall.id}/invite/rotate").status_code == 303
    assert send(w, "outsider", "GET", f"/join/{token}").status_code == 404
    assert send(w, "outsider", "GET", f"/join/{w.invite_token()}").status_code == 200
    joiner.__exit__(None, None, None)
    api_joiner.__exit__(None, None, None)


def test_login_routes(world: World, app: FastAPI) -> None:
    w = world
    for (method, path), entry in ROUTES.items():
        if entry.access != Access.LOGIN:
            continue
        assert expect_login(send(w, "anon", method, path), path) is None, f"{method} {path}"
        if method == "GET":
            for role in ("resident", "outsider", "chair"):
                assert send(w, role, method, path).status_code == 200, f"{role} {method} {path}"
    # Changing the password, as a throwaway person (it ends their other sessions).
    person = make_user(w.db, name="改密码")
    client = logged_in(app, person)
    response = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "another long passphrase"},
        follow_redirects=False,
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    client.__exit__(None, None, None)


def test_public_routes(world: World, app: FastAPI) -> None:
    w = world
    for (method, path), entry in ROUTES.items():
        if entry.access != Access.PUBLIC or method != "GET":
            continue
        response = send(w, "anon", "GET", path)
        assert response.status_code == 200, f"GET {path}: {response.status_code}"
    assert send(w, "anon", "GET", STATIC_SAMPLE).status_code == 200
    # The public form posts, each from a fresh browser.
    person = make_user(w.db, name="公开路由")
    assert person.phone
    posts: list[tuple[str, dict[str, object], str]] = [
        (
            "/register",
            {"phone": unique_phone(), "name": "新注册", "password": PASSWORD, "consent": "true"},
            "/register",
        ),
        ("/login", {"phone": person.phone, "password": PASSWORD}, "/login"),
        ("/prefs/elder", {"on": "1"}, "/"),
        ("/prefs/locale", {"locale": "en"}, "/"),
        ("/logout", {}, "/"),
    ]
    assert {p for p, _, _ in posts} == {
        path
        for (method, path), e in ROUTES.items()
        if e.access == Access.PUBLIC and method == "POST"
    }
    for path, data, token_from in posts:
        client = new_client(app)
        response = client.post_form(path, data, token_from=token_from, follow_redirects=False)
        assert response.status_code == 303, f"POST {path}: {response.status_code}"  # type: ignore[attr-defined]
        client.__exit__(None, None, None)


# --- 4. CSRF-03 and default deny for writes ---------------------------------------------------


# Crawled with a finished ballot: an open ballot's live stream goes on until the client leaves.
CRAWL_FINISHED = {("GET", "/halls/{hall_id}/ballots/{ballot_id}/live")}
# Likewise an open meeting's projector stream: crawled with a closed meeting.
CRAWL_ENDED = {("GET", "/halls/{hall_id}/meetings/{meeting_id}/screen/live")}


def crawl_urls(w: World, template: str, key: tuple[str, str]) -> list[str]:
    params = {
        "hall_id": w.a.hall.id,
        "membership_id": w.target_a,
        "token": w.invite_token(),
        "building_id": w.building_id,
        "entrance_id": w.entrance_id,
        **w.issue_params,
    }
    if key in CRAWL_FINISHED:
        params["ballot_id"] = w.issue_params["closed_ballot_id"]
    if key in CRAWL_ENDED:
        params["meeting_id"] = w.issue_params["closed_meeting_id"]
    base = STATIC_SAMPLE if key[0] == "MOUNT" else fill(template, **params)
    return [base] + [f"{base}?{fill(q, **params)}" for q in EXTRA_QUERIES.get(key, [])]


def test_get_routes_change_no_rows(world: World) -> None:
    """CSRF-03: crawl every GET route (pages, fragments, JSON) as every role; no row changes.
    Write-only paths asked with GET answer 404/405 and change nothing either."""
    w = world
    get_paths = {path for method, path in ROUTES if method in {"GET", "MOUNT"}}
    before = row_counts(w.db)
    visited = 0
    for key in ROUTES:
        method, template = key
        if method in UNSAFE:
            if template in get_paths:
                continue
            for url in crawl_urls(w, template, key):
                response = send(w, "chair", "GET", url)
                assert response.status_code in {404, 405}, f"GET {url}: {response.status_code}"
            continue
        for role in ("chair", "resident", "street", "outsider", "anon"):
            for url in crawl_urls(w, template, key):
                for hx in (False, True):
                    response = send(w, role, "GET", url, hx=hx)
                    assert response.status_code < 500, f"{role} GET {url}: {response.status_code}"
                    visited += 1
    assert row_counts(w.db) == before
    assert visited > 100


@pytest.mark.parametrize(
    "key",
    sorted(k for k in ROUTES if k[0] in UNSAFE),
    ids=[f"{m} {p}" for m, p in sorted(k for k in ROUTES if k[0] in UNSAFE)],
)
def test_writes_refuse_requests_without_csrf(world: World, key: tuple[str, str]) -> None:
    """Every unsafe route: no token, or a cross-site request, is refused (403) and changes nothing."""
    w = world
    method, template = key
    entry = ROUTES[key]
    url = fill(
        template,
        hall_id=w.a.hall.id,
        membership_id=w.target_a,
        token=w.invite_token(),
        **w.issue_params,
    )
    body = entry.body(w) if entry.body else None  # may prepare rows (a roster preview)
    before = row_counts(w.db)
    assert send(w, "chair", method, url, body, csrf=False).status_code == 403
    forged = w.clients["chair"].request(
        method,
        url,
        headers={"X-CSRF-Token": w.tokens["chair"], "Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
        **(body or {}),
    )
    assert forged.status_code == 403
    other = send(w, "chair", method, url, body, csrf=False, hx=True)
    assert other.status_code == 403
    assert row_counts(w.db) == before


def test_no_pii_or_ids_in_the_inventory_paths() -> None:
    """PRIV-04: no route takes personal data in its path (phones, names), only opaque ids."""
    for _, path in ROUTES:
        params = re.findall(r"{(\w+)}", path)
        assert set(params) <= {
            "hall_id",
            "street_id",
            "meeting_id",
            "membership_id",
            "token",
            "issue_id",
            "comment_id",
            "photo_id",
            "ballot_id",
            "vote_id",
            "entry_id",
            "objection_id",
            "speaker_id",
            "speech_id",
            "building_id",
            "department_id",
            "task_id",
            "escalation_id",
            "member_id",
        }, path
