"""民决 use cases. Each public function owns its transaction and writes the audit event.

Votes themselves are recorded in the ballot's own hash-chained ledger, in the same transaction
as the vote row (LOG-06): the ledger is the audit record of every cast, re-cast, in-person
vote, paper entry, void, open and close. Chair actions are also written to the hall's audit
trail.

Concurrency: on SQLite every write transaction is BEGIN IMMEDIATE; on PostgreSQL the ballot row
is locked (SELECT … FOR UPDATE) before anything is read, so a ballot's ledger never forks and
the partial unique index keeps one current vote per voter whatever the race. The locked read
replaces the session's copy of the ballot (app.db.locked): the routes' dependency has read it
before the lock, and a re-vote that waited for another one's lock must extend the new head.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select, update

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.core.privacy import mask_room
from app.db import locked
from app.halls.models import (
    Building,
    Entrance,
    Hall,
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
from app.issues.models import Issue, Scope, Solution
from app.voting import ledger, policies, queries, schemas
from app.voting import roll as owner_roll
from app.voting.models import (
    Ballot,
    BallotOfficer,
    BallotOption,
    BallotStatus,
    Channel,
    Duty,
    LedgerEvent,
    LedgerKind,
    Objection,
    OptionsKind,
    PaperBallot,
    PaperEntry,
    PaperResult,
    PaperStatus,
    Resolution,
    RollCaster,
    RollEntry,
    Vote,
    VoterUnit,
)
from app.voting.rules import RuleKind

YES_NO = (("yes", "同意"), ("no", "反对"), ("abstain", "弃权"))

# Which voter units each rule allows (the first is the default).
UNITS: dict[RuleKind, tuple[VoterUnit, ...]] = {
    RuleKind.CONSENSUS: (VoterUnit.PERSON,),
    RuleKind.COUNCIL_MAJORITY: (VoterUnit.PERSON,),
    RuleKind.RESIDENTS_MEETING: (VoterUnit.PERSON, VoterUnit.HOUSEHOLD),
    RuleKind.REPRESENTATIVES_MEETING: (VoterUnit.PERSON,),
    RuleKind.OWNERS_ORDINARY: (VoterUnit.OWNER,),
    RuleKind.OWNERS_MAJOR: (VoterUnit.OWNER,),
    RuleKind.INTERESTED_UNANIMOUS: (VoterUnit.OWNER,),
    RuleKind.PLURALITY: (VoterUnit.PERSON, VoterUnit.HOUSEHOLD, VoterUnit.OWNER),
}
# Rules decided at a meeting: attendance (实到) is the base of the quorum.
MEETING_RULES = frozenset(
    {RuleKind.COUNCIL_MAJORITY, RuleKind.RESIDENTS_MEETING, RuleKind.REPRESENTATIVES_MEETING}
)


@dataclass(frozen=True)
class Receipt:
    ballot_id: int
    receipt: str
    option_code: str
    channel: Channel
    cast_at: datetime
    replaced: bool  # an earlier vote of the same voter was retired


def _require(allowed: bool, code: str = "not_allowed") -> None:
    if not allowed:
        raise NotAllowed(code)


def _ballot(session: Session, hall_id: int, ballot_id: int, *, lock: bool = False) -> Ballot:
    """The hall's ballot; `lock` serialises writers of this ballot on PostgreSQL (SQLite's
    BEGIN IMMEDIATE already has)."""
    query = select(Ballot).where(Ballot.id == ballot_id, Ballot.hall_id == hall_id)
    ballot = session.exec(locked(query) if lock else query).first()
    if ballot is None:
        raise NotFound("not_found")
    return ballot


def _issue(session: Session, hall_id: int, issue_id: int, *, lock: bool = False) -> Issue:
    query = select(Issue).where(Issue.id == issue_id, Issue.hall_id == hall_id)
    issue = session.exec(locked(query) if lock else query).first()
    if issue is None:
        raise NotFound("not_found")
    return issue


def _status(ballot: Ballot, *allowed: BallotStatus) -> None:
    if ballot.status not in allowed:
        raise Conflict(f"ballot_{ballot.status.value}")


def _append(
    session: Session, ballot: Ballot, kind: LedgerKind, data: dict[str, object]
) -> LedgerEvent:
    """One event on the ballot's chain; the caller holds the ballot (lock or IMMEDIATE)."""
    now = clock.now()
    height = ballot.height + 1
    prev = ballot.head_hash or ledger.GENESIS
    body = ledger.canonical(
        {
            "ballot": ballot.id,
            "height": height,
            "kind": kind.value,
            "at": now.isoformat(timespec="microseconds"),
            **data,
        }
    )
    digest = ledger.link_hash(prev, body)
    event = LedgerEvent(
        ballot_id=ballot.id or 0,
        height=height,
        hall_id=ballot.hall_id,
        kind=kind,
        at=now,
        body=body,
        prev_hash=prev,
        hash=digest,
        receipt=ledger.receipt_of(digest) if kind.value in ledger.VOTE_KINDS else None,
    )
    session.add(event)
    ballot.height = height
    ballot.head_hash = digest
    session.add(ballot)
    return event


