"""Opening a ballot: the electorate (投票人名单) is frozen with its weights and voting starts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.privacy import mask_room
from app.db import locked
from app.halls.models import (
    Building,
    Entrance,
    Household,
    Membership,
    MembershipRole,
    MembershipStatus,
    Role,
    UnitOwnership,
)
from app.halls.policies import HallAccess
from app.issues import service as issues
from app.issues.lifecycle import Stage
from app.issues.models import Scope
from app.meetings import queries as meeting_queries
from app.meetings.models import Meeting, MeetingStatus
from app.voting import ledger, policies, queries
from app.voting import roll as owner_roll
from app.voting.models import (
    Ballot,
    BallotStatus,
    LedgerKind,
    RollCaster,
    RollEntry,
    VoterUnit,
)
from app.voting.rules import ROLE_ELECTORATES, RuleKind
from app.voting.service._common import (
    _append,
    _ballot,
    _issue,
    _require,
    _status,
)


@dataclass
class _Entry:
    key: str
    label: str
    masked: str  # the label with room numbers masked: what officers see (PRIV-02)
    sort_key: str
    weight: int = 0
    units: int = 1
    casters: set[int] | None = None


@dataclass(frozen=True)
class _Flat:
    household: Household
    label: str  # 3号楼2单元501
    masked: str  # 3号楼2单元5**
    sort_key: str


def _households_in_scope(session: Session, ballot: Ballot) -> list[_Flat]:
    """Every 户 in the ballot's scope, with its address in full and masked."""
    query = (
        select(Household, Entrance, Building)
        .join(Entrance, col(Entrance.id) == Household.entrance_id)
        .join(Building, col(Building.id) == Entrance.building_id)
        .where(Household.hall_id == ballot.hall_id)
    )
    if ballot.scope == Scope.BUILDING:
        query = query.where(Entrance.building_id == ballot.scope_building_id)
    elif ballot.scope == Scope.ENTRANCE:
        query = query.where(Household.entrance_id == ballot.scope_entrance_id)
    rows = session.exec(query).all()
    return [
        _Flat(
            h,
            f"{b.name}{e.name}{h.room}",
            f"{b.name}{e.name}{mask_room(h.room)}",
            f"{b.sort_key:06d}{b.name}|{e.sort_key:06d}{e.name}|{h.room:>8}",
        )
        for h, e, b in rows
    ]


def _roll_entries(session: Session, ballot: Ballot) -> list[_Entry]:
    """The electorate of the ballot as it stands now; frozen by open_ballot."""
    hall_id = ballot.hall_id
    verified = (Membership.hall_id == hall_id) & (Membership.status == MembershipStatus.VERIFIED)
    if ballot.rule in ROLE_ELECTORATES:
        role = Role(ROLE_ELECTORATES[ballot.rule])
        people = session.exec(
            select(User.id, User.name)
            .join(Membership, col(Membership.user_id) == User.id)
            .join(MembershipRole, col(MembershipRole.membership_id) == Membership.id)
            .where(verified, MembershipRole.role == role)
        ).all()
        return [
            _Entry(f"u:{uid}", name, name, f"{name}|{uid:09d}", casters={uid or 0})
            for uid, name in people
        ]
    by_id = {flat.household.id or 0: flat for flat in _households_in_scope(session, ballot)}
    members = session.exec(
        select(Membership.household_id, Membership.user_id, User.name)
        .join(User, col(User.id) == Membership.user_id)
        .where(verified, col(Membership.household_id).in_(list(by_id)))
    ).all()
    if ballot.voter_unit == VoterUnit.PERSON:
        return [
            _Entry(
                f"u:{uid}",
                f"{name} · {by_id[hid].label}",
                f"{name} · {by_id[hid].masked}",
                f"{by_id[hid].sort_key}|{uid:09d}",
                casters={uid},
            )
            for hid, uid, name in members
            if hid is not None and hid in by_id
        ]
    if ballot.voter_unit == VoterUnit.HOUSEHOLD:
        casters: dict[int, set[int]] = {}
        for hid, uid, _ in members:
            casters.setdefault(hid or 0, set()).add(uid)
        return [
            _Entry(
                f"h:{hid}", flat.label, flat.masked, flat.sort_key, casters=casters.get(hid, set())
            )
            for hid, flat in by_id.items()
        ]
    return _owner_entries(session, ballot, by_id)


