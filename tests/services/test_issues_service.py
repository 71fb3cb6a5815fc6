"""民提 · 民议 through app.issues.service, on SQLite and PostgreSQL.

Every rule of issue 3 that lives in the service: field errors, who may do what, co-signing
and the automatic move to review, review (accept / reject / merge), comments and replies,
moderation, 方案, closing deliberation, stage refusals and hall scoping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.db import Database
from app.halls.models import Building, Entrance, Household, Relation
from app.halls.policies import HallAccess
from app.issues import schemas
from app.issues import service as svc
from app.issues.lifecycle import Stage
from app.issues.models import (
    Category,
    Comment,
    CommentReport,
    ConsultationOpinion,
    Cosign,
    Issue,
    Notification,
    Scope,
    Solution,
    Source,
    StageEvent,
    Stance,
)
from tests.factories import (
    HallWorld,
    make_chair,
    make_deliberating_issue,
    make_hall,
    make_issue,
    make_member,
    member_access,
    set_hall_rules,
    unique,
)

STAGE_ACTION = "stage_action_not_allowed"
STAGE_TRANSITION = "stage_transition_not_allowed"


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@dataclass
class People:
    world: HallWorld
    chair: User
    members: list[User]  # members[i] lives in world.households[HOMES[i]]

    def access(self, db: Database, user: User) -> HallAccess:
        return member_access(db, self.world, user)


# Households of make_hall(buildings=2, entrances=2, rooms=4), in roster order:
# 0-3 → 1号楼1单元, 4-7 → 1号楼2单元, 8-11 → 2号楼1单元, 12-15 → 2号楼2单元.
HOMES = [0, 1, 2, 3, 4, 5, 8, 12]


@pytest.fixture(scope="module")
def people(db: Database) -> People:
    world = make_hall(db, buildings=2, entrances=2, rooms=4)
    chair = make_chair(db, world)
    members = [
        make_member(db, world, household_index=h, chair=chair, name=f"居民{i}")[0]
        for i, h in enumerate(HOMES)
    ]
    return People(world, chair, members)


@pytest.fixture(scope="module")
def other(db: Database) -> People:
    """A second hall: its ids must be invisible from the first."""
    world = make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = make_chair(db, world)
    member = make_member(db, world, household_index=0, chair=chair)[0]
    return People(world, chair, [member])


@pytest.fixture
def rules(db: Database, people: People) -> Iterator[None]:
    """Tests set the threshold they need; restore the defaults afterwards."""
    yield
    set_hall_rules(db, people.world, cosign_threshold=10, review_sla_days=5)


@pytest.fixture
def frozen() -> Iterator[datetime]:
    at = clock.now()
    clock.freeze(at)
    try:
        yield at
    finally:
        clock.freeze(None)


def call(db: Database, people: People, user: User, fn: object, **kwargs: object) -> object:
    """Run one service function in its own session, as `user` of people's hall."""
    access = people.access(db, user)
    with db.session() as session:
        return fn(session=session, access=access, actor=user, **kwargs)  # type: ignore[operator]


def get_issue(db: Database, issue_id: int | None) -> Issue:
    with db.session(read_only=True) as session:
        issue = session.get(Issue, issue_id)
        assert issue is not None
        return issue


def count(session: Session, model: type, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def notified(db: Database, issue_id: int | None, kind: str) -> list[int]:
    with db.session(read_only=True) as session:
        return sorted(
            session.exec(
                select(Notification.user_id).where(
                    Notification.issue_id == issue_id, Notification.kind == kind
                )
            ).all()
        )


def events(db: Database, action: str, subject_id: int | None) -> list[dict[str, object]]:
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(AuditEvent.data)
            .where(AuditEvent.action == action, AuditEvent.subject_id == subject_id)
            .order_by(col(AuditEvent.id))
        ).all()
    return [json.loads(r) for r in rows]


def cosign(db: Database, people: People, user: User, issue: Issue) -> Issue:
    return call(db, people, user, svc.cosign_issue, issue_id=issue.id)  # type: ignore[return-value]


def scope_ids(db: Database, world: HallWorld) -> tuple[list[int], list[int]]:
    """(building ids, entrance ids) of a hall, in roster order."""
    with db.session(read_only=True) as session:
        buildings = session.exec(
            select(Building.id).where(Building.hall_id == world.hall.id).order_by(col(Building.id))
        ).all()
        entrances = session.exec(
            select(Entrance.id).where(Entrance.hall_id == world.hall.id).order_by(col(Entrance.id))
        ).all()
    return [b for b in buildings if b], [e for e in entrances if e]


def home_of(db: Database, people: People, member_index: int) -> tuple[int, int]:
    """(building id, entrance id) of members[member_index]."""
    with db.session(read_only=True) as session:
        household = session.get(Household, people.world.households[HOMES[member_index]].id)
        assert household is not None
        entrance = session.get(Entrance, household.entrance_id)
        assert entrance is not None
        return entrance.building_id, entrance.id or 0


def issue_count(db: Database, world: HallWorld) -> int:
    with db.session(read_only=True) as session:
        return count(session, Issue, Issue.hall_id == world.hall.id)


def propose_form(**values: object) -> schemas.ProposeForm:
    base: dict[str, object] = {
        "title": unique("小区停车"),
        "description": "车位不够",
        "category": Category.PARKING,
    }
    return schemas.ProposeForm(**{**base, **values})


# ---------------------------------------------------------------------------------------------
# 民提: proposing