# --- drafting -------------------------------------------------------------------------------


def _check_form(
    session: Session, issue: Issue, form: schemas.BallotForm
) -> tuple[dict[str, str], tuple[int, int], list[tuple[str, str, int | None]]]:
    errors: dict[str, str] = {}
    if problem := _text_problem(form.title, schemas.TITLE_MAX):
        errors["title"] = problem
    if form.rule is None:
        errors["rule"] = "rule_required"
    unit = form.voter_unit or (UNITS[form.rule][0] if form.rule else None)
    if form.rule is not None and unit not in UNITS[form.rule]:
        errors["voter_unit"] = "voter_unit_mismatch"
    quorum = (2, 3)
    if form.quorum.strip():
        parsed = schemas.parse_quorum(form.quorum)
        if parsed is None:
            errors["quorum"] = "quorum_invalid"
        else:
            quorum = parsed
    if form.closes_in_hours.strip() and _hours(form.closes_in_hours) is None:
        errors["closes_in_hours"] = "hours_invalid"
    if len(form.meeting_note) > schemas.NOTE_MAX:
        errors["meeting_note"] = "too_long"
    if form.scope == Scope.BUILDING and form.scope_building_id is None:
        errors["scope_building_id"] = "building_required"
    if form.scope == Scope.ENTRANCE and form.scope_entrance_id is None:
        errors["scope_entrance_id"] = "entrance_required"
    selected = session.exec(
        select(Solution)
        .where(Solution.issue_id == issue.id, col(Solution.selected).is_(True))
        .order_by(col(Solution.id))
    ).all()
    options: list[tuple[str, str, int | None]] = []
    if form.rule == RuleKind.PLURALITY or form.options_kind == OptionsKind.SOLUTIONS:
        if form.rule not in (RuleKind.PLURALITY, None):
            errors["options_kind"] = "solutions_need_plurality"
        options = [(f"s{s.id}", s.title[:80], s.id) for s in selected]
        if len(options) < 2:
            errors["options_kind"] = "two_solutions_needed"
    else:
        options = [(code, label, None) for code, label in YES_NO]
        if form.subject_solution_id is not None and form.subject_solution_id not in {
            s.id for s in selected
        }:
            errors["subject_solution_id"] = "solution_not_selected"
    return errors, quorum, options


def _text_problem(value: str, maximum: int) -> str | None:
    value = value.strip()
    if not value:
        return "required"
    return "too_long" if len(value) > maximum else None