def _owner_entries(session: Session, ballot: Ballot, by_id: dict[int, _Flat]) -> list[_Entry]:
    """Owners (民法典 278): the flats in scope and their verified owners, merged into voters by
    app.voting.roll (an owner of several flats is one head with the sum of their areas; a flat
    with several co-owners is one head; a flat with no registered owner is a voter of its own)."""
    missing = [flat.label for flat in by_id.values() if not flat.household.area_centi_m2]
    if missing:
        raise ValidationFailed({"_": "area_missing"})
    owned = session.exec(
        select(UnitOwnership.household_id, Membership.user_id)
        .join(Membership, col(Membership.id) == UnitOwnership.membership_id)
        .where(
            UnitOwnership.hall_id == ballot.hall_id,
            Membership.status == MembershipStatus.VERIFIED,
            col(UnitOwnership.household_id).in_(list(by_id)),
        )
    ).all()
    flats = [
        owner_roll.Flat(
            hid, flat.household.area_centi_m2 or 0, flat.label, flat.masked, flat.sort_key
        )
        for hid, flat in by_id.items()
    ]
    return [
        _Entry(
            key=entry.key,
            label=entry.label,
            masked=entry.masked,
            sort_key=entry.sort_key,
            weight=entry.area_centi_m2,
            units=len(entry.flats),
            casters=set(entry.owners),
        )
        for entry in owner_roll.owner_entries(flats, owned)
    ]


def _meeting_in_quorum(session: Session, ballot: Ballot) -> Meeting:
    """The meeting a ballot is held at, locked (FOR UPDATE: a sign-in waits for the roll to be
    frozen, then marks its voter present on it), if it has its quorum now; else Conflict with
    what is needed and how many are missing, as the meeting page shows it."""
    meeting = session.exec(
        locked(
            select(Meeting).where(
                Meeting.id == ballot.meeting_id, Meeting.hall_id == ballot.hall_id
            )
        )
    ).first()
    if meeting is None:
        raise NotFound("not_found")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("meeting_cancelled")
    answer = meeting_queries.attendance(session, meeting)
    if not answer.quorum_met:
        needed = answer.quorum_needed or 0
        raise Conflict(
            "meeting_quorum_not_met",
            present=answer.present,
            expected=answer.expected,
            needed=needed,
            short=needed - answer.present,
        )
    return meeting


def open_ballot(*, session: Session, access: HallAccess, actor: User, ballot_id: int) -> Ballot:
    """Freeze the electorate with its weights and open voting (VOTE-05).

    Rules: only a draft opens; owners' ballots need every unit's area; the roll's hash, size
    and total area go into the ledger's first event. Later roster changes touch nothing here.
    A ballot held at a meeting opens only while the meeting has its quorum, and its roll
    marks present (实到) whoever is signed in to the meeting; later sign-ins mark theirs
    (app.meetings.service), so the per-ballot attendance is a view of the meeting's.
    Raises: NotAllowed, NotFound, Conflict (status, quorum), ValidationFailed (empty roll,
    areas).
    """
    _require(policies.can_manage(access))
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.DRAFT)
    if ballot.rule == RuleKind.CONSENSUS:
        raise Conflict("consensus_has_no_vote")
    issue = _issue(session, access.hall_id, ballot.issue_id)
    if issue.stage != Stage.DECIDING:
        raise Conflict("stage_action_not_allowed")
    meeting = _meeting_in_quorum(session, ballot) if ballot.meeting_id is not None else None
    entries = _roll_entries(session, ballot)
    if not entries:
        raise ValidationFailed({"_": "roll_empty"})
    entries.sort(key=lambda e: e.sort_key)
    present = meeting_queries.present(session, meeting).keys() if meeting else frozenset()
    for entry in entries:
        row = RollEntry(
            hall_id=ballot.hall_id,
            ballot_id=ballot.id or 0,
            voter_key=entry.key,
            label=entry.label[:120],
            masked_label=entry.masked[:120],
            sort_key=entry.sort_key[:120],
            weight_centi_m2=entry.weight,
            units=entry.units,
            present=entry.key in present,
        )
        session.add(row)
        session.flush()
        for uid in sorted(entry.casters or ()):
            session.add(RollCaster(ballot_id=ballot.id or 0, roll_id=row.id or 0, user_id=uid))
    # Everyone who may cast a vote on this roll hears that it is open (issue #14), and no one
    # else: a council ballot is not announced to the residents who follow the issue.
    casters = {uid for entry in entries for uid in entry.casters or ()} - {actor.id or 0}
    issues.notify_users(session, issue, casters, kind="ballot_open", text=ballot.title)
    now = clock.now()
    if ballot.closes_at is not None:
        ballot.closes_at = now + (ballot.closes_at - ballot.created_at)
    ballot.status = BallotStatus.OPEN
    ballot.opened_at = now
    ballot.roll_hash = ledger.roll_hash((e.key, e.weight) for e in entries)
    ballot.roll_count = len(entries)
    ballot.roll_area_centi_m2 = sum(e.weight for e in entries)
    _append(
        session,
        ballot,
        LedgerKind.OPEN,
        {
            "roll_hash": ballot.roll_hash,
            "roll_count": ballot.roll_count,
            "roll_area": ballot.roll_area_centi_m2,
            "rule": ballot.rule.value,
            "unit": ballot.voter_unit.value,
            "options": [code for code, _ in queries.option_codes(session, ballot.id or 0)],
        },
    )
    audit.record(
        session,
        action="voting.open_ballot",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"roll_hash": ballot.roll_hash, "roll_count": ballot.roll_count},
    )
    session.commit()
    return ballot