def test_a_member_proposes_an_issue_that_starts_collecting(db: Database, people: People) -> None:
    proposer = people.members[0]
    issue = call(
        db,
        people,
        proposer,
        svc.propose_issue,
        form=propose_form(title="  电动车充电桩  ", location="3号楼北侧"),
    )
    assert isinstance(issue, Issue)
    stored = get_issue(db, issue.id)
    assert stored.title == "电动车充电桩"
    assert stored.stage == Stage.COLLECTING
    assert stored.source == Source.RESIDENT
    assert stored.proposer_id == proposer.id
    assert stored.entered_by_id is None
    assert stored.review_due_at is None
    assert stored.cosign_count == 0
    assert "充电" in stored.search_text.split()
    with db.session(read_only=True) as session:
        timeline = session.exec(select(StageEvent).where(StageEvent.issue_id == issue.id)).all()
    assert [(e.from_stage, e.to_stage) for e in timeline] == [(None, Stage.COLLECTING)]
    assert events(db, "issues.propose_issue", issue.id) == [{"category": "parking", "photos": 0}]


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"title": ""}, {"title": "required"}),
        ({"title": "   "}, {"title": "required"}),
        ({"title": "长" * 61}, {"title": "too_long"}),
        ({"description": ""}, {"description": "required"}),
        ({"category": None}, {"category": "required"}),
        ({"location": "地" * 101}, {"location": "too_long"}),
        ({"scope": Scope.BUILDING}, {"scope_building_id": "required"}),
        ({"scope": Scope.ENTRANCE}, {"scope_entrance_id": "required"}),
        ({"title": "", "category": None}, {"title": "required", "category": "required"}),
    ],
)
def test_proposing_refuses_bad_fields_and_saves_nothing(
    db: Database, people: People, values: dict[str, object], errors: dict[str, str]
) -> None:
    before = issue_count(db, people.world)
    with pytest.raises(ValidationFailed) as exc:
        call(db, people, people.members[0], svc.propose_issue, form=propose_form(**values))
    assert exc.value.errors == errors
    assert issue_count(db, people.world) == before


def test_a_sixty_character_title_is_accepted(db: Database, people: People) -> None:
    issue = call(
        db, people, people.members[0], svc.propose_issue, form=propose_form(title="长" * 60)
    )
    assert get_issue(db, issue.id).title == "长" * 60  # type: ignore[attr-defined]


def test_scope_ids_from_another_hall_are_refused(
    db: Database, people: People, other: People
) -> None:
    other_buildings, other_entrances = scope_ids(db, other.world)
    before = issue_count(db, people.world)
    with pytest.raises(ValidationFailed) as exc:
        call(
            db,
            people,
            people.members[0],
            svc.propose_issue,
            form=propose_form(scope=Scope.BUILDING, scope_building_id=other_buildings[0]),
        )
    assert exc.value.errors == {"scope_building_id": "required"}
    with pytest.raises(ValidationFailed) as exc:
        call(
            db,
            people,
            people.members[0],
            svc.propose_issue,
            form=propose_form(scope=Scope.ENTRANCE, scope_entrance_id=other_entrances[0]),
        )
    assert exc.value.errors == {"scope_entrance_id": "required"}
    assert issue_count(db, people.world) == before


def test_a_pending_member_may_not_propose(db: Database, people: People) -> None:
    pending, _ = make_member(db, people.world, household_index=6, verified=False)
    with pytest.raises(NotAllowed):
        call(db, people, pending, svc.propose_issue, form=propose_form())


# ---------------------------------------------------------------------------------------------
# The chair enters an issue on a resident's behalf


def test_the_chair_enters_a_12345_work_order_straight_into_review(
    db: Database, people: People, frozen: datetime
) -> None:
    form = schemas.OnBehalfIssueForm(
        title="路灯不亮",
        description="12345 转来的工单",
        category=Category.SAFETY,
        source=Source.HOTLINE,
        work_order_no=" 2026112500123 ",
    )
    issue = call(db, people, people.chair, svc.enter_issue_on_behalf, form=form)
    stored = get_issue(db, issue.id)  # type: ignore[attr-defined]
    assert stored.stage == Stage.UNDER_REVIEW
    assert stored.source == Source.HOTLINE
    assert stored.work_order_no == "2026112500123"
    assert stored.entered_by_id == people.chair.id
    assert stored.review_due_at == frozen + timedelta(days=people.world.hall.review_sla_days)
    assert events(db, "issues.enter_issue_on_behalf", stored.id) == [
        {"source": "hotline", "work_order_no": "2026112500123"}
    ]
    with db.session(read_only=True) as session:
        timeline = session.exec(select(StageEvent).where(StageEvent.issue_id == stored.id)).all()
    assert [(e.from_stage, e.to_stage) for e in timeline] == [(None, Stage.UNDER_REVIEW)]


def test_a_phone_call_needs_no_work_order(db: Database, people: People) -> None:
    form = schemas.OnBehalfIssueForm(
        title="垃圾清运不及时",
        description="电话反映",
        category=Category.SANITATION,
        source=Source.PHONE,
    )
    issue = call(db, people, people.chair, svc.enter_issue_on_behalf, form=form)
    stored = get_issue(db, issue.id)  # type: ignore[attr-defined]
    assert (stored.source, stored.work_order_no) == (Source.PHONE, None)


def test_a_12345_entry_without_work_order_is_refused(db: Database, people: People) -> None:
    before = issue_count(db, people.world)
    form = schemas.OnBehalfIssueForm(
        title="路灯不亮", description="工单", category=Category.SAFETY, source=Source.HOTLINE
    )
    with pytest.raises(ValidationFailed) as exc:
        call(db, people, people.chair, svc.enter_issue_on_behalf, form=form)
    assert exc.value.errors == {"work_order_no": "required"}
    assert issue_count(db, people.world) == before


def test_only_the_chair_enters_on_behalf(db: Database, people: People) -> None:
    form = schemas.OnBehalfIssueForm(
        title="路灯不亮", description="x", category=Category.SAFETY, source=Source.PAPER
    )
    with pytest.raises(NotAllowed):
        call(db, people, people.members[0], svc.enter_issue_on_behalf, form=form)