def _hours(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4 or not 1 <= int(raw) <= 24 * 60:
        return None
    return int(raw)


def _scope_ids(
    session: Session, hall_id: int, form: schemas.BallotForm, errors: dict[str, str]
) -> tuple[int | None, int | None]:
    if form.scope == Scope.BUILDING and form.scope_building_id is not None:
        building = session.get(Building, form.scope_building_id)
        if building is None or building.hall_id != hall_id:
            errors["scope_building_id"] = "building_required"
        return form.scope_building_id, None
    if form.scope == Scope.ENTRANCE and form.scope_entrance_id is not None:
        entrance = session.get(Entrance, form.scope_entrance_id)
        if entrance is None or entrance.hall_id != hall_id:
            errors["scope_entrance_id"] = "entrance_required"
            return None, None
        return entrance.building_id, entrance.id
    return None, None


def _officers(
    session: Session, hall_id: int, form: schemas.BallotForm, errors: dict[str, str]
) -> list[tuple[int, Duty]]:
    wanted = [(uid, Duty.COUNTER) for uid in form.counter_ids] + [
        (uid, Duty.SCRUTINEER) for uid in form.scrutineer_ids
    ]
    if not wanted:
        return []
    members = set(
        session.exec(
            select(Membership.user_id).where(
                Membership.hall_id == hall_id,
                Membership.status == MembershipStatus.VERIFIED,
                col(Membership.user_id).in_({uid for uid, _ in wanted}),
            )
        ).all()
    )
    if any(uid not in members for uid, _ in wanted):
        errors["counter_ids"] = "officer_not_member"
    return sorted(set(wanted))


def create_ballot(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.BallotForm
) -> Ballot:
    """The chair drafts a ballot for an issue in 表决中.

    Rules: the rule decides the voter unit (owners' rules vote by owner, weighted by area);
    yes / no / abstain on the issue (optionally naming the 方案 voted on), or a plurality among
    the 方案 the 协商意见 sent to the decision; scope defaults to the issue's.
    Raises: NotAllowed, NotFound, ValidationFailed, Conflict (issue stage).
    """
    _require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id)
    if issue.stage != Stage.DECIDING:
        raise Conflict("stage_action_not_allowed")
    errors, quorum, options = _check_form(session, issue, form)
    building_id, entrance_id = _scope_ids(session, access.hall_id, form, errors)
    officers = _officers(session, access.hall_id, form, errors)
    if errors:
        raise ValidationFailed(errors)
    assert form.rule is not None
    ballot = Ballot(
        hall_id=access.hall_id,
        issue_id=issue.id or 0,
        title=form.title.strip(),
        rule=form.rule,
        quorum_num=quorum[0],
        quorum_den=quorum[1],
        voter_unit=form.voter_unit or UNITS[form.rule][0],
        options_kind=OptionsKind.SOLUTIONS
        if form.rule == RuleKind.PLURALITY
        else OptionsKind.YES_NO,
        subject_solution_id=form.subject_solution_id,
        scope=form.scope,
        scope_building_id=building_id,
        scope_entrance_id=entrance_id,
        secret=form.secret,
        live_results=form.live_results,
        created_by_id=actor.id or 0,
        closes_at=None,
        ref_key=secrets.token_hex(32),
        meeting_note=form.meeting_note.strip(),
    )
    hours = _hours(form.closes_in_hours) if form.closes_in_hours.strip() else None
    if hours is not None:
        # Kept as a duration until opening: stored as an offset from the creation time.
        ballot.closes_at = ballot.created_at + timedelta(hours=hours)
    session.add(ballot)
    session.flush()
    for position, (code, label, solution_id) in enumerate(options):
        session.add(
            BallotOption(
                hall_id=access.hall_id,
                ballot_id=ballot.id or 0,
                position=position,
                code=code,
                label=label,
                solution_id=solution_id,
            )
        )
    for uid, duty in officers:
        session.add(
            BallotOfficer(hall_id=access.hall_id, ballot_id=ballot.id or 0, user_id=uid, duty=duty)
        )
    audit.record(
        session,
        action="voting.create_ballot",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"issue": issue.id, "rule": ballot.rule.value, "unit": ballot.voter_unit.value},
    )
    session.commit()
    return ballot


# --- the frozen electorate ------------------------------------------------------------------


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
    if ballot.rule in (RuleKind.COUNCIL_MAJORITY, RuleKind.REPRESENTATIVES_MEETING):
        role = Role.COUNCIL if ballot.rule == RuleKind.COUNCIL_MAJORITY else Role.RESIDENT_REP
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


def open_ballot(*, session: Session, access: HallAccess, actor: User, ballot_id: int) -> Ballot:
    """Freeze the electorate with its weights and open voting (VOTE-05).

    Rules: only a draft opens; owners' ballots need every unit's area; the roll's hash, size
    and total area go into the ledger's first event. Later roster changes touch nothing here.
    Raises: NotAllowed, NotFound, Conflict (status), ValidationFailed (empty roll, areas).
    """
    _require(policies.can_manage(access))
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.DRAFT)
    if ballot.rule == RuleKind.CONSENSUS:
        raise Conflict("consensus_has_no_vote")
    issue = _issue(session, access.hall_id, ballot.issue_id)
    if issue.stage != Stage.DECIDING:
        raise Conflict("stage_action_not_allowed")
    entries = _roll_entries(session, ballot)
    if not entries:
        raise ValidationFailed({"_": "roll_empty"})
    entries.sort(key=lambda e: e.sort_key)
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
        )
        session.add(row)
        session.flush()
        for uid in sorted(entry.casters or ()):
            session.add(RollCaster(ballot_id=ballot.id or 0, roll_id=row.id or 0, user_id=uid))
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


# --- casting --------------------------------------------------------------------------------


def _replay(session: Session, ballot: Ballot, submission_id: str, *, option: str) -> Receipt | None:
    """The answer to a retried submission (VOTE-04): the same vote again, or 422 when the key
    is reused for a different vote."""
    found = session.exec(
        select(Vote, BallotOption.code)
        .join(BallotOption, col(BallotOption.id) == Vote.option_id)
        .where(Vote.submission_id == submission_id)
    ).first()
    if found is None:
        return None
    vote, code = found
    if vote.ballot_id != ballot.id or code != option:
        raise ValidationFailed({"option": "submission_reused"})
    return Receipt(vote.ballot_id, vote.receipt, code, vote.channel, vote.cast_at, replaced=False)


