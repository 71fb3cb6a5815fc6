"""Builders for issue test data, through the issue services (so the audit trail is real)."""

from __future__ import annotations

import io

from PIL import Image

from app.accounts.models import User
from app.db import Database
from app.halls import queries as hall_queries
from app.issues import schemas, service
from app.issues.models import Category, Comment, Issue, Solution, Stance
from app.voting import schemas as vote_schemas
from app.voting import service as vote_service
from app.voting.models import Ballot
from app.voting.rules import RuleKind
from tests.factories import HallWorld


def _access(db: Database, world: HallWorld, user: User):  # type: ignore[no-untyped-def]
    with db.session(read_only=True) as session:
        return hall_queries.hall_access(session, user=user, hall=world.hall)


def propose(
    db: Database,
    world: HallWorld,
    user: User,
    *,
    title: str = "小区停车位不够",
    description: str = "晚上回家找不到车位",
    uploads: tuple[bytes, ...] = (),
) -> Issue:
    with db.session() as session:
        return service.propose_issue(
            session=session,
            access=_access(db, world, user),
            actor=user,
            form=schemas.ProposeForm(
                title=title, description=description, category=Category.PARKING
            ),
            uploads=uploads,
        )


def enter(db: Database, world: HallWorld, chair: User, *, title: str = "代录议题") -> Issue:
    """An issue straight into review (entered by the chair)."""
    with db.session() as session:
        return service.enter_issue_on_behalf(
            session=session,
            access=_access(db, world, chair),
            actor=chair,
            form=schemas.OnBehalfIssueForm(
                title=title, description="电话反映", category=Category.OTHER
            ),
        )


def accept(db: Database, world: HallWorld, chair: User, issue_id: int) -> Issue:
    with db.session() as session:
        return service.accept_issue(
            session=session,
            access=_access(db, world, chair),
            actor=chair,
            issue_id=issue_id,
            form=schemas.AcceptForm(),
        )


def deliberating(db: Database, world: HallWorld, chair: User, *, title: str = "协商议题") -> Issue:
    issue = enter(db, world, chair, title=title)
    return accept(db, world, chair, issue.id or 0)


def comment(
    db: Database,
    world: HallWorld,
    user: User,
    issue_id: int,
    *,
    body: str = "我同意",
    stance: Stance = Stance.SUPPORT,
    parent_id: int | None = None,
) -> Comment:
    with db.session() as session:
        return service.add_comment(
            session=session,
            access=_access(db, world, user),
            actor=user,
            issue_id=issue_id,
            form=schemas.CommentForm(body=body, stance=stance, parent_id=parent_id),
        )


def solution(db: Database, world: HallWorld, user: User, issue_id: int) -> Solution:
    with db.session() as session:
        return service.add_solution(
            session=session,
            access=_access(db, world, user),
            actor=user,
            issue_id=issue_id,
            form=schemas.SolutionForm(
                title="划线增加车位", description="把绿化带边划线", estimated_cost="1200"
            ),
        )


def jpeg_with_exif() -> bytes:
    """A small JPEG carrying EXIF (a camera make and a GPS block)."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    data = out.getvalue()
    assert b"Exif" in data
    assert b"TestCam" in data
    return data


def cosign(db: Database, world: HallWorld, user: User, issue_id: int) -> Issue:
    with db.session() as session:
        return service.cosign_issue(
            session=session, access=_access(db, world, user), actor=user, issue_id=issue_id
        )


def photo_id(db: Database, issue_id: int) -> int:
    from sqlmodel import select

    from app.issues.models import IssuePhoto

    with db.session(read_only=True) as session:
        found = session.exec(select(IssuePhoto.id).where(IssuePhoto.issue_id == issue_id)).first()
        assert found is not None
        return found


# --- 民决 ---------------------------------------------------------------------------------------


def close_deliberation(
    db: Database, world: HallWorld, chair: User, issue_id: int, solution_id: int
) -> Issue:
    with db.session() as session:
        return service.close_deliberation(
            session=session,
            access=_access(db, world, chair),
            actor=chair,
            issue_id=issue_id,
            form=schemas.CloseForm(
                agreements="共识", disagreements="分歧与回应", solution_ids=[solution_id]
            ),
        )


def ballot(
    db: Database,
    world: HallWorld,
    chair: User,
    issue_id: int,
    *,
    rule: str = "residents_meeting",
    opened: bool = True,
) -> Ballot:
    """A ballot for the whole hall, by person (residents' meeting) unless told otherwise."""
    with db.session() as session:
        made = vote_service.create_ballot(
            session=session,
            access=_access(db, world, chair),
            actor=chair,
            issue_id=issue_id,
            form=vote_schemas.BallotForm(title="表决", rule=RuleKind(rule)),
        )
    if not opened:
        return made
    with db.session() as session:
        return vote_service.open_ballot(
            session=session, access=_access(db, world, chair), actor=chair, ballot_id=made.id or 0
        )


def close_ballot(db: Database, world: HallWorld, chair: User, ballot_id: int) -> None:
    with db.session() as session:
        vote_service.close_ballot(
            session=session, access=_access(db, world, chair), actor=chair, ballot_id=ballot_id
        )


def publicize(db: Database, world: HallWorld, chair: User, issue_id: int) -> Ballot:
    """A 协商一致 recorded as passed: the issue is in 公示 (its consensus ballot is returned)."""
    made = ballot(db, world, chair, issue_id, rule="consensus", opened=False)
    with db.session() as session:
        vote_service.record_consensus(
            session=session,
            access=_access(db, world, chair),
            actor=chair,
            ballot_id=made.id or 0,
            form=vote_schemas.ConsensusForm(passed=True, text="协商一致：采用方案"),
        )
    return made


def objection(db: Database, world: HallWorld, user: User, issue_id: int) -> int:
    """An 异议 raised by `user` against the issue's 决议 in 公示; returns its id."""
    with db.session() as session:
        made = vote_service.file_objection(
            session=session,
            access=_access(db, world, user),
            actor=user,
            issue_id=issue_id,
            form=vote_schemas.ObjectionForm(body="分摊不公平"),
        )
    return made.id or 0
