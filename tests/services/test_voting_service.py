"""民决 service: ballots from draft to 公示, every channel, the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.accounts.models import User
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.db import Database
from app.halls.models import Household, Relation
from app.issues.lifecycle import Stage
from app.issues.models import Issue, Scope
from app.voting import ledger, queries, schemas, service
from app.voting.models import (
    Ballot,
    BallotStatus,
    LedgerEvent,
    PaperResult,
    RollEntry,
    Vote,
    VoterUnit,
)
from app.voting.rules import RuleKind
from tests import factories as f


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    clock.freeze(at)
    try:
        yield
    finally:
        clock.freeze(None)


def sid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def world(db: Database) -> f.HallWorld:
    return f.make_hall(db, buildings=2, entrances=2, rooms=4)


@pytest.fixture
def chair(db: Database, world: f.HallWorld) -> User:
    return f.make_chair(db, world)


def building_of(db: Database, world: f.HallWorld, index: int) -> int:
    with db.session() as s:
        from app.halls.models import Entrance

        household = s.get(Household, world.households[index].id)
        assert household is not None
        entrance = s.get(Entrance, household.entrance_id)
        assert entrance is not None
        return entrance.building_id


def draft(db: Database, world: f.HallWorld, chair: User, issue: Issue, **values: object) -> Ballot:
    form = schemas.BallotForm(**{"title": "是否同意加装电梯", **values})  # type: ignore[arg-type]
    with db.session() as s:
        return service.create_ballot(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            issue_id=issue.id or 0,
            form=form,
        )


def open_(db: Database, world: f.HallWorld, chair: User, ballot: Ballot) -> Ballot:
    with db.session() as s:
        return service.open_ballot(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )


def cast(
    db: Database,
    world: f.HallWorld,
    voter: User,
    ballot: Ballot,
    option: str,
    key: str | None = None,
) -> service.Receipt:
    with db.session() as s:
        return service.cast_vote(
            session=s,
            access=f.member_access(db, world, voter),
            actor=voter,
            ballot_id=ballot.id or 0,
            form=schemas.VoteForm(option=option, submission_id=key or sid()),
        )


def close(db: Database, world: f.HallWorld, chair: User, ballot: Ballot):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return service.close_ballot(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )


def owners(db: Database, world: f.HallWorld, chair: User, indexes: range) -> list[User]:
    return [
        f.make_member(
            db, world, household_index=i, relation=Relation.OWNER, chair=chair, name=f"业主{i}"
        )[0]
        for i in indexes
    ]


def test_owners_ballot_for_one_building_freezes_areas_and_passes_by_area_and_head(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, _ = f.make_deciding_issue(db, world, chair)
    building = building_of(db, world, 0)
    voters = owners(db, world, chair, range(0, 6))  # households 0–7 are building 1
    ballot = draft(
        db,
        world,
        chair,
        issue,
        rule=RuleKind.OWNERS_ORDINARY,
        scope=Scope.BUILDING,
        scope_building_id=building,
    )
    assert ballot.voter_unit == VoterUnit.OWNER
    ballot = open_(db, world, chair, ballot)
    assert ballot.status == BallotStatus.OPEN
    assert ballot.roll_count == 8
    # 61.25 … 64.25 m² in each entrance: 2 × (61.25 + 62.25 + 63.25 + 64.25) = 502.00 m²
    assert ballot.roll_area_centi_m2 == 50200
    # a later change to a flat's area touches nothing frozen (VOTE-05)
    with db.session() as s:
        h = s.get(Household, world.households[0].id)
        assert h is not None
        h.area_centi_m2 = 99999
        s.add(h)
        s.commit()
    receipts = [cast(db, world, v, ballot, "yes") for v in voters[:5]]
    cast(db, world, voters[5], ballot, "no")
    assert len({r.receipt for r in receipts}) == 5
    resolution = close(db, world, chair, ballot)
    assert resolution.passed
    with db.session() as s:
        stored = s.get(Ballot, ballot.id)
        assert stored is not None
        assert stored.passed
        data = queries.stored_result(stored)
        assert data is not None
        assert data["checks"][0]["id"] == "participation_area"
        assert data["checks"][0]["passed"] is True
        issue_now = s.get(Issue, issue.id)
        assert issue_now is not None
        assert issue_now.stage == Stage.PUBLICIZING
        assert stored.status == BallotStatus.PUBLISHED
        # the roll kept its frozen weights and hash
        weights = s.exec(
            select(RollEntry.voter_key, RollEntry.weight_centi_m2).where(
                RollEntry.ballot_id == ballot.id
            )
        ).all()
        assert ledger.roll_hash(weights) == stored.roll_hash
        assert sum(w for _, w in weights) == 50200


def test_revote_keeps_history_and_one_current_vote_and_double_tap_is_one_vote(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, _ = f.make_deciding_issue(db, world, chair)
    (voter,) = owners(db, world, chair, range(0, 1))
    ballot = open_(db, world, chair, draft(db, world, chair, issue, rule=RuleKind.OWNERS_ORDINARY))
    key = sid()
    first = cast(db, world, voter, ballot, "yes", key)
    again = cast(db, world, voter, ballot, "yes", key)  # a double tap: the same receipt
    assert again.receipt == first.receipt
    with pytest.raises(ValidationFailed) as info:
        cast(db, world, voter, ballot, "no", key)  # the same key for another vote: 422
    assert info.value.errors == {"option": "submission_reused"}
    second = cast(db, world, voter, ballot, "no")
    assert second.replaced
    assert second.receipt != first.receipt
    with db.session() as s:
        rows = s.exec(select(Vote).where(Vote.ballot_id == ballot.id).order_by(col(Vote.id))).all()
        assert [(r.is_current, r.receipt) for r in rows] == [
            (False, first.receipt),
            (True, second.receipt),
        ]
        kinds = s.exec(
            select(LedgerEvent.kind)
            .where(LedgerEvent.ballot_id == ballot.id)
            .order_by(col(LedgerEvent.height))
        ).all()
        assert [k.value for k in kinds] == ["open", "cast", "recast"]
        assert queries.turnout(s, s.get(Ballot, ballot.id)).by_option == {"no": 1}  # type: ignore[arg-type]


def test_the_database_refuses_a_second_current_vote(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, _ = f.make_deciding_issue(db, world, chair)
    (voter,) = owners(db, world, chair, range(0, 1))
    ballot = open_(db, world, chair, draft(db, world, chair, issue, rule=RuleKind.OWNERS_ORDINARY))
    cast(db, world, voter, ballot, "yes")
    with db.session() as s:
        vote = s.exec(select(Vote).where(Vote.ballot_id == ballot.id)).one()
        params = {
            "h": vote.hall_id,
            "b": vote.ballot_id,
            "r": vote.roll_id,
            "o": vote.option_id,
            "u": vote.cast_by_id,
            "t": clock.now(),
        }
        with pytest.raises(IntegrityError, match=r"(?i)unique") as info:
            s.execute(
                text(
                    "INSERT INTO vote (hall_id, ballot_id, roll_id, option_id, channel, cast_by_id, "
                    "cast_at, submission_id, receipt, is_current) VALUES (:h, :b, :r, :o, 'phone', :u, "
                    ":t, 'x-dup-1', 'DUPLICATE001', true)"
                ),
                params,
            )
        assert "uq_vote_current" in str(info.value) or "UNIQUE" in str(info.value)


def test_actions_in_the_wrong_state_are_refused(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, _ = f.make_deciding_issue(db, world, chair)
    (voter,) = owners(db, world, chair, range(0, 1))
    ballot = draft(db, world, chair, issue, rule=RuleKind.OWNERS_ORDINARY)
    with pytest.raises(Conflict) as info:
        cast(db, world, voter, ballot, "yes")
    assert info.value.code == "ballot_draft"
    with pytest.raises(Conflict):
        close(db, world, chair, ballot)
    open_(db, world, chair, ballot)
    with pytest.raises(Conflict) as info:
        open_(db, world, chair, ballot)
    assert info.value.code == "ballot_open"
    close(db, world, chair, ballot)
    with pytest.raises(Conflict) as info:
        cast(db, world, voter, ballot, "yes")
    assert info.value.code in {"ballot_closed", "ballot_published"}


def test_someone_off_the_roll_cannot_vote(db: Database, world: f.HallWorld, chair: User) -> None:
    issue, _ = f.make_deciding_issue(db, world, chair)
    building = building_of(db, world, 0)
    outsider = owners(db, world, chair, range(12, 13))[0]  # building 2
    ballot = open_(
        db,
        world,
        chair,
        draft(
            db,
            world,
            chair,
            issue,
            rule=RuleKind.OWNERS_ORDINARY,
            scope=Scope.BUILDING,
            scope_building_id=building,
        ),
    )
    with pytest.raises(NotAllowed):
        cast(db, world, outsider, ballot, "yes")


def test_paper_needs_two_officers_and_the_later_vote_counts(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, _ = f.make_deciding_issue(db, world, chair)
    (voter,) = owners(db, world, chair, range(0, 1))
    counter = f.make_member(db, world, household_index=9, chair=chair, name="计票人")[0]
    scrutineer = f.make_member(db, world, household_index=10, chair=chair, name="监票人")[0]
    ballot = draft(
        db,
        world,
        chair,
        issue,
        rule=RuleKind.OWNERS_ORDINARY,
        counter_ids=[counter.id],
        scrutineer_ids=[scrutineer.id],
    )
    ballot = open_(db, world, chair, ballot)
    phone = cast(db, world, voter, ballot, "yes")
    with db.session() as s:
        assert (
            service.issue_paper_ballots(
                session=s,
                access=f.chair_access(db, world, chair),
                actor=chair,
                ballot_id=ballot.id or 0,
            )
            == ballot.roll_count
        )
    with db.session() as s:
        papers = queries.paper_ballots(s, ballot.id or 0)
        code = next(
            p.code
            for p, r in papers
            if r.voter_key.startswith("o:") and r.id == phone_roll(s, ballot)
        )
    form = schemas.PaperEntryForm(
        code=code.lower().replace("-", " "),
        result=PaperResult.VOTE,
        option="no",
        submission_id=sid(),
    )
    with db.session() as s:
        entry = service.enter_paper(
            session=s,
            access=f.member_access(db, world, counter),
            actor=counter,
            ballot_id=ballot.id or 0,
            form=form,
        )
    access = f.member_access(db, world, counter)
    with db.session() as s, pytest.raises(NotAllowed):  # the same person cannot confirm
        service.confirm_paper(
            session=s,
            access=access,
            actor=counter,
            ballot_id=ballot.id or 0,
            entry_id=entry.id or 0,
            agree=True,
        )
    with db.session(read_only=True) as s:
        recon = queries.reconciliation(s, ballot.id or 0)
    assert (recon.issued, recon.returned, recon.pending, recon.valid) == (
        ballot.roll_count,
        1,
        1,
        0,
    )
    # The count cannot be closed while a reading waits for its 监票人: it would not count.
    with db.session() as s, pytest.raises(Conflict, match="paper_pending"):
        service.close_ballot(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )
    access = f.member_access(db, world, scrutineer)
    with db.session() as s:
        receipt = service.confirm_paper(
            session=s,
            access=access,
            actor=scrutineer,
            ballot_id=ballot.id or 0,
            entry_id=entry.id or 0,
            agree=True,
        )
    assert receipt is not None
    assert receipt.receipt != phone.receipt
    with db.session() as s:
        b = s.get(Ballot, ballot.id)
        assert b is not None
        assert queries.turnout(s, b).by_option == {"no": 1}
        assert queries.turnout(s, b).by_channel == {"paper": 1}
        recon = queries.reconciliation(s, ballot.id or 0)
        assert (recon.returned, recon.valid, recon.pending) == (1, 1, 0)
        history = s.exec(
            select(Vote.channel, Vote.is_current)
            .where(Vote.ballot_id == ballot.id)
            .order_by(col(Vote.id))
        ).all()
        assert [(c.value, cur) for c, cur in history] == [("phone", False), ("paper", True)]
        events = queries.ledger_events(s, ballot.id or 0)
        assert ledger.verify(events).ok
        assert len(ledger.replay(events)) == 1


def phone_roll(s, ballot: Ballot) -> int:  # type: ignore[no-untyped-def]
    vote = s.exec(
        select(Vote).where(Vote.ballot_id == ballot.id, col(Vote.is_current).is_(True))
    ).one()
    return int(vote.roll_id)


def test_objection_upheld_sends_the_issue_back_and_none_upheld_moves_to_implementation(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    (objector,) = owners(db, world, chair, range(3, 4))
    for upheld, expected in ((True, Stage.DELIBERATING), (False, Stage.IMPLEMENTING)):
        issue, _ = f.make_deciding_issue(db, world, chair)
        ballot = draft(db, world, chair, issue, rule=RuleKind.CONSENSUS)
        with db.session() as s:
            resolution = service.record_consensus(
                session=s,
                access=f.chair_access(db, world, chair),
                actor=chair,
                ballot_id=ballot.id or 0,
                form=schemas.ConsensusForm(passed=True, text="协商一致：采用方案1"),
            )
        assert resolution.publicity_ends_at is not None
        with db.session() as s:
            objection = service.file_objection(
                session=s,
                access=f.member_access(db, world, objector),
                actor=objector,
                issue_id=issue.id or 0,
                form=schemas.ObjectionForm(body="分摊方案对一层不公平"),
            )
        with frozen(resolution.publicity_ends_at + timedelta(seconds=1)):
            with db.session() as s, pytest.raises(Conflict) as info:
                service.end_publicity(
                    session=s,
                    access=f.chair_access(db, world, chair),
                    actor=chair,
                    issue_id=issue.id or 0,
                )
            assert info.value.code == "objections_open"
        with db.session() as s:
            service.answer_objection(
                session=s,
                access=f.chair_access(db, world, chair),
                actor=chair,
                objection_id=objection.id or 0,
                form=schemas.AnswerForm(answer="已调整", upheld=upheld),
            )
        with db.session() as s, pytest.raises(Conflict) as info:
            service.end_publicity(
                session=s,
                access=f.chair_access(db, world, chair),
                actor=chair,
                issue_id=issue.id or 0,
            )
        assert info.value.code == "publicity_not_over"
        with frozen(resolution.publicity_ends_at + timedelta(seconds=1)), db.session() as s:
            moved = service.end_publicity(
                session=s,
                access=f.chair_access(db, world, chair),
                actor=chair,
                issue_id=issue.id or 0,
            )
        assert moved.stage == expected


def test_a_failed_vote_waits_for_the_chair_to_choose(
    db: Database, world: f.HallWorld, chair: User
) -> None:
    issue, _ = f.make_deciding_issue(db, world, chair)
    (voter,) = owners(db, world, chair, range(0, 1))
    ballot = open_(db, world, chair, draft(db, world, chair, issue, rule=RuleKind.OWNERS_MAJOR))
    cast(db, world, voter, ballot, "no")
    resolution = close(db, world, chair, ballot)
    assert not resolution.passed
    with db.session(read_only=True) as s:
        assert (s.get(Issue, issue.id) or issue).stage == Stage.DECIDING
    access = f.chair_access(db, world, chair)
    with db.session() as s:
        moved = service.settle_failed(
            session=s,
            access=access,
            actor=chair,
            ballot_id=ballot.id or 0,
            form=schemas.FailedOutcomeForm(outcome="deliberate"),
        )
    assert moved.stage == Stage.DELIBERATING