def _record_vote(
    session: Session,
    ballot: Ballot,
    *,
    roll: RollEntry,
    option: BallotOption,
    channel: Channel,
    cast_by: int,
    submission_id: str,
    confirmed_by: int | None = None,
) -> Receipt:
    """Retire the voter's current vote (if any), append the ledger event, insert the vote."""
    now = clock.now()
    retired = session.exec(
        update(Vote)
        .where(
            col(Vote.ballot_id) == ballot.id,
            col(Vote.roll_id) == roll.id,
            col(Vote.is_current).is_(True),
        )
        .values(is_current=False, superseded_at=now)
    ).rowcount
    kind = {
        Channel.PHONE: LedgerKind.RECAST if retired else LedgerKind.CAST,
        Channel.IN_PERSON: LedgerKind.IN_PERSON,
        Channel.PAPER: LedgerKind.PAPER,
    }[channel]
    event = _append(
        session,
        ballot,
        kind,
        {
            "voter": ledger.voter_ref(ballot.ref_key, roll.voter_key),
            "option": option.code,
            "weight": roll.weight_centi_m2,
            "channel": channel.value,
            "submission": submission_id,
        },
    )
    assert event.receipt is not None
    session.add(
        Vote(
            hall_id=ballot.hall_id,
            ballot_id=ballot.id or 0,
            roll_id=roll.id or 0,
            option_id=option.id or 0,
            channel=channel,
            cast_by_id=cast_by,
            confirmed_by_id=confirmed_by,
            cast_at=now,
            submission_id=submission_id,
            receipt=event.receipt,
        )
    )
    return Receipt(ballot.id or 0, event.receipt, option.code, channel, now, bool(retired))


def _open_for_votes(ballot: Ballot) -> None:
    _status(ballot, BallotStatus.OPEN)
    if ballot.closes_at is not None and clock.now() >= ballot.closes_at:
        raise Conflict("ballot_past_deadline")


def _option(session: Session, ballot: Ballot, code: str) -> BallotOption:
    option = session.exec(
        select(BallotOption).where(BallotOption.ballot_id == ballot.id, BallotOption.code == code)
    ).first()
    if option is None:
        raise ValidationFailed({"option": "option_required"})
    return option


def _check_submission(submission_id: str) -> None:
    if not schemas.is_submission_id(submission_id):
        raise ValidationFailed({"option": "submission_invalid"})


def cast_vote(
    *, session: Session, access: HallAccess, actor: User, ballot_id: int, form: schemas.VoteForm
) -> Receipt:
    """A voter votes on the phone. The later vote before close counts (re-voting allowed).

    Rules: verified members on the frozen roll only (for a 户 any of its members at open; for
    owners any of the owners); on a named (记名) ballot only with the voter's separate consent
    to their choice being public (PIPL art. 25); idempotent by submission id; refused outside
    `open` or after the planned close.
    Raises: NotFound, NotAllowed (not on the roll), Conflict (status), ValidationFailed.
    """
    _check_submission(form.submission_id)
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    again = _replay(session, ballot, form.submission_id, option=form.option)
    if again is not None:
        session.rollback()
        return again
    _open_for_votes(ballot)
    _require(access.is_verified, "not_on_roll")
    roll = session.exec(
        select(RollEntry)
        .join(RollCaster, col(RollCaster.roll_id) == RollEntry.id)
        .where(RollCaster.ballot_id == ballot.id, RollCaster.user_id == actor.id)
    ).first()
    if roll is None:
        raise NotAllowed("not_on_roll")
    option = _option(session, ballot, form.option)
    if not ballot.secret and not form.consent:
        raise ValidationFailed({"consent": "named_vote_consent_required"})
    receipt = _record_vote(
        session,
        ballot,
        roll=roll,
        option=option,
        channel=Channel.PHONE,
        cast_by=actor.id or 0,
        submission_id=form.submission_id,
    )
    session.commit()
    return receipt


def _roll_entry(session: Session, ballot: Ballot, roll_id: int | None) -> RollEntry:
    roll = session.exec(
        select(RollEntry).where(RollEntry.id == roll_id, RollEntry.ballot_id == ballot.id)
    ).first()
    if roll is None:
        raise ValidationFailed({"roll_id": "roll_entry_required"})
    return roll