# ---------------------------------------------------------------------------------------------
# 附议: co-signing


def test_one_cosign_per_person_and_not_by_the_proposer(
    db: Database, people: People, rules: None
) -> None:
    proposer, a = people.members[0], people.members[1]
    issue = make_issue(db, people.world, proposer)
    assert cosign(db, people, a, issue).cosign_count == 1
    with pytest.raises(Conflict) as exc:
        cosign(db, people, a, issue)
    assert exc.value.code == "already_cosigned"
    with pytest.raises(Conflict) as exc:
        cosign(db, people, proposer, issue)
    assert exc.value.code == "own_issue"
    with db.session(read_only=True) as session:
        assert count(session, Cosign, Cosign.issue_id == issue.id) == 1
    assert get_issue(db, issue.id).cosign_count == 1


def test_a_cosign_can_be_withdrawn_while_collecting(db: Database, people: People) -> None:
    issue = make_issue(db, people.world, people.members[0])
    a = people.members[1]
    cosign(db, people, a, issue)
    after = call(db, people, a, svc.withdraw_cosign, issue_id=issue.id)
    assert after.cosign_count == 0  # type: ignore[attr-defined]
    with pytest.raises(Conflict) as exc:
        call(db, people, a, svc.withdraw_cosign, issue_id=issue.id)
    assert exc.value.code == "not_cosigned"
    with db.session(read_only=True) as session:
        assert count(session, Cosign, Cosign.issue_id == issue.id) == 0
    # and they may support it again
    assert cosign(db, people, a, issue).cosign_count == 1


def test_only_members_in_a_building_scope_may_cosign(db: Database, people: People) -> None:
    building, _ = home_of(db, people, 1)  # 1号楼
    issue = make_issue(
        db, people.world, people.members[0], scope=Scope.BUILDING, scope_building_id=building
    )
    assert get_issue(db, issue.id).scope_building_id == building
    with pytest.raises(NotAllowed) as exc:
        cosign(db, people, people.members[6], issue)  # 2号楼
    assert exc.value.code == "out_of_scope"
    assert cosign(db, people, people.members[4], issue).cosign_count == 1  # 1号楼2单元


def test_only_members_of_the_entrance_may_cosign(db: Database, people: People) -> None:
    _, entrance = home_of(db, people, 1)  # 1号楼1单元
    issue = make_issue(
        db, people.world, people.members[0], scope=Scope.ENTRANCE, scope_entrance_id=entrance
    )
    for outsider in (4, 6, 7):  # 1号楼2单元, 2号楼1单元, 2号楼2单元
        with pytest.raises(NotAllowed):
            cosign(db, people, people.members[outsider], issue)
    assert cosign(db, people, people.members[2], issue).cosign_count == 1
    assert get_issue(db, issue.id).cosign_count == 1


def test_reaching_the_threshold_moves_the_issue_to_review(
    db: Database, people: People, rules: None, frozen: datetime
) -> None:
    set_hall_rules(db, people.world, cosign_threshold=3, review_sla_days=7)
    proposer, a, b, c, d = people.members[:5]
    issue = make_issue(db, people.world, proposer)
    cosign(db, people, a, issue)
    assert cosign(db, people, b, issue).stage == Stage.COLLECTING
    assert notified(db, issue.id, "review_needed") == []

    moved = cosign(db, people, c, issue)
    assert moved.stage == Stage.UNDER_REVIEW
    stored = get_issue(db, issue.id)
    assert (stored.stage, stored.cosign_count) == (Stage.UNDER_REVIEW, 3)
    assert stored.review_due_at == frozen + timedelta(days=7)
    assert notified(db, issue.id, "review_needed") == [people.chair.id]
    # everyone who follows the issue hears of the stage change, but c, who moved it
    assert notified(db, issue.id, "stage:under_review") == sorted(
        u.id or 0 for u in (proposer, a, b)
    )
    with db.session(read_only=True) as session:
        timeline = session.exec(
            select(StageEvent).where(StageEvent.issue_id == issue.id).order_by(col(StageEvent.id))
        ).all()
    assert [(e.from_stage, e.to_stage, e.actor_id, e.note) for e in timeline] == [
        (None, Stage.COLLECTING, proposer.id, ""),
        (Stage.COLLECTING, Stage.UNDER_REVIEW, None, "cosign_threshold_reached"),
    ]
    assert events(db, "issues.advance_issue_stage", issue.id) == [
        {"from": "collecting", "to": "under_review"}
    ]
    # no more co-signing or withdrawing once under review
    with pytest.raises(Conflict) as exc:
        cosign(db, people, d, issue)
    assert exc.value.code == STAGE_ACTION
    with pytest.raises(Conflict) as exc:
        call(db, people, a, svc.withdraw_cosign, issue_id=issue.id)
    assert exc.value.code == STAGE_ACTION
    assert get_issue(db, issue.id).cosign_count == 3


def test_a_pending_member_may_not_cosign(db: Database, people: People) -> None:
    issue = make_issue(db, people.world, people.members[0])
    pending, _ = make_member(db, people.world, household_index=7, verified=False)
    with pytest.raises(NotAllowed):
        cosign(db, people, pending, issue)


# ---------------------------------------------------------------------------------------------
# Withdrawing, accepting, rejecting, merging


