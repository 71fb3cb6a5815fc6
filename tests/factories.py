"""Builders for test data, all through the app's services (so the audit trail is real too).

Every builder makes unique names and phone numbers, so tests share one database per backend
without seeing each other's rows.
"""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass

from app.accounts import schemas as account_schemas
from app.accounts import service as accounts
from app.accounts.models import User
from app.db import Database
from app.halls import queries, roster, schemas, service
from app.halls.models import Hall, Household, Membership, Relation, Street
from app.halls.policies import HallAccess
from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.issues.models import Category, Issue, Source

PASSWORD = "correct horse battery"
_counter = itertools.count(random.randrange(10**6))


def unique_phone() -> str:
    # 8 digits from a per-process counter and the pid: unique across parallel test processes.
    n = (next(_counter) * 7919 + os.getpid()) % 10**8
    return f"13{random.choice('3456789')}{n:08d}"


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def without_place_names(text: str, world: HallWorld) -> str:
    """`text` without the hall's and the street's names, which end in a test counter's digits
    (测试社区101726): a check that no room or phone digits are printed looks past them."""
    return text.replace(world.hall.name, "").replace(world.street.name, "")


@dataclass
class HallWorld:
    street: Street
    hall: Hall
    admin: User
    households: list[Household]


def make_admin(db: Database) -> User:
    with db.session() as session:
        user, _ = accounts.create_admin(session=session, phone=unique_phone(), name="管理员")
    return user


def make_hall(db: Database, *, buildings: int = 2, entrances: int = 2, rooms: int = 4) -> HallWorld:
    """A street, a hall and a roster of households (no people)."""
    admin = make_admin(db)
    with db.session() as session:
        street = service.create_street(
            session=session, district="东城区", name=unique("测试街道"), actor_id=admin.id
        )
        hall = service.create_hall(
            session=session, street=street, name=unique("测试社区"), address="", actor_id=admin.id
        )
        table = [list(roster.COLUMNS)]
        for b in range(1, buildings + 1):
            for e in range(1, entrances + 1):
                table.extend(
                    [f"{b}号楼", f"{e}单元", f"{100 + r}", f"{60 + r}.25", "", "", ""]
                    for r in range(1, rooms + 1)
                )
        access = HallAccess(user_id=admin.id, hall_id=hall.id or 0, is_platform_admin=True)
        service.import_roster(
            session=session, access=access, actor=admin, roster=roster.parse_rows(table)
        )
        from sqlmodel import col, select

        households = list(
            session.exec(
                select(Household).where(Household.hall_id == hall.id).order_by(col(Household.id))
            ).all()
        )
    return HallWorld(street, hall, admin, households)


def make_user(
    db: Database, *, name: str = "居民", phone: str | None = None, password: str = PASSWORD
) -> User:
    with db.session() as session:
        form = account_schemas.RegisterForm(
            phone=phone or unique_phone(), name=name, password=password, consent=True
        )
        return accounts.register_user(session=session, form=form).user


def make_chair(db: Database, world: HallWorld, *, name: str = "王主任") -> User:
    user = make_user(db, name=name)
    with db.session() as session:
        access = HallAccess(
            user_id=world.admin.id, hall_id=world.hall.id or 0, is_platform_admin=True
        )
        service.appoint_chair(
            session=session, access=access, actor_id=world.admin.id, hall=world.hall, user=user
        )
    return user


def chair_access(db: Database, world: HallWorld, chair: User) -> HallAccess:
    with db.session() as session:
        return queries.hall_access(session, user=chair, hall=world.hall)


def make_member(
    db: Database,
    world: HallWorld,
    *,
    household_index: int = 0,
    relation: Relation = Relation.OWNER,
    verified: bool = True,
    chair: User | None = None,
    name: str = "居民",
) -> tuple[User, Membership]:
    user = make_user(db, name=name)
    with db.session() as session:
        form = schemas.JoinForm(
            household_id=world.households[household_index].id, relation=relation
        )
        membership = service.join_hall(
            session=session, user=user, token=world.hall.invite_token, form=form
        )
    if verified:
        chair = chair or make_chair(db, world)
        with db.session() as session:
            access = queries.hall_access(session, user=chair, hall=world.hall)
            membership = service.verify_member(
                session=session, access=access, actor=chair, membership_id=membership.id or 0
            )
    return user, membership


def join_pending(
    db: Database, world: HallWorld, user: User, *, household_index: int = 0
) -> Membership:
    """`user` asks to join the world's hall too (pending: the chair has not verified them)."""
    with db.session() as session:
        form = schemas.JoinForm(
            household_id=world.households[household_index].id, relation=Relation.OWNER
        )
        return service.join_hall(
            session=session, user=user, token=world.hall.invite_token, form=form
        )


# --- issues (民提 · 民议) ---------------------------------------------------------------------


def member_access(db: Database, world: HallWorld, user: User) -> HallAccess:
    """What `user` is in the world's hall (the same read the web layer does per request)."""
    return chair_access(db, world, user)


def set_hall_rules(db: Database, world: HallWorld, **values: int) -> Hall:
    """Set the hall's rules (cosign_threshold, review_sla_days …) directly, for a test."""
    with db.session() as session:
        hall = session.get(Hall, world.hall.id)
        assert hall is not None
        for key, value in values.items():
            setattr(hall, key, value)
        session.add(hall)
        session.commit()
        session.refresh(hall)
    world.hall = hall
    return hall


def make_issue(
    db: Database,
    world: HallWorld,
    proposer: User,
    *,
    uploads: tuple[bytes, ...] = (),
    **form: object,
) -> Issue:
    """An issue proposed by `proposer` through issues.service (it starts collecting)."""
    values: dict[str, object] = {
        "title": unique("楼道停车难"),
        "description": "晚上车位不够，消防通道被占。",
        "category": Category.PARKING,
        **form,
    }
    with db.session() as session:
        access = queries.hall_access(session, user=proposer, hall=world.hall)
        return issue_service.propose_issue(
            session=session,
            access=access,
            actor=proposer,
            form=issue_schemas.ProposeForm(**values),
            uploads=uploads,
        )


def make_deliberating_issue(db: Database, world: HallWorld, chair: User, **form: object) -> Issue:
    """An issue the chair entered from paper and accepted: it is in 民议 (deliberating)."""
    values: dict[str, object] = {
        "title": unique("加装电梯"),
        "description": "老人上下楼困难。",
        "category": Category.ELEVATOR,
        "source": Source.PAPER,
        **form,
    }
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        issue = issue_service.enter_issue_on_behalf(
            session=session,
            access=access,
            actor=chair,
            form=issue_schemas.OnBehalfIssueForm(**values),
        )
    with db.session() as session:
        return issue_service.accept_issue(
            session=session,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=issue_schemas.AcceptForm(),
        )


def make_deciding_issue(
    db: Database, world: HallWorld, chair: User, *, solutions: int = 2, **form: object
) -> tuple[Issue, list[int]]:
    """An issue in 表决中 with `solutions` 方案 selected by the 协商意见; returns their ids."""
    issue = make_deliberating_issue(db, world, chair, **form)
    ids = []
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        for n in range(solutions):
            solution = issue_service.add_solution(
                session=session,
                access=access,
                actor=chair,
                issue_id=issue.id or 0,
                form=issue_schemas.SolutionForm(title=f"方案{n + 1}", description="说明"),
            )
            ids.append(solution.id or 0)
        issue = issue_service.close_deliberation(
            session=session,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=issue_schemas.CloseForm(
                agreements="大家同意加装", disagreements="费用分摊有分歧，已解释", solution_ids=ids
            ),
        )
    return issue, ids