def record_in_person(
    *, session: Session, access: HallAccess, actor: User, ballot_id: int, form: schemas.InPersonForm
) -> Receipt:
    """The chair records a voter's vote given in person (a show of hands, a spoken vote).

    Rules: the same one-current-vote rule as every channel (the later counts); the voter is
    marked present; audited with the chair's name. Named (记名) ballots only: on a 无记名
    ballot the chair would learn the choice, so a voter at the meeting takes a paper ballot
    (signing the 领票登记 sheet) and puts it in the box (Conflict secret_in_person).
    """
    _require(policies.can_manage(access))
    _check_submission(form.submission_id)
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    again = _replay(session, ballot, form.submission_id, option=form.option)
    if again is not None:
        session.rollback()
        return again
    _open_for_votes(ballot)
    if ballot.secret:
        raise Conflict("secret_in_person")
    roll = _roll_entry(session, ballot, form.roll_id)
    option = _option(session, ballot, form.option)
    receipt = _record_vote(
        session,
        ballot,
        roll=roll,
        option=option,
        channel=Channel.IN_PERSON,
        cast_by=actor.id or 0,
        submission_id=form.submission_id,
    )
    roll.present = True
    session.add(roll)
    audit.record(
        session,
        action="voting.record_in_person",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"roll": roll.id, "receipt": receipt.receipt},
    )
    session.commit()
    return receipt


def record_attendance(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.AttendanceForm,
) -> int:
    """The chair records who is present (实到) for a meeting rule; returns how many are."""
    _require(policies.can_manage(access))
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.OPEN)
    if ballot.rule not in MEETING_RULES:
        raise Conflict("attendance_not_used")
    present = set(form.present_ids)
    voted = set(
        session.exec(
            select(Vote.roll_id).where(Vote.ballot_id == ballot.id, col(Vote.is_current).is_(True))
        ).all()
    )
    rows = session.exec(select(RollEntry).where(RollEntry.ballot_id == ballot.id)).all()
    count = 0
    for row in rows:
        row.present = (row.id in present) or (row.id in voted)
        count += row.present
        session.add(row)
    audit.record(
        session,
        action="voting.record_attendance",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"present": count},
    )
    session.commit()
    return count


def void_vote(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    vote_id: int,
    form: schemas.VoidForm,
) -> None:
    """The chair voids a current vote entered in error, with a reason; the voter may vote again."""
    _require(policies.can_manage(access))
    if problem := _text_problem(form.reason, schemas.NOTE_MAX):
        raise ValidationFailed({"reason": problem})
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.OPEN)
    found = session.exec(
        select(Vote, RollEntry)
        .join(RollEntry, col(RollEntry.id) == Vote.roll_id)
        .where(Vote.id == vote_id, Vote.ballot_id == ballot.id, col(Vote.is_current).is_(True))
    ).first()
    if found is None:
        raise NotFound("not_found")
    vote, roll = found
    now = clock.now()
    vote.is_current = False
    vote.voided_at = now
    vote.voided_by_id = actor.id
    vote.void_reason = form.reason.strip()
    session.add(vote)
    _append(
        session,
        ballot,
        LedgerKind.VOID,
        {"voter": ledger.voter_ref(ballot.ref_key, roll.voter_key), "receipt": vote.receipt},
    )
    audit.record(
        session,
        action="voting.void_vote",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        # On a 无记名 ballot the receipt would tie this voter to a choice on the board.
        data={"reason": vote.void_reason}
        if ballot.secret
        else {"receipt": vote.receipt, "reason": vote.void_reason},
    )
    session.commit()


# --- paper ----------------------------------------------------------------------------------


def issue_paper_ballots(
    *, session: Session, access: HallAccess, actor: User, ballot_id: int
) -> int:
    """Print one paper ballot per voter of the roll (those not yet issued); returns how many."""
    _require(policies.can_manage(access))
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.OPEN)
    issued = set(
        session.exec(select(PaperBallot.roll_id).where(PaperBallot.ballot_id == ballot.id)).all()
    )
    rolls = session.exec(
        select(RollEntry.id)
        .where(RollEntry.ballot_id == ballot.id)
        .order_by(col(RollEntry.sort_key))
    ).all()
    count = 0
    for roll_id in rolls:
        if roll_id in issued:
            continue
        session.add(
            PaperBallot(
                hall_id=ballot.hall_id,
                ballot_id=ballot.id or 0,
                roll_id=roll_id or 0,
                code=_paper_code(),
                issued_by_id=actor.id or 0,
            )
        )
        count += 1
    audit.record(
        session,
        action="voting.issue_paper_ballots",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"issued": count},
    )
    session.commit()
    return count


