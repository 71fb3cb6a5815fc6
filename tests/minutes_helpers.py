"""A meeting as held, for the minutes: a 议事会 with its members signed in, speeches noted under
its agenda items, ballots held at it (closed, their result frozen, a 决议 each), written as rows
(the live mode and the ballot services are other people's work: the minutes read their rows)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import select

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.halls import queries as hall_queries
from app.halls.policies import HallAccess
from app.meetings import schemas, service
from app.meetings.models import Meeting, MeetingItem, Speech
from app.meetings.rules import MeetingKind
from app.voting import rules as vrules
from app.voting.models import Ballot, BallotOption, BallotStatus, Resolution, VoterUnit
from tests import factories as f
from tests import meeting_helpers as mh

ITEMS = (
    "楼道堆物清理方案",
    "清理时间安排",
    "电动车集中充电点选址",
    "消防通道标线施划",
    "楼门长巡查制度",
    "费用与志愿者分工",
)
BALLOTS = ("楼道堆物集中清理方案", "清理时间定在周六上午", "充电点设在3号楼北侧")
SPEAKERS = (
    ("李建国", "居民代表"),
    ("张经理", "物业"),
    ("赵春梅", "议事会成员"),
    ("刘科长", "街道城管科"),
)


@dataclass
class Held:
    world: f.HallWorld
    chair: User
    recorder: User
    members: list[User]
    meeting: Meeting
    ballots: list[Ballot] = field(default_factory=list)


def access_of(db: Database, world: f.HallWorld, user: User) -> HallAccess:
    with db.session(read_only=True) as session:
        return hall_queries.hall_access(session, user=user, hall=world.hall)


def held_meeting(
    db: Database,
    *,
    items: int = 2,
    speeches: int = 4,
    ballots: int = 1,
    council: int = 3,
    present: int = 2,
    world: f.HallWorld | None = None,
) -> Held:
    """A 议事会 that has started: `council` members (the recorder among them), `present` of
    them signed in, a guest signed in and one invited who did not come, `items` agenda items,
    `speeches` speeches spread over them in order, `ballots` ballots held at it."""
    world = world or f.make_hall(db, buildings=1, entrances=2, rooms=max(4, council))
    chair = f.make_chair(db, world, name="王秀英")
    names = ["李建国", "赵春梅", "孙立华", "周大海", "吴桂兰", "郑国强"]
    members = []
    for i in range(council):
        name = names[i] if i < len(names) else f"成员{i}"
        user, _ = f.make_member(db, world, household_index=i, chair=chair, name=name)
        mh.give_roles(db, world, chair, user, "council")
        members.append(user)
    recorder = members[-1]
    form = mh.form(
        MeetingKind.COUNCIL,
        starts_in=timedelta(minutes=30),
        short_notice_reason="情况紧急",
        title="楼道堆物清理议事会",
        free_items=[
            ITEMS[i % len(ITEMS)] + ("" if i < len(ITEMS) else f"（{i + 1}）") for i in range(items)
        ],
        recorder_id=recorder.id,
        guests=[
            schemas.GuestIn(name="张经理", organisation="某某物业公司", kind="property"),
            schemas.GuestIn(name="陈代表", organisation="区人大", kind="deputy"),
        ],
    )
    meeting = mh.schedule(db, world, chair, form)
    for user in members[:present]:
        mh.tick(db, world, chair, meeting, user)
    with db.session() as session:
        service.sign_in_by_chair(
            session=session,
            access=hall_queries.hall_access(session, user=chair, hall=world.hall),
            actor=chair,
            meeting_id=meeting.id or 0,
            form=schemas.SignInForm(
                guest=schemas.GuestIn(name="张经理", organisation="某某物业公司", kind="property")
            ),
        )
    start(db, meeting)
    add_speeches(db, meeting, chair, speeches)
    held = Held(world, chair, recorder, members, meeting)
    for i in range(ballots):
        title = BALLOTS[i % len(BALLOTS)] + ("" if i < len(BALLOTS) else f"（{i + 1}）")
        held.ballots.append(add_ballot(db, held, title=title, yes=present))
    with db.session(read_only=True) as session:
        held.meeting = session.exec(select(Meeting).where(Meeting.id == meeting.id)).one()
    return held


def start(db: Database, meeting: Meeting) -> None:
    """The chair opened the meeting (the live mode's column, written as it would be)."""
    with db.session() as session:
        row = session.exec(select(Meeting).where(Meeting.id == meeting.id)).one()
        row.started_at = clock.now()
        session.add(row)
        session.commit()


def add_speeches(db: Database, meeting: Meeting, recorder: User, n: int) -> None:
    with db.session() as session:
        items = session.exec(select(MeetingItem).where(MeetingItem.meeting_id == meeting.id)).all()
        items = sorted(items, key=lambda i: i.position)
        for i in range(n):
            name, identity = SPEAKERS[i % len(SPEAKERS)]
            session.add(
                Speech(
                    hall_id=meeting.hall_id,
                    meeting_id=meeting.id or 0,
                    item_id=items[i * len(items) // n].id if items else None,
                    position=i + 1,
                    speaker_name=name,
                    identity=identity,
                    summary=f"第{i + 1}位发言：建议周末集中清理楼道堆物，物业提供车辆。",
                    recorded_by_id=recorder.id or 0,
                )
            )
        session.commit()


def add_ballot(db: Database, held: Held, *, title: str, yes: int, no: int = 0) -> Ballot:
    """A 议事会 ballot held at the meeting, closed, its result frozen, and its 决议 in 公示."""
    issue = f.make_issue(db, held.world, held.members[0], title=title[:40])
    roll = [vrules.RollVoter(f"u:{m.id}", 0, i < yes + no) for i, m in enumerate(held.members)]
    votes = {f"u:{m.id}": "yes" for m in held.members[:yes]}
    votes |= {f"u:{m.id}": "no" for m in held.members[yes : yes + no]}
    outcome = vrules.tally(vrules.RuleKind.COUNCIL_MAJORITY, (2, 3), roll, votes)
    now = clock.now()
    with db.session() as session:
        ballot = Ballot(
            hall_id=held.meeting.hall_id,
            issue_id=issue.id or 0,
            title=title,
            rule=vrules.RuleKind.COUNCIL_MAJORITY,
            voter_unit=VoterUnit.PERSON,
            status=BallotStatus.CLOSED,
            created_by_id=held.chair.id or 0,
            opened_at=now,
            closed_at=now,
            roll_count=len(roll),
            height=len(votes) + 2,
            head_hash=secrets.token_hex(32),
            ref_key=secrets.token_hex(16),
            result=json.dumps(vrules.result_data(outcome), ensure_ascii=False, sort_keys=True),
            passed=outcome.passed,
            meeting_id=held.meeting.id,
        )
        session.add(ballot)
        session.flush()
        for position, (code, label) in enumerate(
            (("yes", "同意"), ("no", "反对"), ("abstain", "弃权"))
        ):
            session.add(
                BallotOption(
                    hall_id=ballot.hall_id,
                    ballot_id=ballot.id or 0,
                    position=position,
                    code=code,
                    label=label,
                )
            )
        session.add(
            Resolution(
                hall_id=ballot.hall_id,
                issue_id=issue.id or 0,
                ballot_id=ballot.id or 0,
                passed=outcome.passed,
                text=vrules.resolution_text(title, outcome, {}),
                head_hash=ballot.head_hash,
                publicity_starts_at=now,
                publicity_ends_at=now + timedelta(days=7),
            )
        )
        session.commit()
        session.refresh(ballot)
        return ballot
