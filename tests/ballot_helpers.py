"""Builders for ballot tests: a hall of owners from one roster import, and a ballot through
the voting service. Roster-imported people have no password (argon2 would make a hall of
hundreds of owners slow); they act through the services, not through a login.
"""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from app.accounts.models import User
from app.db import Database
from app.halls import queries as hall_queries
from app.halls import roster
from app.halls import service as halls
from app.halls.models import Household
from app.halls.policies import HallAccess
from app.issues.models import Issue
from app.voting import schemas, service
from app.voting.models import Ballot
from app.voting.rules import RuleKind
from tests.factories import HallWorld, make_admin, unique, unique_phone


def sid() -> str:
    return str(uuid.uuid4())


def owner_rows(owners: int) -> list[list[str]]:
    """Roster rows: building of 500 flats in 5 entrances, 25 floors × 4 flats; one owner each."""
    rows = [list(roster.COLUMNS)]
    for i in range(owners):
        building, entrance = i // 500 + 1, i % 500 // 100 + 1
        room = f"{i % 100 // 4 + 1}{i % 4 + 1:02d}"
        area = f"{60 + i % 60}.{i * 7 % 100:02d}"
        rows.append(
            [f"{building}号楼", f"{entrance}单元", room, area, f"业主{i}", unique_phone(), "业主"]
        )
    return rows


def make_owners_hall(db: Database, *, owners: int) -> tuple[HallWorld, list[User]]:
    """A hall of `owners` flats, each with one verified owner, imported in one transaction.

    Returns the world and the owners in roster order (owner i owns household i)."""
    admin = make_admin(db)
    table = owner_rows(owners)
    with db.session() as session:
        street = halls.create_street(
            session=session, district="东城区", name=unique("表决街道"), actor_id=admin.id
        )
        hall = halls.create_hall(
            session=session, street=street, name=unique("表决社区"), address="", actor_id=admin.id
        )
        access = HallAccess(user_id=admin.id, hall_id=hall.id or 0, is_platform_admin=True)
        halls.import_roster(
            session=session, access=access, actor=admin, roster=roster.parse_rows(table)
        )
        by_phone = {
            u.phone: u
            for u in session.exec(
                select(User).where(col(User.phone).in_([row[5] for row in table[1:]]))
            ).all()
        }
        households = list(
            session.exec(
                select(Household).where(Household.hall_id == hall.id).order_by(col(Household.id))
            ).all()
        )
    return HallWorld(street, hall, admin, households), [by_phone[row[5]] for row in table[1:]]


def access_of(db: Database, world: HallWorld, user: User) -> HallAccess:
    with db.session(read_only=True) as session:
        return hall_queries.hall_access(session, user=user, hall=world.hall)


def draft_ballot(
    db: Database, world: HallWorld, chair: User, issue: Issue, **values: object
) -> Ballot:
    form = schemas.BallotForm(**{"title": "是否同意更换电梯", **values})  # type: ignore[arg-type]
    with db.session() as session:
        return service.create_ballot(
            session=session,
            access=access_of(db, world, chair),
            actor=chair,
            issue_id=issue.id or 0,
            form=form,
        )


def open_ballot(db: Database, world: HallWorld, chair: User, ballot: Ballot) -> Ballot:
    with db.session() as session:
        return service.open_ballot(
            session=session,
            access=access_of(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )


def cast(
    db: Database,
    world: HallWorld,
    voter: User,
    ballot_id: int,
    option: str,
    key: str | None = None,
    *,
    access: HallAccess | None = None,
) -> service.Receipt:
    with db.session() as session:
        return service.cast_vote(
            session=session,
            access=access or access_of(db, world, voter),
            actor=voter,
            ballot_id=ballot_id,
            form=schemas.VoteForm(option=option, submission_id=key or sid()),
        )


def owners_ballot(
    db: Database, world: HallWorld, chair: User, issue: Issue, **values: object
) -> Ballot:
    """An open owners' ballot (民法典 278 items 1–5) over the whole hall."""
    ballot = draft_ballot(db, world, chair, issue, rule=RuleKind.OWNERS_ORDINARY, **values)
    return open_ballot(db, world, chair, ballot)