_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off paper


def _paper_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(raw: str) -> str:
    """'abcde fghjk' or 'ABCDE-FGHJK' → 'ABCDE-FGHJK' (as printed)."""
    text = "".join(c for c in raw.upper() if c.isascii() and c.isalnum())
    return f"{text[:5]}-{text[5:]}" if len(text) == 10 else raw.strip().upper()


def enter_paper(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.PaperEntryForm,
) -> PaperEntry:
    """A 计票人 enters a returned paper ballot by its code: a choice, blank or invalid.

    Rules: each printed ballot is read once (a rejected reading may be entered again); nothing
    counts until a different 监票人 confirms it.
    Raises: NotAllowed, NotFound, Conflict, ValidationFailed (unknown code, no choice).
    """
    _check_submission(form.submission_id)
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _require(
        policies.can_enter_paper(access, queries.duties(session, ballot.id or 0, access.user_id))
    )
    previous = session.exec(
        select(PaperEntry).where(PaperEntry.submission_id == form.submission_id)
    ).first()
    if previous is not None:
        if previous.ballot_id != ballot.id:
            raise ValidationFailed({"code": "submission_reused"})
        session.rollback()
        return previous
    _open_for_votes(ballot)
    paper = session.exec(
        select(PaperBallot).where(
            PaperBallot.ballot_id == ballot.id, PaperBallot.code == normalise_code(form.code)
        )
    ).first()
    if paper is None:
        raise ValidationFailed({"code": "paper_code_unknown"})
    option_id = None
    if form.result == PaperResult.VOTE:
        option_id = _option(session, ballot, form.option).id
    taken = session.exec(
        select(PaperEntry.id).where(
            PaperEntry.paper_id == paper.id, PaperEntry.status != PaperStatus.REJECTED
        )
    ).first()
    if taken is not None:
        raise ValidationFailed({"code": "paper_already_entered"})
    entry = PaperEntry(
        hall_id=ballot.hall_id,
        ballot_id=ballot.id or 0,
        paper_id=paper.id or 0,
        result=form.result,
        option_id=option_id,
        entered_by_id=actor.id or 0,
        submission_id=form.submission_id,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        action="voting.enter_paper",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"entry": entry.id, "result": form.result.value},
    )
    session.commit()
    return entry


def confirm_paper(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    entry_id: int,
    agree: bool,
) -> Receipt | None:
    """A 监票人 (not the one who entered it) confirms or rejects a paper entry.

    Confirming a choice records the vote with channel `paper` (the later vote counts, as on
    every channel); a blank or invalid ballot is counted in the reconciliation only.
    """
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    entry = session.exec(
        select(PaperEntry).where(PaperEntry.id == entry_id, PaperEntry.ballot_id == ballot.id)
    ).first()
    if entry is None:
        raise NotFound("not_found")
    _require(
        policies.can_confirm_paper(
            access,
            queries.duties(session, ballot.id or 0, access.user_id),
            entered_by=entry.entered_by_id,
        ),
        "second_officer_required",
    )
    _open_for_votes(ballot)
    if entry.status != PaperStatus.PENDING:
        raise Conflict("paper_entry_decided")
    now = clock.now()
    entry.confirmed_by_id = actor.id
    entry.confirmed_at = now
    receipt = None
    if not agree:
        entry.status = PaperStatus.REJECTED
    else:
        entry.status = PaperStatus.CONFIRMED
        if entry.result == PaperResult.VOTE:
            paper = session.get(PaperBallot, entry.paper_id)
            assert paper is not None
            roll = _roll_entry(session, ballot, paper.roll_id)
            option = session.get(BallotOption, entry.option_id)
            assert option is not None
            receipt = _record_vote(
                session,
                ballot,
                roll=roll,
                option=option,
                channel=Channel.PAPER,
                cast_by=entry.entered_by_id,
                confirmed_by=actor.id,
                submission_id=entry.submission_id,
            )
            session.flush()
            entry.vote_id = session.exec(
                select(Vote.id).where(Vote.submission_id == entry.submission_id)
            ).one()
    session.add(entry)
    audit.record(
        session,
        action="voting.confirm_paper",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"entry": entry.id, "agree": agree},
    )
    session.commit()
    return receipt


# --- closing, 决议, 公示 ----------------------------------------------------------------------


def _advance(
    session: Session,
    issue: Issue,
    target: Stage,
    actor_id: int | None,
    note: str = "",
    **facts: object,
) -> None:
    issues.advance_for_decision(
        session, issue=issue, target=target, actor_id=actor_id, note=note, facts=facts
    )