def test_only_the_proposer_withdraws(db: Database, people: People) -> None:
    proposer = people.members[0]
    issue = make_issue(db, people.world, proposer)
    with pytest.raises(NotAllowed):
        call(db, people, people.members[1], svc.withdraw_issue, issue_id=issue.id)
    with pytest.raises(NotAllowed):
        call(db, people, people.chair, svc.withdraw_issue, issue_id=issue.id)
    withdrawn = call(db, people, proposer, svc.withdraw_issue, issue_id=issue.id)
    assert withdrawn.stage == Stage.WITHDRAWN  # type: ignore[attr-defined]
    assert get_issue(db, issue.id).stage == Stage.WITHDRAWN
    with pytest.raises(Conflict) as exc:
        cosign(db, people, people.members[1], issue)
    assert exc.value.code == STAGE_ACTION
    with pytest.raises(Conflict) as exc:
        call(db, people, proposer, svc.withdraw_issue, issue_id=issue.id)
    assert exc.value.code == STAGE_ACTION


def _under_review(db: Database, people: People, **form: object) -> Issue:
    values: dict[str, object] = {
        "title": unique("健身器材损坏"),
        "description": "器材生锈",
        "category": Category.GREENING,
        "source": Source.PAPER,
        **form,
    }
    return call(  # type: ignore[return-value]
        db,
        people,
        people.chair,
        svc.enter_issue_on_behalf,
        form=schemas.OnBehalfIssueForm(**values),
    )


@pytest.mark.parametrize(
    ("days", "error"),
    [
        ("abc", "integer_required"),
        ("1.5", "integer_required"),
        ("0", "out_of_range"),
        ("181", "out_of_range"),
        ("-3", "out_of_range"),
    ],
)
def test_accept_validates_the_deliberation_days(
    db: Database, people: People, days: str, error: str
) -> None:
    issue = _under_review(db, people)
    with pytest.raises(ValidationFailed) as exc:
        call(
            db,
            people,
            people.chair,
            svc.accept_issue,
            issue_id=issue.id,
            form=schemas.AcceptForm(deliberation_days=days),
        )
    assert exc.value.errors == {"deliberation_days": error}
    assert get_issue(db, issue.id).stage == Stage.UNDER_REVIEW


def test_accept_with_and_without_a_deadline(db: Database, people: People, frozen: datetime) -> None:
    first, second = _under_review(db, people), _under_review(db, people)
    call(
        db,
        people,
        people.chair,
        svc.accept_issue,
        issue_id=first.id,
        form=schemas.AcceptForm(deliberation_days=" 14 "),
    )
    call(db, people, people.chair, svc.accept_issue, issue_id=second.id, form=schemas.AcceptForm())
    one, two = get_issue(db, first.id), get_issue(db, second.id)
    assert one.stage == two.stage == Stage.DELIBERATING
    assert one.deliberation_deadline == frozen + timedelta(days=14)
    assert two.deliberation_deadline is None
    assert events(db, "issues.advance_issue_stage", first.id) == [
        {"from": "under_review", "to": "deliberating"}
    ]


def test_accept_is_for_the_chair_and_for_issues_under_review(db: Database, people: People) -> None:
    issue = _under_review(db, people)
    with pytest.raises(NotAllowed):
        call(
            db,
            people,
            people.members[0],
            svc.accept_issue,
            issue_id=issue.id,
            form=schemas.AcceptForm(),
        )
    collecting = make_issue(db, people.world, people.members[0])
    with pytest.raises(Conflict) as exc:
        call(
            db,
            people,
            people.chair,
            svc.accept_issue,
            issue_id=collecting.id,
            form=schemas.AcceptForm(),
        )
    assert exc.value.code == STAGE_TRANSITION
    assert get_issue(db, collecting.id).stage == Stage.COLLECTING
    call(db, people, people.chair, svc.accept_issue, issue_id=issue.id, form=schemas.AcceptForm())
    with pytest.raises(Conflict) as exc:  # accepted twice
        call(
            db,
            people,
            people.chair,
            svc.accept_issue,
            issue_id=issue.id,
            form=schemas.AcceptForm(),
        )
    assert exc.value.code == STAGE_TRANSITION


def test_reject_needs_a_reason_that_proposer_and_cosigners_hear(
    db: Database, people: People, rules: None
) -> None:
    set_hall_rules(db, people.world, cosign_threshold=2)
    proposer, a, b = people.members[0], people.members[1], people.members[2]
    issue = make_issue(db, people.world, proposer)
    cosign(db, people, a, issue)
    cosign(db, people, b, issue)
    assert get_issue(db, issue.id).stage == Stage.UNDER_REVIEW

    for reason in ("", "   ", "理" * 201):
        with pytest.raises(ValidationFailed) as exc:
            call(
                db,
                people,
                people.chair,
                svc.reject_issue,
                issue_id=issue.id,
                form=schemas.ReasonForm(reason=reason),
            )
        assert set(exc.value.errors) == {"reason"}
    with pytest.raises(NotAllowed):
        call(
            db,
            people,
            a,
            svc.reject_issue,
            issue_id=issue.id,
            form=schemas.ReasonForm(reason="不归社区管"),
        )
    call(
        db,
        people,
        people.chair,
        svc.reject_issue,
        issue_id=issue.id,
        form=schemas.ReasonForm(reason=" 属于市政道路，已转交区城管委 "),
    )
    assert get_issue(db, issue.id).stage == Stage.REJECTED
    with db.session(read_only=True) as session:
        last = session.exec(
            select(StageEvent)
            .where(StageEvent.issue_id == issue.id)
            .order_by(col(StageEvent.id).desc())
        ).first()
    assert last is not None
    assert (last.to_stage, last.note, last.actor_id) == (
        Stage.REJECTED,
        "属于市政道路，已转交区城管委",
        people.chair.id,
    )
    assert notified(db, issue.id, "stage:rejected") == sorted(u.id or 0 for u in (proposer, a, b))


def test_reject_refused_while_collecting(db: Database, people: People) -> None:
    issue = make_issue(db, people.world, people.members[0])
    with pytest.raises(Conflict) as exc:
        call(
            db,
            people,
            people.chair,
            svc.reject_issue,
            issue_id=issue.id,
            form=schemas.ReasonForm(reason="重复"),
        )
    assert exc.value.code == STAGE_TRANSITION


