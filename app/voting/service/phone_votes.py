"""Phone votes, many in one transaction (group commit, issue #11).

`cast_votes` is `service.cast_vote` for a batch: the same rules, checked in the same order, in
the order the votes arrived, with the same answers (a receipt, or the error that vote alone
would have got), in one write transaction with one durable commit. It reads what the batch
needs in one statement each (the ballots, locked; retried submissions; the voters' roll
entries; the options; who already has a current vote) and writes with executemany: the
retired votes, the new votes, the ledger events, each ballot's new head. A vote whose rules
fail is left out of the transaction and answered with its error; the others go on.

The caller (app/voting/ballot_box.py) answers each request only after `cast_votes` has
returned, that is after the commit (synchronous=FULL on SQLite): an acknowledged vote
survives a power cut, and a crash before the commit loses only unacknowledged votes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from app.core import clock
from app.core.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from app.db import locked
from app.halls.models import Membership, MembershipStatus
from app.voting import ledger, schemas
from app.voting.models import (
    Ballot,
    BallotOption,
    Channel,
    LedgerEvent,
    LedgerKind,
    RollCaster,
    RollEntry,
    Vote,
)
from app.voting.service.casting import Receipt, closed_to_votes, vote_data


@dataclass(frozen=True, slots=True)
class PhoneVote:
    """One voter's vote on the phone, as the route parsed it."""

    hall_id: int
    ballot_id: int
    user_id: int
    is_platform_admin: bool  # sees every hall (and votes in none it is not a member of)
    option: str
    submission_id: str
    consent: bool


Outcome = Receipt | DomainError


class _Roll(NamedTuple):
    """The roll entry a voter casts for."""

    id: int
    voter_key: str
    weight_centi_m2: int


@dataclass(slots=True)
class _Chain:
    """A ballot's state during the batch: its head moves with every accepted vote."""

    ballot: Ballot
    height: int
    head: str
    options: dict[str, int] = field(default_factory=dict)  # code → option id
    current: set[int] = field(default_factory=set)  # roll ids with a current vote


def _check(vote: PhoneVote, chain: _Chain | None, verified: bool) -> DomainError | None:
    """What the route's hall dependencies and service.cast_vote check before the roll, in
    their order: the hall exists for the caller (a verified member; the platform admin
    sees all), the submission id, the hall's ballot."""
    if not (verified or vote.is_platform_admin):
        return NotFound("not_found")
    if not schemas.is_submission_id(vote.submission_id):
        return ValidationFailed({"option": "submission_invalid"})
    if chain is None:
        return NotFound("not_found")
    return None