def close_ballot(
    *, session: Session, access: HallAccess, actor: User, ballot_id: int
) -> Resolution:
    """Close voting, freeze the result and create the 决议 (VOTE-09, VOTE-11).

    Rules: only an open ballot closes, and not while a paper reading waits for its 监票人; the
    outcome is computed by app.voting.rules from the frozen roll and the current votes; the close event carries the result, and its hash is the
    head printed on the 公示. A pass moves the issue to 公示 for the hall's 公示 days (the
    ballot is then published); a fail waits for the chair to choose 未通过 or back to 民议.
    """
    _require(policies.can_manage(access))
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.OPEN)
    issue = _issue(session, access.hall_id, ballot.issue_id, lock=True)
    # A second ballot of the same issue cannot decide it again once it has left 表决中: its
    # 决议 would become the issue's latest and hijack the 公示 (objections, end of 公示).
    _deciding(issue)
    # A reading still waiting for its 监票人 would silently not count: settle it first.
    if queries.reconciliation(session, ballot.id or 0).pending:
        raise Conflict("paper_pending")
    outcome = queries.tally(session, ballot)
    now = clock.now()
    ballot.status = BallotStatus.CLOSED
    ballot.closed_at = now
    ballot.passed = outcome.passed
    ballot.result = ledger.canonical(queries.result_data(outcome))
    _append(session, ballot, LedgerKind.CLOSE, {"result": queries.result_data(outcome)})
    resolution = Resolution(
        hall_id=ballot.hall_id,
        issue_id=issue.id or 0,
        ballot_id=ballot.id or 0,
        passed=outcome.passed,
        text=queries.resolution_text(session, ballot, outcome),
        head_hash=ballot.head_hash,
    )
    session.add(resolution)
    session.flush()
    audit.record(
        session,
        action="voting.close_ballot",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"passed": outcome.passed, "head": ballot.head_hash},
    )
    if outcome.passed:
        _start_publicity(session, ballot, resolution, issue, actor.id)
    session.commit()
    return resolution


def _deciding(issue: Issue) -> None:
    if issue.stage != Stage.DECIDING:
        raise Conflict("stage_action_not_allowed")


def _start_publicity(
    session: Session, ballot: Ballot, resolution: Resolution, issue: Issue, actor_id: int | None
) -> None:
    hall = session.get(Hall, ballot.hall_id)
    assert hall is not None
    now = clock.now()
    resolution.publicity_starts_at = now
    resolution.publicity_ends_at = now + timedelta(days=hall.publicity_days)
    session.add(resolution)
    ballot.status = BallotStatus.PUBLISHED
    ballot.published_at = now
    session.add(ballot)
    _advance(
        session,
        issue,
        Stage.PUBLICIZING,
        actor_id,
        note=resolution.text,
        decision_closed=True,
        decision_passed=True,
    )


def record_consensus(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.ConsensusForm,
) -> Resolution:
    """协商一致: no vote; the chair records the outcome and what was agreed."""
    _require(policies.can_manage(access))
    errors: dict[str, str] = {}
    if form.passed is None:
        errors["passed"] = "required"
    if problem := _text_problem(form.text, schemas.BODY_MAX):
        errors["text"] = problem
    if errors:
        raise ValidationFailed(errors)
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.DRAFT)
    if ballot.rule != RuleKind.CONSENSUS:
        raise Conflict("ballot_needs_votes")
    issue = _issue(session, access.hall_id, ballot.issue_id, lock=True)
    _deciding(issue)
    now = clock.now()
    ballot.status = BallotStatus.CLOSED
    ballot.opened_at = ballot.closed_at = now
    ballot.passed = bool(form.passed)
    data = {"rule": "consensus", "passed": ballot.passed, "checks": [], "counts": {}}
    ballot.result = ledger.canonical(data)
    _append(session, ballot, LedgerKind.CLOSE, {"result": data})
    resolution = Resolution(
        hall_id=ballot.hall_id,
        issue_id=issue.id or 0,
        ballot_id=ballot.id or 0,
        passed=ballot.passed,
        text=form.text.strip(),
        head_hash=ballot.head_hash,
    )
    session.add(resolution)
    session.flush()
    audit.record(
        session,
        action="voting.record_consensus",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"passed": ballot.passed},
    )
    if ballot.passed:
        _start_publicity(session, ballot, resolution, issue, actor.id)
    session.commit()
    return resolution