def test_merge_carries_cosigners_over_once_each(db: Database, people: People) -> None:
    p1, p2, a, b = people.members[0], people.members[1], people.members[2], people.members[3]
    duplicate = make_issue(db, people.world, p1)
    target = make_issue(db, people.world, p2)
    for user in (a, b, p2):  # the target's proposer also supported the duplicate
        cosign(db, people, user, duplicate)
    cosign(db, people, a, target)  # a already supports the target

    merged = call(
        db,
        people,
        people.chair,
        svc.merge_issue,
        issue_id=duplicate.id,
        form=schemas.MergeForm(target_id=target.id),
    )
    assert merged.stage == Stage.MERGED  # type: ignore[attr-defined]
    stored = get_issue(db, duplicate.id)
    assert (stored.stage, stored.merged_into_id) == (Stage.MERGED, target.id)
    into = get_issue(db, target.id)
    with db.session(read_only=True) as session:
        signers = sorted(
            session.exec(select(Cosign.user_id).where(Cosign.issue_id == target.id)).all()
        )
    assert signers == sorted([a.id or 0, b.id or 0])  # b carried over; a once; p2 not added
    assert into.cosign_count == len(signers) == 2
    # everyone who followed the duplicate is told where it went
    assert notified(db, target.id, "merged") == sorted(u.id or 0 for u in (p1, p2, a, b))
    assert events(db, "issues.merge_issue", duplicate.id) == [{"into": target.id, "carried": 1}]
    assert events(db, "issues.advance_issue_stage", duplicate.id) == [
        {"from": "collecting", "to": "merged"}
    ]


def test_merge_refuses_invalid_targets(db: Database, people: People, other: People) -> None:
    duplicate = make_issue(db, people.world, people.members[0])
    withdrawn = make_issue(db, people.world, people.members[1])
    call(db, people, people.members[1], svc.withdraw_issue, issue_id=withdrawn.id)
    elsewhere = make_issue(db, other.world, other.members[0])
    for target_id in (None, duplicate.id, withdrawn.id, elsewhere.id, 10**9):
        with pytest.raises(ValidationFailed) as exc:
            call(
                db,
                people,
                people.chair,
                svc.merge_issue,
                issue_id=duplicate.id,
                form=schemas.MergeForm(target_id=target_id),
            )
        assert exc.value.errors == {"target_id": "merge_target_invalid"}, target_id
    assert get_issue(db, duplicate.id).stage == Stage.COLLECTING
    with pytest.raises(NotAllowed):
        call(
            db,
            people,
            people.members[2],
            svc.merge_issue,
            issue_id=duplicate.id,
            form=schemas.MergeForm(target_id=withdrawn.id),
        )


# ---------------------------------------------------------------------------------------------
# 民议: comments


def comment(
    db: Database, people: People, user: User, issue: Issue, body: str, **form: object
) -> Comment:
    return call(  # type: ignore[return-value]
        db,
        people,
        user,
        svc.add_comment,
        issue_id=issue.id,
        form=schemas.CommentForm(body=body, **form),
    )


def test_comments_carry_a_stance_and_count(db: Database, people: People) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    for i, stance in enumerate(Stance):
        made = comment(db, people, people.members[i], issue, f" 意见{i} ", stance=stance)
        assert (made.stance, made.body, made.parent_id) == (stance, f"意见{i}", None)
    assert get_issue(db, issue.id).comment_count == len(Stance)
    with pytest.raises(ValidationFailed) as exc:
        comment(db, people, people.members[0], issue, "   ")
    assert exc.value.errors == {"body": "required"}
    with pytest.raises(ValidationFailed) as exc:
        comment(db, people, people.members[0], issue, "字" * 2001)
    assert exc.value.errors == {"body": "too_long"}
    assert get_issue(db, issue.id).comment_count == len(Stance)


def test_replies_are_one_level_deep_and_notify_the_author_replied_to(
    db: Database, people: People
) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    a, b, c = people.members[0], people.members[1], people.members[2]
    top = comment(db, people, a, issue, "建议划线停车", stance=Stance.SUGGEST)
    reply = comment(db, people, b, issue, "同意", stance=Stance.SUPPORT, parent_id=top.id)
    deeper = comment(db, people, c, issue, "不同意楼上", stance=Stance.OPPOSE, parent_id=reply.id)
    own = comment(db, people, a, issue, "补充一点", parent_id=top.id)
    assert reply.parent_id == top.id
    assert deeper.parent_id == top.id  # a reply to a reply attaches to the top comment
    assert own.parent_id == top.id
    replies = notified(db, issue.id, "reply")
    assert replies.count(a.id or 0) == 2  # b's and c's replies in a's thread; not a's own
    assert replies.count(b.id or 0) == 1  # c answered b directly
    assert c.id not in replies
    assert get_issue(db, issue.id).comment_count == 4


def test_a_reply_to_a_comment_of_another_issue_is_refused(db: Database, people: People) -> None:
    first = make_deliberating_issue(db, people.world, people.chair)
    second = make_deliberating_issue(db, people.world, people.chair)
    top = comment(db, people, people.members[0], first, "第一条")
    with pytest.raises(ValidationFailed) as exc:
        comment(db, people, people.members[1], second, "回复", parent_id=top.id)
    assert exc.value.errors == {"parent_id": "comment_unknown"}


def test_comments_are_refused_before_deliberation(db: Database, people: People) -> None:
    issue = make_issue(db, people.world, people.members[0])
    with pytest.raises(Conflict) as exc:
        comment(db, people, people.members[1], issue, "太早了")
    assert exc.value.code == STAGE_ACTION