def cast_votes(*, session: Session, votes: list[PhoneVote]) -> list[Outcome]:
    """Cast `votes` in one transaction; each gets its receipt or its own error.

    Rules (per vote, as the hall's dependencies and service.cast_vote): the caller is a
    verified member of the hall (else 404, as for a hall they cannot see); a well-formed submission id; the hall's ballot;
    a retried submission gets its first receipt (another option: submission_reused); open and
    before the planned close; a verified member on the frozen roll; a known option; consent
    on a named ballot. Re-votes retire the earlier vote, also within the batch.
    """
    now = clock.now()
    outcomes: list[Outcome | None] = [None] * len(votes)
    ballot_ids = sorted({v.ballot_id for v in votes})
    ballots = session.exec(
        locked(select(Ballot).where(col(Ballot.id).in_(ballot_ids)).order_by(col(Ballot.id)))
    ).all()
    chains = {
        b.id: _Chain(ballot=b, height=b.height, head=b.head_hash or ledger.GENESIS) for b in ballots
    }

    def chain_of(vote: PhoneVote) -> _Chain | None:
        chain = chains.get(vote.ballot_id)
        return chain if chain is not None and chain.ballot.hall_id == vote.hall_id else None

    # Retried submissions: their first answer (VOTE-04).
    submissions = [v.submission_id for v in votes]
    answered = {  # submission id → its first answer
        row[0]: Receipt(row[1], row[2], row[5], Channel(row[3]), row[4], False)
        for row in session.execute(
            sa.select(
                col(Vote.submission_id),
                col(Vote.ballot_id),
                col(Vote.receipt),
                col(Vote.channel),
                col(Vote.cast_at),
                col(BallotOption.code),
            )
            .join(BallotOption, col(BallotOption.id) == Vote.option_id)
            .where(col(Vote.submission_id).in_(submissions))
        ).all()
    }
    rolls = {
        (row[0], row[1]): _Roll(*row[2:])
        for row in session.execute(
            sa.select(
                col(RollCaster.ballot_id),
                col(RollCaster.user_id),
                col(RollEntry.id),
                col(RollEntry.voter_key),
                col(RollEntry.weight_centi_m2),
            )
            .join(RollEntry, col(RollEntry.id) == RollCaster.roll_id)
            .where(
                col(RollCaster.ballot_id).in_(ballot_ids),
                col(RollCaster.user_id).in_({v.user_id for v in votes}),
            )
        ).all()
    }
    for option_id, ballot_id, code in session.exec(
        select(BallotOption.id, BallotOption.ballot_id, BallotOption.code).where(
            col(BallotOption.ballot_id).in_(ballot_ids)
        )
    ).all():
        if ballot_id in chains:
            chains[ballot_id].options[code] = option_id or 0
    verified = set(
        session.exec(
            select(Membership.hall_id, Membership.user_id).where(
                col(Membership.hall_id).in_({v.hall_id for v in votes}),
                col(Membership.user_id).in_({v.user_id for v in votes}),
                Membership.status == MembershipStatus.VERIFIED,
            )
        ).all()
    )
    roll_ids = {entry.id for entry in rolls.values()}
    for ballot_id, roll_id in session.exec(
        select(Vote.ballot_id, Vote.roll_id).where(
            col(Vote.ballot_id).in_(ballot_ids),
            col(Vote.roll_id).in_(roll_ids),
            col(Vote.is_current).is_(True),
        )
    ).all():
        chains[ballot_id].current.add(roll_id)
    retire: set[tuple[int, int]] = set()  # (ballot, roll) whose stored current vote retires

    new_votes: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    latest: dict[tuple[int, int], dict[str, object]] = {}  # (ballot, roll) → its newest row
    for i, vote in enumerate(votes):
        chain = chain_of(vote)
        is_verified = (vote.hall_id, vote.user_id) in verified
        if problem := _check(vote, chain, is_verified):
            outcomes[i] = problem
            continue
        assert chain is not None
        ballot = chain.ballot
        first = answered.get(vote.submission_id)  # stored earlier, or earlier in this batch
        if first is not None:
            outcomes[i] = (
                ValidationFailed({"option": "submission_reused"})
                if first.ballot_id != ballot.id or first.option_code != vote.option
                else replace(first, replaced=False)
            )
            continue
        if problem := closed_to_votes(ballot, now):
            outcomes[i] = problem
            continue
        if not is_verified:
            outcomes[i] = NotAllowed("not_on_roll")
            continue
        roll = rolls.get((ballot.id or 0, vote.user_id))
        if roll is None:
            outcomes[i] = NotAllowed("not_on_roll")
            continue
        option_id = chain.options.get(vote.option)
        if option_id is None:
            outcomes[i] = ValidationFailed({"option": "option_required"})
            continue
        if not ballot.secret and not vote.consent:
            outcomes[i] = ValidationFailed({"consent": "named_vote_consent_required"})
            continue
        roll_id = roll.id or 0
        key = (ballot.id or 0, roll_id)
        replaced = roll_id in chain.current
        if replaced and key not in latest:
            retire.add(key)
        elif key in latest:  # voted twice in this batch: the earlier row retires at once
            latest[key]["is_current"] = False
            latest[key]["superseded_at"] = now
        chain.current.add(roll_id)
        kind = LedgerKind.RECAST if replaced else LedgerKind.CAST
        height = chain.height + 1
        data = vote_data(
            ballot,
            roll.voter_key,
            roll.weight_centi_m2,
            vote.option,
            Channel.PHONE,
            vote.submission_id,
        )
        body = ledger.event_body(ballot.id, height, kind.value, now, data)
        digest = ledger.link_hash(chain.head, body)
        receipt_code = ledger.receipt_of(digest)
        events.append(
            {
                "ballot_id": ballot.id,
                "height": height,
                "hall_id": ballot.hall_id,
                "kind": kind,
                "at": now,
                "body": body,
                "prev_hash": chain.head,
                "hash": digest,
                "receipt": receipt_code,
            }
        )
        chain.height, chain.head = height, digest
        row: dict[str, object] = {
            "hall_id": ballot.hall_id,
            "ballot_id": ballot.id,
            "roll_id": roll_id,
            "option_id": option_id,
            "channel": Channel.PHONE,
            "cast_by_id": vote.user_id,
            "confirmed_by_id": None,
            "cast_at": now,
            "submission_id": vote.submission_id,
            "receipt": receipt_code,
            "is_current": True,
            "superseded_at": None,
        }
        new_votes.append(row)
        latest[key] = row
        receipt = Receipt(ballot.id or 0, receipt_code, vote.option, Channel.PHONE, now, replaced)
        answered[vote.submission_id] = receipt
        outcomes[i] = receipt
    if new_votes:
        for ballot_id in {b for b, _ in retire}:
            session.exec(
                update(Vote)
                .where(
                    col(Vote.ballot_id) == ballot_id,
                    col(Vote.roll_id).in_([r for b, r in retire if b == ballot_id]),
                    col(Vote.is_current).is_(True),
                )
                .values(is_current=False, superseded_at=now)
            )
        session.execute(insert(LedgerEvent), events)
        session.execute(insert(Vote), new_votes)
        for chain in chains.values():
            if chain.height != chain.ballot.height:
                session.exec(
                    update(Ballot)
                    .where(col(Ballot.id) == chain.ballot.id)
                    .values(height=chain.height, head_hash=chain.head)
                )
        session.commit()
    else:
        session.rollback()
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]