def settle_failed(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.FailedOutcomeForm,
) -> Issue:
    """After a failed vote the chair closes the issue as 未通过 or sends it back to 民议."""
    _require(policies.can_manage(access))
    targets = {"not_passed": Stage.NOT_PASSED, "deliberate": Stage.DELIBERATING}
    if form.outcome not in targets:
        raise ValidationFailed({"outcome": "required"})
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.CLOSED)
    if ballot.passed:
        raise Conflict("decision_passed")
    issue = _issue(session, access.hall_id, ballot.issue_id, lock=True)
    ballot.status = BallotStatus.PUBLISHED
    ballot.published_at = clock.now()
    session.add(ballot)
    _advance(
        session,
        issue,
        targets[form.outcome],
        actor.id,
        decision_closed=True,
        decision_passed=False,
    )
    session.commit()
    return issue


def _resolution(session: Session, hall_id: int, issue_id: int) -> Resolution:
    """The 决议 being (or last) publicised: a failed vote's 决议 has no 公示 of its own."""
    resolution = queries.get_publicized_resolution(session, hall_id=hall_id, issue_id=issue_id)
    if resolution is None:
        raise NotFound("not_found")
    return resolution


def file_objection(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.ObjectionForm
) -> Objection:
    """A member files an 异议 during the 公示 period; the chair is notified."""
    _require(policies.can_object(access))
    if problem := _text_problem(form.body, schemas.BODY_MAX):
        raise ValidationFailed({"body": problem})
    # Locked like end_publicity: an objection filed at the last moment is either counted
    # there or refused here, never committed after the issue has moved on.
    issue = _issue(session, access.hall_id, issue_id, lock=True)
    if issue.stage != Stage.PUBLICIZING:
        raise Conflict("stage_action_not_allowed")
    resolution = _resolution(session, access.hall_id, issue_id)
    if resolution.publicity_ends_at is not None and clock.now() >= resolution.publicity_ends_at:
        raise Conflict("publicity_over")
    objection = Objection(
        hall_id=access.hall_id,
        issue_id=issue_id,
        resolution_id=resolution.id or 0,
        author_id=actor.id or 0,
        body=form.body.strip(),
    )
    session.add(objection)
    session.flush()
    audit.record(
        session,
        action="voting.file_objection",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="objection",
        subject_id=objection.id,
        data={"issue": issue_id},
    )
    issues.notify_chairs(session, issue, kind="objection", exclude=actor.id)
    session.commit()
    return objection


def answer_objection(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    objection_id: int,
    form: schemas.AnswerForm,
) -> Objection:
    """The chair answers an 异议, upholding it or not; the objector is notified."""
    _require(policies.can_manage(access))
    if problem := _text_problem(form.answer, schemas.BODY_MAX):
        raise ValidationFailed({"answer": problem})
    objection = session.exec(
        select(Objection).where(Objection.id == objection_id, Objection.hall_id == access.hall_id)
    ).first()
    if objection is None:
        raise NotFound("not_found")
    # The issue first (the order end_publicity locks in), then the objection again under the
    # lock: two chairs answering at once give one answer and one "already answered".
    issue = _issue(session, access.hall_id, objection.issue_id, lock=True)
    session.refresh(objection, with_for_update=True)
    if objection.answered_at is not None:
        raise Conflict("objection_answered")
    if issue.stage != Stage.PUBLICIZING:
        raise Conflict("stage_action_not_allowed")
    objection.answer = form.answer.strip()
    objection.upheld = form.upheld
    objection.answered_by_id = actor.id
    objection.answered_at = clock.now()
    session.add(objection)
    audit.record(
        session,
        action="voting.answer_objection",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="objection",
        subject_id=objection.id,
        data={"upheld": form.upheld},
    )
    issues.notify_users(session, issue, {objection.author_id}, kind="objection_answered")
    session.commit()
    return objection


def end_publicity(*, session: Session, access: HallAccess, actor: User, issue_id: int) -> Issue:
    """When the 公示 period is over and every 异议 is answered: to 民办, or back to 民议 if the
    chair upheld an objection."""
    _require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id, lock=True)
    resolution = _resolution(session, access.hall_id, issue_id)
    counts = session.exec(
        select(
            sa.func.count().filter(col(Objection.answered_at).is_(None)),
            sa.func.count().filter(col(Objection.upheld).is_(True)),
        ).where(Objection.resolution_id == resolution.id)
    ).one()
    open_objections, upheld = int(counts[0]), int(counts[1])
    target = Stage.DELIBERATING if upheld else Stage.IMPLEMENTING
    _advance(
        session,
        issue,
        target,
        actor.id,
        decision_closed=True,
        decision_passed=True,
        publicity_ends_at=resolution.publicity_ends_at,
        open_objections=open_objections,
        upheld_objections=upheld,
    )
    session.commit()
    return issue