def test_comments_are_editable_for_ten_minutes(db: Database, people: People) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    author = people.members[0]
    start = clock.now()
    try:
        clock.freeze(start)
        made = comment(db, people, author, issue, "原文")
        assert made.edited_at is None
        clock.freeze(start + timedelta(minutes=9, seconds=59))
        edited = call(
            db,
            people,
            author,
            svc.edit_comment,
            comment_id=made.id,
            form=schemas.EditCommentForm(body=" 改过的 "),
        )
        assert edited.body == "改过的"  # type: ignore[attr-defined]
        with db.session(read_only=True) as session:
            stored = session.get(Comment, made.id)
            assert stored is not None
            assert stored.body == "改过的"
            assert stored.edited_at == start + timedelta(minutes=9, seconds=59)
        with pytest.raises(NotAllowed) as exc:  # someone else, inside the window
            call(
                db,
                people,
                people.members[1],
                svc.edit_comment,
                comment_id=made.id,
                form=schemas.EditCommentForm(body="篡改"),
            )
        assert exc.value.code == "edit_window_over"
        with pytest.raises(ValidationFailed):
            call(
                db,
                people,
                author,
                svc.edit_comment,
                comment_id=made.id,
                form=schemas.EditCommentForm(body=""),
            )
        clock.freeze(start + timedelta(minutes=10, seconds=1))
        with pytest.raises(NotAllowed) as exc:
            call(
                db,
                people,
                author,
                svc.edit_comment,
                comment_id=made.id,
                form=schemas.EditCommentForm(body="太晚了"),
            )
        assert exc.value.code == "edit_window_over"
    finally:
        clock.freeze(None)
    with db.session(read_only=True) as session:
        stored = session.get(Comment, made.id)
        assert stored is not None
        assert stored.body == "改过的"
    assert len(events(db, "issues.edit_comment", made.id)) == 1


def test_report_once_then_hide_with_a_reason_then_restore(db: Database, people: People) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    author, r1, r2 = people.members[0], people.members[1], people.members[2]
    bad = comment(db, people, author, issue, "骂人的话", stance=Stance.OPPOSE)

    def report(user: User, reason: str = "人身攻击") -> object:
        return call(
            db,
            people,
            user,
            svc.report_comment,
            comment_id=bad.id,
            form=schemas.ReasonForm(reason=reason),
        )

    with pytest.raises(ValidationFailed):
        report(r1, "")
    report(r1)
    with pytest.raises(Conflict) as exc:
        report(r1, "再举报一次")
    assert exc.value.code == "already_reported"
    report(r2, "不文明")
    with db.session(read_only=True) as session:
        open_reports = count(
            session,
            CommentReport,
            CommentReport.comment_id == bad.id,
            col(CommentReport.resolved_at).is_(None),
        )
    assert open_reports == 2

    with pytest.raises(NotAllowed):
        call(
            db,
            people,
            r1,
            svc.hide_comment,
            comment_id=bad.id,
            form=schemas.ReasonForm(reason="违反公约"),
        )
    with pytest.raises(ValidationFailed) as exc_v:
        call(
            db,
            people,
            people.chair,
            svc.hide_comment,
            comment_id=bad.id,
            form=schemas.ReasonForm(reason=" "),
        )
    assert exc_v.value.errors == {"reason": "required"}
    call(
        db,
        people,
        people.chair,
        svc.hide_comment,
        comment_id=bad.id,
        form=schemas.ReasonForm(reason="违反居民公约第三条"),
    )
    with db.session(read_only=True) as session:
        hidden = session.get(Comment, bad.id)
        assert hidden is not None
        assert hidden.hidden_at is not None
        assert (hidden.hidden_reason, hidden.hidden_by_id) == (
            "违反居民公约第三条",
            people.chair.id,
        )
        reports = session.exec(
            select(CommentReport).where(CommentReport.comment_id == bad.id)
        ).all()
        assert len(reports) == 2
        assert all(r.resolved_at is not None for r in reports)
    assert events(db, "issues.hide_comment", bad.id) == [{"reason": "违反居民公约第三条"}]

    with pytest.raises(NotAllowed):
        call(db, people, author, svc.restore_comment, comment_id=bad.id)
    call(db, people, people.chair, svc.restore_comment, comment_id=bad.id)
    with db.session(read_only=True) as session:
        shown = session.get(Comment, bad.id)
        assert shown is not None
        assert (shown.hidden_at, shown.hidden_reason, shown.hidden_by_id) == (None, None, None)
    assert len(events(db, "issues.restore_comment", bad.id)) == 1
    assert len(events(db, "issues.report_comment", bad.id)) == 2


# ---------------------------------------------------------------------------------------------
# 方案 and closing deliberation


def solution(db: Database, people: People, user: User, issue: Issue, **form: object) -> Solution:
    values: dict[str, object] = {"title": unique("方案"), "description": "做法", **form}
    return call(  # type: ignore[return-value]
        db,
        people,
        user,
        svc.add_solution,
        issue_id=issue.id,
        form=schemas.SolutionForm(**values),
    )


@pytest.mark.parametrize(
    ("raw", "fen"),
    [
        ("12.50", 1250),
        ("12.5", 1250),
        ("0.01", 1),
        ("¥3,000", 300000),
        (" 80000元 ", 8000000),
        ("", None),
        ("0", 0),
    ],
)
def test_solution_costs_are_stored_exactly_in_fen(
    db: Database, people: People, raw: str, fen: int | None
) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    made = solution(db, people, people.members[0], issue, estimated_cost=raw)
    with db.session(read_only=True) as session:
        stored = session.get(Solution, made.id)
        assert stored is not None
        assert stored.estimated_cost_fen == fen
        assert stored.selected is False


@pytest.mark.parametrize("raw", ["-1", "12.345", "abc", "1e3", "１２", "12.5.0", ".5", "NaN"])
def test_bad_amounts_are_refused(db: Database, people: People, raw: str) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    with pytest.raises(ValidationFailed) as exc:
        solution(db, people, people.members[0], issue, estimated_cost=raw)
    assert exc.value.errors == {"estimated_cost": "amount_invalid"}
    with db.session(read_only=True) as session:
        assert count(session, Solution, Solution.issue_id == issue.id) == 0


def test_solutions_need_title_and_description_and_deliberation(
    db: Database, people: People
) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    with pytest.raises(ValidationFailed) as exc:
        solution(db, people, people.members[0], issue, title="", description="")
    assert exc.value.errors == {"title": "required", "description": "required"}
    collecting = make_issue(db, people.world, people.members[0])
    with pytest.raises(Conflict) as exc_c:
        solution(db, people, people.members[1], collecting)
    assert exc_c.value.code == STAGE_ACTION


def close(db: Database, people: People, issue: Issue, **form: object) -> Issue:
    values: dict[str, object] = {
        "agreements": "大家同意划线",
        "disagreements": "收费有分歧，已解释",
        **form,
    }
    return call(  # type: ignore[return-value]
        db,
        people,
        people.chair,
        svc.close_deliberation,
        issue_id=issue.id,
        form=schemas.CloseForm(**values),
    )


def test_closing_deliberation_needs_an_opinion_and_a_solution_of_this_issue(
    db: Database, people: People
) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    elsewhere = make_deliberating_issue(db, people.world, people.chair)
    foreign = solution(db, people, people.members[0], elsewhere)
    mine = solution(db, people, people.members[0], issue, estimated_cost="12.50")
    cases: list[tuple[dict[str, object], dict[str, str]]] = [
        ({"agreements": "", "solution_ids": [mine.id]}, {"agreements": "required"}),
        ({"disagreements": " ", "solution_ids": [mine.id]}, {"disagreements": "required"}),
        ({"solution_ids": []}, {"solution_ids": "solution_required"}),
        ({"solution_ids": [foreign.id]}, {"solution_ids": "solution_required"}),
        (
            {"agreements": "", "disagreements": "", "solution_ids": []},
            {
                "agreements": "required",
                "disagreements": "required",
                "solution_ids": "solution_required",
            },
        ),
    ]
    for form, errors in cases:
        with pytest.raises(ValidationFailed) as exc:
            close(db, people, issue, **form)
        assert exc.value.errors == errors
    with pytest.raises(NotAllowed):
        call(
            db,
            people,
            people.members[0],
            svc.close_deliberation,
            issue_id=issue.id,
            form=schemas.CloseForm(agreements="a", disagreements="b", solution_ids=[mine.id]),
        )
    assert get_issue(db, issue.id).stage == Stage.DELIBERATING
    with db.session(read_only=True) as session:
        assert (
            session.exec(
                select(ConsultationOpinion).where(ConsultationOpinion.issue_id == issue.id)
            ).first()
            is None
        )


def test_closing_deliberation_moves_to_deciding_with_the_chosen_solutions(
    db: Database, people: People
) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    chosen = solution(db, people, people.members[0], issue, estimated_cost="12.50")
    also = solution(db, people, people.chair, issue)
    left = solution(db, people, people.members[1], issue)
    closed = close(db, people, issue, solution_ids=[chosen.id, also.id])
    assert closed.stage == Stage.DECIDING
    with db.session(read_only=True) as session:
        flags = {
            s.id: s.selected
            for s in session.exec(select(Solution).where(Solution.issue_id == issue.id)).all()
        }
        opinion = session.exec(
            select(ConsultationOpinion).where(ConsultationOpinion.issue_id == issue.id)
        ).one()
    assert flags == {chosen.id: True, also.id: True, left.id: False}
    assert opinion is not None
    assert (opinion.agreements, opinion.disagreements, opinion.author_id) == (
        "大家同意划线",
        "收费有分歧，已解释",
        people.chair.id,
    )
    assert events(db, "issues.advance_issue_stage", issue.id)[-1] == {
        "from": "deliberating",
        "to": "deciding",
    }
    # the stage now refuses what only 民议 allows
    with pytest.raises(Conflict) as exc:
        solution(db, people, people.members[0], issue)
    assert exc.value.code == STAGE_ACTION
    with pytest.raises(Conflict) as exc:
        close(db, people, issue, solution_ids=[left.id])
    assert exc.value.code == STAGE_ACTION
    # commenting goes on while deciding
    comment(db, people, people.members[2], issue, "支持方案一", stance=Stance.SUPPORT)


def test_review_actions_are_refused_in_deliberation(db: Database, people: People) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    target = make_issue(db, people.world, people.members[0])
    attempts: list[tuple[object, dict[str, Any], str]] = [
        (svc.reject_issue, {"form": schemas.ReasonForm(reason="晚了")}, STAGE_ACTION),
        (svc.merge_issue, {"form": schemas.MergeForm(target_id=target.id)}, STAGE_ACTION),
        (svc.accept_issue, {"form": schemas.AcceptForm()}, STAGE_TRANSITION),
    ]
    for fn, kwargs, code in attempts:
        with pytest.raises(Conflict) as exc:
            call(db, people, people.chair, fn, issue_id=issue.id, **kwargs)
        assert exc.value.code == code, fn
    with pytest.raises(Conflict) as exc:
        cosign(db, people, people.members[1], issue)
    assert exc.value.code == STAGE_ACTION
    with pytest.raises(Conflict) as exc:  # the chair entered it, so the chair is the proposer
        call(db, people, people.chair, svc.withdraw_issue, issue_id=issue.id)
    assert exc.value.code == STAGE_ACTION
    assert get_issue(db, issue.id).stage == Stage.DELIBERATING


# ---------------------------------------------------------------------------------------------
# Scoping: ids of another hall are not found


def test_ids_from_another_hall_are_not_found(db: Database, people: People, other: People) -> None:
    collecting = make_issue(db, other.world, other.members[0])
    reviewing = call(
        db,
        other,
        other.chair,
        svc.enter_issue_on_behalf,
        form=schemas.OnBehalfIssueForm(
            title="别的社区", description="x", category=Category.OTHER, source=Source.PAPER
        ),
    )
    deliberating = make_deliberating_issue(db, other.world, other.chair)
    their_comment = comment(db, other, other.members[0], deliberating, "别处的评论")
    chair, member = people.chair, people.members[1]
    attempts: list[tuple[User, object, dict[str, object]]] = [
        (member, svc.cosign_issue, {"issue_id": collecting.id}),
        (member, svc.withdraw_cosign, {"issue_id": collecting.id}),
        (member, svc.withdraw_issue, {"issue_id": collecting.id}),
        (chair, svc.accept_issue, {"issue_id": reviewing.id, "form": schemas.AcceptForm()}),  # type: ignore[attr-defined]
        (
            chair,
            svc.reject_issue,
            {"issue_id": reviewing.id, "form": schemas.ReasonForm(reason="x")},  # type: ignore[attr-defined]
        ),
        (
            chair,
            svc.merge_issue,
            {"issue_id": reviewing.id, "form": schemas.MergeForm(target_id=collecting.id)},  # type: ignore[attr-defined]
        ),
        (
            member,
            svc.add_comment,
            {"issue_id": deliberating.id, "form": schemas.CommentForm(body="串门")},
        ),
        (
            member,
            svc.edit_comment,
            {"comment_id": their_comment.id, "form": schemas.EditCommentForm(body="改")},
        ),
        (
            member,
            svc.report_comment,
            {"comment_id": their_comment.id, "form": schemas.ReasonForm(reason="x")},
        ),
        (
            chair,
            svc.hide_comment,
            {"comment_id": their_comment.id, "form": schemas.ReasonForm(reason="x")},
        ),
        (chair, svc.restore_comment, {"comment_id": their_comment.id}),
        (
            member,
            svc.add_solution,
            {
                "issue_id": deliberating.id,
                "form": schemas.SolutionForm(title="t", description="d"),
            },
        ),
        (
            chair,
            svc.close_deliberation,
            {
                "issue_id": deliberating.id,
                "form": schemas.CloseForm(agreements="a", disagreements="b", solution_ids=[1]),
            },
        ),
    ]
    for user, fn, kwargs in attempts:
        with pytest.raises(NotFound):
            call(db, people, user, fn, **kwargs)
    # nothing changed over there
    assert get_issue(db, collecting.id).stage == Stage.COLLECTING
    assert get_issue(db, reviewing.id).stage == Stage.UNDER_REVIEW  # type: ignore[attr-defined]
    assert get_issue(db, deliberating.id).comment_count == 1
    with db.session(read_only=True) as session:
        untouched = session.get(Comment, their_comment.id)
        assert untouched is not None
        assert (untouched.body, untouched.hidden_at) == ("别处的评论", None)


def test_notifications_are_marked_read(db: Database, people: People) -> None:
    issue = make_deliberating_issue(db, people.world, people.chair)
    a, b = people.members[0], people.members[1]
    top = comment(db, people, a, issue, "第一")
    comment(db, people, b, issue, "回复", parent_id=top.id)
    with db.session() as session:
        assert svc.mark_notifications_read(session=session, user=a) >= 1
    with db.session() as session:
        assert svc.mark_notifications_read(session=session, user=a) == 0


def test_a_tenant_of_the_building_is_in_its_scope(db: Database, people: People) -> None:
    building, _ = home_of(db, people, 0)
    scoped = make_issue(
        db, people.world, people.members[0], scope=Scope.BUILDING, scope_building_id=building
    )
    tenant, _ = make_member(
        db, people.world, household_index=0, relation=Relation.TENANT, chair=people.chair
    )
    assert cosign(db, people, tenant, scoped).cosign_count == 1


# ---------------------------------------------------------------------------------------------


def test_the_audit_chain_still_verifies(db: Database, people: People) -> None:
    """Runs last in this module: everything above appended to one unbroken chain."""
    with db.session(read_only=True) as session:
        verdict = audit.verify_chain(session)
        assert verdict.ok, verdict
        assert count(session, AuditEvent, col(AuditEvent.action).startswith("issues.")) > 0


def test_a_reply_takes_no_stance_and_is_in_no_stance_count(db: Database, people: People) -> None:
    """Issue #14: a reply answers a comment; it counts as a comment, never as 中立, and hiding
    or showing it moves no stance count."""
    issue = make_deliberating_issue(db, people.world, people.chair)
    top = comment(db, people, people.members[0], issue, "建议划线停车", stance=Stance.SUGGEST)
    reply = comment(db, people, people.members[1], issue, "同意", parent_id=top.id)
    stored = get_issue(db, issue.id)
    assert (stored.comment_count, stored.suggest_count, stored.neutral_count) == (2, 1, 0)
    for hide in (True, False):
        call(
            db,
            people,
            people.chair,
            svc.hide_comment if hide else svc.restore_comment,
            comment_id=reply.id,
            **({"form": schemas.ReasonForm(reason="离题")} if hide else {}),
        )
        stored = get_issue(db, issue.id)
        assert (stored.suggest_count, stored.neutral_count) == (1, 0)
    call(
        db,
        people,
        people.chair,
        svc.hide_comment,
        comment_id=top.id,
        form=schemas.ReasonForm(reason="离题"),
    )
    assert get_issue(db, issue.id).suggest_count == 0  # a hidden top comment still leaves
