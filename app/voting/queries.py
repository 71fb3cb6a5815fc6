"""Reads for ballots: the tally, turnout, receipts, the roll and the paper count."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.halls.models import Hall, Membership, MembershipRole, MembershipStatus, Role
from app.issues.lifecycle import Stage, VoteState
from app.issues.models import Issue
from app.meetings.models import Meeting
from app.voting import labels, ledger, rules
from app.voting.models import (
    Ballot,
    BallotOfficer,
    BallotOption,
    BallotStatus,
    Channel,
    Duty,
    LedgerEvent,
    Objection,
    PaperBallot,
    PaperEntry,
    PaperResult,
    PaperStatus,
    Resolution,
    RollCaster,
    RollEntry,
    Vote,
)


def get_ballot(session: Session, *, hall_id: int, ballot_id: int) -> Ballot | None:
    return session.exec(
        select(Ballot).where(Ballot.id == ballot_id, Ballot.hall_id == hall_id)
    ).first()


def held_at(session: Session, ballot: Ballot) -> Meeting | None:
    """The meeting the ballot is held at, if any: its time and place are the ballot's."""
    if ballot.meeting_id is None:
        return None
    return session.exec(
        select(Meeting).where(Meeting.id == ballot.meeting_id, Meeting.hall_id == ballot.hall_id)
    ).first()


@dataclass(frozen=True)
class IssueDecision:
    ballots: list[Ballot]  # oldest first
    resolution: Resolution | None  # the latest 决议, if any


def issue_decision(
    session: Session, *, hall_id: int, issue_id: int, include_drafts: bool
) -> IssueDecision:
    """The issue page's 民决 card in one query: its ballots (drafts only for the chair) and
    the latest 决议 (each ballot has at most one)."""
    query = (
        select(Ballot, Resolution)
        .outerjoin(Resolution, col(Resolution.ballot_id) == Ballot.id)
        .where(Ballot.hall_id == hall_id, Ballot.issue_id == issue_id)
        .order_by(col(Ballot.id))
    )
    if not include_drafts:
        query = query.where(Ballot.status != BallotStatus.DRAFT)
    rows = session.exec(query).all()
    resolutions = [r for _, r in rows if r is not None]
    return IssueDecision(
        ballots=[b for b, _ in rows],
        resolution=max(resolutions, key=lambda r: r.id or 0) if resolutions else None,
    )


BALLOT_PAGE = 50


def list_ballots(
    session: Session,
    *,
    hall_id: int,
    include_drafts: bool,
    issue_id: int | None = None,
    status: BallotStatus | None = None,
    before: int | None = None,
    limit: int = BALLOT_PAGE,
) -> list[Ballot]:
    """The hall's ballots, newest first (cursor `before` on id), optionally of one issue and
    in one status; drafts only for those who manage ballots. One query."""
    query = select(Ballot).where(Ballot.hall_id == hall_id)
    if not include_drafts:
        query = query.where(Ballot.status != BallotStatus.DRAFT)
    if issue_id is not None:
        query = query.where(Ballot.issue_id == issue_id)
    if status is not None:
        query = query.where(Ballot.status == status)
    if before is not None:
        query = query.where(col(Ballot.id) < before)
    return list(session.exec(query.order_by(col(Ballot.id).desc()).limit(limit)).all())


def ballot_ids(session: Session, *, hall_id: int, issue_id: int, include_drafts: bool) -> list[int]:
    """The ids of an issue's ballots, oldest first (drafts only for those who manage them)."""
    query = select(Ballot.id).where(Ballot.hall_id == hall_id, Ballot.issue_id == issue_id)
    if not include_drafts:
        query = query.where(Ballot.status != BallotStatus.DRAFT)
    return [i for i in session.exec(query.order_by(col(Ballot.id))).all() if i is not None]


def option_codes(session: Session, ballot_id: int) -> list[tuple[str, str]]:
    """A ballot's options as (code, label), the label in the reader's language (同意 / 反对 /
    弃权 are stored in Chinese when the ballot is drafted; a 方案's title as written)."""
    return [
        (code, labels.option_label(code, label))
        for code, label in session.exec(
            select(BallotOption.code, BallotOption.label)
            .where(BallotOption.ballot_id == ballot_id)
            .order_by(col(BallotOption.position))
        ).all()
    ]


def list_options(session: Session, ballot_id: int) -> list[BallotOption]:
    return list(
        session.exec(
            select(BallotOption)
            .where(BallotOption.ballot_id == ballot_id)
            .order_by(col(BallotOption.position))
        ).all()
    )


def tally(session: Session, ballot: Ballot) -> rules.Outcome:
    """The outcome from the frozen roll and the current votes (one query each), assembled by
    rules.tally."""
    roll = session.exec(
        select(
            RollEntry.id, RollEntry.voter_key, RollEntry.weight_centi_m2, RollEntry.present
        ).where(RollEntry.ballot_id == ballot.id)
    ).all()
    votes = session.exec(
        select(Vote.roll_id, BallotOption.code)
        .join(BallotOption, col(BallotOption.id) == Vote.option_id)
        .where(Vote.ballot_id == ballot.id, col(Vote.is_current).is_(True))
    ).all()
    key_of = {rid: key for rid, key, _, _ in roll}
    return rules.tally(
        ballot.rule,
        (ballot.quorum_num, ballot.quorum_den),
        _roll_voters(roll),
        {key_of[rid]: code for rid, code in votes},
    )


def _roll_voters(roll: Sequence[tuple[int | None, str, int, bool]]) -> list[rules.RollVoter]:
    return [rules.RollVoter(key, weight, here) for _, key, weight, here in roll]


def stored_result(ballot: Ballot) -> dict[str, Any] | None:
    return json.loads(ballot.result) if ballot.result else None


def resolution_text(session: Session, ballot: Ballot, outcome: rules.Outcome) -> str:
    return rules.resolution_text(ballot.title, outcome, dict(option_codes(session, ballot.id or 0)))


@dataclass(frozen=True)
class Turnout:
    voters: int  # current votes
    roll: int
    by_option: dict[str, int]
    by_channel: dict[str, int]
    area_voted: int
    height: int
    head_hash: str | None


def turnout(session: Session, ballot: Ballot) -> Turnout:
    """Counts of current votes per option and per channel, in one grouped query."""
    rows = session.exec(
        select(
            BallotOption.code,
            Vote.channel,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(RollEntry.weight_centi_m2), 0),
        )
        .join(BallotOption, col(BallotOption.id) == Vote.option_id)
        .join(RollEntry, col(RollEntry.id) == Vote.roll_id)
        .where(Vote.ballot_id == ballot.id, col(Vote.is_current).is_(True))
        .group_by(BallotOption.code, Vote.channel)
    ).all()
    by_option: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    area = 0
    for code, channel, count, weight in rows:
        by_option[code] = by_option.get(code, 0) + count
        by_channel[channel] = by_channel.get(channel, 0) + count
        area += int(weight)
    return Turnout(
        voters=sum(by_option.values()),
        roll=ballot.roll_count,
        by_option=by_option,
        by_channel=by_channel,
        area_voted=area,
        height=ballot.height,
        head_hash=ballot.head_hash,
    )


@dataclass(frozen=True)
class MyVote:
    roll_id: int
    roll_label: str
    option_code: str | None
    receipt: str | None
    channel: Channel | None
    cast_at: datetime | None
    cast_by_name: str | None  # for a 户: who of the household cast it


def my_vote(session: Session, ballot: Ballot, user_id: int | None) -> MyVote | None:
    """The voter's place on the roll and their current vote, if any (one query)."""
    if user_id is None:
        return None
    caster = sa.orm.aliased(User)
    row = session.exec(
        select(RollEntry, Vote, BallotOption.code, caster.name)
        .join(RollCaster, col(RollCaster.roll_id) == RollEntry.id)
        .outerjoin(Vote, (col(Vote.roll_id) == RollEntry.id) & col(Vote.is_current).is_(True))
        .outerjoin(BallotOption, col(BallotOption.id) == Vote.option_id)
        .outerjoin(caster, col(caster.id) == Vote.cast_by_id)
        .where(RollCaster.ballot_id == ballot.id, RollCaster.user_id == user_id)
    ).first()
    if row is None:
        return None
    roll, vote, code, name = row
    return MyVote(
        roll_id=roll.id or 0,
        roll_label=roll.label,
        option_code=code,
        receipt=vote.receipt if vote else None,
        channel=vote.channel if vote else None,
        cast_at=vote.cast_at if vote else None,
        cast_by_name=name,
    )


@dataclass(frozen=True)
class BoardRow:
    height: int
    kind: str
    at: datetime
    receipt: str | None
    option: str | None  # the choice's label, only on named ballots


def receipt_board(session: Session, ballot: Ballot) -> list[BoardRow]:
    """The public receipt board of a named (记名) ballot: every ledger event's receipt, kind,
    time and choice (its label, as on the ballot); no names, no weights (VOTE-08). A 无记名
    ballot uses `secret_board`."""
    labels = dict(option_codes(session, ballot.id or 0))
    events = session.exec(
        select(LedgerEvent)
        .where(LedgerEvent.ballot_id == ballot.id)
        .order_by(col(LedgerEvent.height))
    ).all()
    rows = []
    for ev in events:
        option = None
        if not ballot.secret and ev.receipt:
            code = json.loads(ev.body).get("option")
            option = labels.get(code, code) if code is not None else None
        rows.append(BoardRow(ev.height, ev.kind.value, ev.at, ev.receipt, option))
    return rows


@dataclass(frozen=True)
class SecretBoard:
    """The board of a 无记名 ballot: how many votes count, and once the ballot is finished the
    counted receipts with their choices, sorted by receipt. No heights, times or channels: the
    order of the ledger would line receipts up with the order people voted in."""

    counted: int
    rows: list[tuple[str, str]]  # (receipt, option label), empty while the ballot is open


def secret_board(session: Session, ballot: Ballot) -> SecretBoard:
    rows = session.exec(
        select(Vote.receipt, BallotOption.code, BallotOption.label)
        .join(BallotOption, col(BallotOption.id) == Vote.option_id)
        .where(Vote.ballot_id == ballot.id, col(Vote.is_current).is_(True))
        .order_by(col(Vote.receipt))
    ).all()
    shown = (
        [(r, labels.option_label(code, label)) for r, code, label in rows]
        if is_finished(ballot)
        else []
    )
    return SecretBoard(len(rows), shown)


def ledger_events(session: Session, ballot_id: int) -> list[ledger.Stored]:
    return [
        ledger.Stored(ev.height, ev.kind.value, ev.body, ev.prev_hash, ev.hash)
        for ev in session.exec(
            select(LedgerEvent)
            .where(LedgerEvent.ballot_id == ballot_id)
            .order_by(col(LedgerEvent.height))
        ).all()
    ]


@dataclass(frozen=True)
class RollRow:
    entry: RollEntry
    option_code: str | None
    channel: Channel | None
    vote_id: int | None
    paper_code: str | None


def roll_rows(session: Session, ballot: Ballot) -> list[RollRow]:
    """The frozen roll with each voter's current vote and paper code (the chair only).

    On a 无记名 ballot a row says only whether and through which channel the voter took part:
    no choice, and no paper code (the paper desk shows codes next to their readings)."""
    columns: tuple[Any, ...] = (
        RollEntry,
        BallotOption.code,
        Vote.channel,
        Vote.id,
        PaperBallot.code,
    )
    rows = session.execute(
        sa.select(*columns)
        .outerjoin(Vote, (col(Vote.roll_id) == RollEntry.id) & col(Vote.is_current).is_(True))
        .outerjoin(BallotOption, col(BallotOption.id) == Vote.option_id)
        .outerjoin(PaperBallot, col(PaperBallot.roll_id) == RollEntry.id)
        .where(col(RollEntry.ballot_id) == ballot.id)
        .order_by(col(RollEntry.sort_key))
    ).all()
    if ballot.secret:
        return [RollRow(e, None, channel, vid, None) for e, _, channel, vid, _ in rows]
    return [RollRow(e, code, channel, vid, paper) for e, code, channel, vid, paper in rows]


def vote_roll_id(session: Session, ballot_id: int, vote_id: int) -> int | None:
    """The roll entry a vote of this ballot belongs to (any vote, current or not)."""
    return session.exec(
        select(Vote.roll_id).where(Vote.id == vote_id, Vote.ballot_id == ballot_id)
    ).first()


@dataclass(frozen=True)
class RollSummary:
    voters: int
    voted: int  # voters with a current vote
    by_channel: dict[str, int]
    present: int  # at the meeting: marked present, or voted
    area: int  # 0.01 m², owners' ballots
    area_voted: int


def summarise_roll(rows: Sequence[RollRow]) -> RollSummary:
    """Counts over the rows roll_rows returned (no query)."""
    by_channel: dict[str, int] = {}
    for row in rows:
        if row.channel is not None:
            by_channel[row.channel.value] = by_channel.get(row.channel.value, 0) + 1
    return RollSummary(
        voters=len(rows),
        voted=sum(by_channel.values()),
        by_channel=dict(sorted(by_channel.items())),
        present=sum(1 for row in rows if row.entry.present or row.vote_id is not None),
        area=sum(row.entry.weight_centi_m2 for row in rows),
        area_voted=sum(row.entry.weight_centi_m2 for row in rows if row.vote_id is not None),
    )


def duties(session: Session, ballot_id: int, user_id: int | None) -> frozenset[Duty]:
    if user_id is None:
        return frozenset()
    return frozenset(
        Duty(d)
        for d in session.exec(
            select(BallotOfficer.duty).where(
                BallotOfficer.ballot_id == ballot_id, BallotOfficer.user_id == user_id
            )
        ).all()
    )


def officers(session: Session, ballot_id: int) -> list[tuple[str, Duty]]:
    return [
        (name, Duty(duty))
        for name, duty in session.exec(
            select(User.name, BallotOfficer.duty)
            .join(User, col(User.id) == BallotOfficer.user_id)
            .where(BallotOfficer.ballot_id == ballot_id)
            .order_by(col(BallotOfficer.duty), col(User.name))
        ).all()
    ]


@dataclass(frozen=True)
class Reconciliation:
    """纸质票清点: issued = returned + outstanding; returned = valid + invalid + blank + pending.

    `returned` counts the papers read back (one live reading each) and `recorded` the paper
    votes written to the vote table and the ledger, each independently of the per-result
    counts, so that `balanced` is a real check and not true by construction.
    """

    issued: int
    returned: int
    valid: int
    invalid: int
    blank: int
    pending: int
    recorded: int = 0  # paper votes in the vote table (each confirmed valid paper is one)

    @property
    def outstanding(self) -> int:
        return self.issued - self.returned

    @property
    def balanced(self) -> bool:
        return (
            0 <= self.returned <= self.issued
            and self.returned == self.valid + self.invalid + self.blank + self.pending
            and self.recorded == self.valid
        )

    @property
    def settled(self) -> bool:
        """Balanced and nothing waits for a 监票人: the paper count is ready for the close."""
        return self.balanced and self.pending == 0


def reconciliation(session: Session, ballot_id: int) -> Reconciliation:
    """The paper count in two queries: the three totals, then the live readings by result."""
    live = (col(PaperEntry.ballot_id) == ballot_id) & (
        col(PaperEntry.status) != PaperStatus.REJECTED
    )
    issued, returned, recorded = session.exec(
        select(
            select(sa.func.count())
            .select_from(PaperBallot)
            .where(PaperBallot.ballot_id == ballot_id)
            .scalar_subquery(),
            select(sa.func.count(sa.distinct(col(PaperEntry.paper_id))))
            .where(live)
            .scalar_subquery(),
            select(sa.func.count())
            .select_from(Vote)
            .where(Vote.ballot_id == ballot_id, Vote.channel == Channel.PAPER)
            .scalar_subquery(),
        )
    ).one()
    rows = session.exec(
        select(PaperEntry.result, PaperEntry.status, sa.func.count())
        .where(live)
        .group_by(PaperEntry.result, PaperEntry.status)
    ).all()
    counts = {(PaperResult(r).value, PaperStatus(s).value): n for r, s, n in rows}
    pending = sum(n for (_, s), n in counts.items() if s == PaperStatus.PENDING.value)

    def confirmed(result: PaperResult) -> int:
        return counts.get((result.value, PaperStatus.CONFIRMED.value), 0)

    return Reconciliation(
        issued=int(issued),
        returned=int(returned),
        valid=confirmed(PaperResult.VOTE),
        invalid=confirmed(PaperResult.INVALID),
        blank=confirmed(PaperResult.BLANK),
        pending=pending,
        recorded=int(recorded),
    )


@dataclass(frozen=True)
class EntryRow:
    entry: PaperEntry
    code: str
    roll_label: str
    option_label: str | None
    entered_by_name: str
    # The voter's current vote on any channel, if they have one: a confirmed paper vote will
    # be the later one and count; the earlier stays in the ledger.
    current_channel: Channel | None = None
    current_at: datetime | None = None


def pending_entries(
    session: Session,
    ballot_id: int,
    *,
    full_labels: bool,
    secret: bool = False,
    also: int | None = None,
) -> list[EntryRow]:
    """Paper readings waiting for a 监票人, each with its voter's current vote (one query).
    `full_labels`: the voters' rooms in full (the chair) or masked (the officers).
    `secret` (无记名): a reading shows its code and choice but nothing of its voter — no room
    and no earlier vote — so no one at the desk can tell whose choice it is. `also`: one entry
    listed though decided (a 确认 refused because another 监票人 decided it first)."""
    current = sa.orm.aliased(Vote)
    columns: tuple[Any, ...] = (
        PaperEntry,
        PaperBallot.code,
        RollEntry.label if full_labels else RollEntry.masked_label,
        BallotOption.code,
        User.name,
        current.channel,
        current.cast_at,
    )
    rows = session.execute(
        sa.select(*columns)
        .join(PaperBallot, col(PaperBallot.id) == PaperEntry.paper_id)
        .join(RollEntry, col(RollEntry.id) == PaperBallot.roll_id)
        .outerjoin(BallotOption, col(BallotOption.id) == PaperEntry.option_id)
        .join(User, col(User.id) == PaperEntry.entered_by_id)
        .outerjoin(
            current,
            (col(current.roll_id) == RollEntry.id) & col(current.is_current).is_(True),
        )
        .where(
            col(PaperEntry.ballot_id) == ballot_id,
            (col(PaperEntry.status) == PaperStatus.PENDING) | (col(PaperEntry.id) == also),
        )
        .order_by(col(PaperEntry.id))
    ).all()
    options = dict(option_codes(session, ballot_id))  # in the reader's language
    if secret:
        return [
            EntryRow(e, code, "", options.get(opt) if opt else None, name)
            for e, code, _, opt, name, _, _ in rows
        ]
    return [
        EntryRow(
            e, code, label, options.get(opt) if opt else None, name, Channel(ch) if ch else None, at
        )
        for e, code, label, opt, name, ch, at in rows
    ]


def paper_ballots(session: Session, ballot_id: int) -> list[tuple[PaperBallot, RollEntry]]:
    return [
        (p, r)
        for p, r in session.exec(
            select(PaperBallot, RollEntry)
            .join(RollEntry, col(RollEntry.id) == PaperBallot.roll_id)
            .where(PaperBallot.ballot_id == ballot_id)
            .order_by(col(RollEntry.sort_key), col(RollEntry.id))  # the 领票登记 sheet's order
        ).all()
    ]


def roll_labels(session: Session, ballot_id: int) -> list[RollEntry]:
    """The frozen roll in its order (the 领票登记 sheet): entries only, no votes, no codes."""
    return list(
        session.exec(
            select(RollEntry)
            .where(RollEntry.ballot_id == ballot_id)
            .order_by(col(RollEntry.sort_key), col(RollEntry.id))
        ).all()
    )


def get_resolution(session: Session, *, hall_id: int, issue_id: int) -> Resolution | None:
    return session.exec(
        select(Resolution)
        .where(Resolution.hall_id == hall_id, Resolution.issue_id == issue_id)
        .order_by(col(Resolution.id).desc())
    ).first()


def get_publicized_resolution(
    session: Session, *, hall_id: int, issue_id: int, ballot_id: int | None = None
) -> Resolution | None:
    """The latest 决议 that went to 公示 (a failed vote's 决议 never does); with `ballot_id`,
    that ballot's."""
    query = select(Resolution).where(
        Resolution.hall_id == hall_id,
        Resolution.issue_id == issue_id,
        col(Resolution.publicity_starts_at).is_not(None),
    )
    if ballot_id is not None:
        query = query.where(Resolution.ballot_id == ballot_id)
    return session.exec(query.order_by(col(Resolution.id).desc())).first()


def get_objection(session: Session, *, hall_id: int, objection_id: int) -> Objection | None:
    return session.exec(
        select(Objection).where(Objection.id == objection_id, Objection.hall_id == hall_id)
    ).first()


@dataclass(frozen=True)
class Attendance:
    """实到: voters who took part (voted, or were marked present at a meeting), and their area."""

    count: int
    area_centi_m2: int


def attendance(session: Session, ballot: Ballot) -> Attendance:
    voted = (
        select(Vote.id)
        .where(
            col(Vote.roll_id) == RollEntry.id,
            col(Vote.is_current).is_(True),
        )
        .exists()
    )
    count, area = session.exec(
        select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(RollEntry.weight_centi_m2), 0),
        ).where(RollEntry.ballot_id == ballot.id, col(RollEntry.present).is_(True) | voted)
    ).one()
    return Attendance(int(count), int(area))


@dataclass(frozen=True)
class Contact:
    """The 公示's contact: the chair by name, and the hall's public number (Hall.office_phone,
    "" if the chair set none). The chair's own login number is never printed, nor masked,
    which no one could call (issue #14)."""

    name: str
    phone: str = ""


def publicity_contact(session: Session, *, hall_id: int, prefer_user_id: int) -> Contact | None:
    """Whom residents ask about a 公示: the chair who ran the vote if still a chair, else the
    hall's longest-serving chair."""
    office_phone = session.exec(select(Hall.office_phone).where(Hall.id == hall_id)).one()
    rows = session.exec(
        select(User.id, User.name)
        .join(Membership, col(Membership.user_id) == User.id)
        .join(MembershipRole, col(MembershipRole.membership_id) == Membership.id)
        .where(
            Membership.hall_id == hall_id,
            Membership.status == MembershipStatus.VERIFIED,
            MembershipRole.role == Role.CHAIR,
        )
        .order_by(col(Membership.id))
    ).all()
    if not rows:
        return Contact("", office_phone) if office_phone else None
    _, name = next((r for r in rows if r[0] == prefer_user_id), rows[0])
    return Contact(name, office_phone)


@dataclass(frozen=True)
class ObjectionRow:
    objection: Objection
    author_name: str


def list_objections(session: Session, *, hall_id: int, resolution_id: int) -> list[ObjectionRow]:
    rows = session.exec(
        select(Objection, User.name)
        .join(User, col(User.id) == Objection.author_id)
        .where(Objection.hall_id == hall_id, Objection.resolution_id == resolution_id)
        .order_by(col(Objection.id))
    ).all()
    return [ObjectionRow(o, name) for o, name in rows]


def is_finished(ballot: Ballot) -> bool:
    return ballot.status in (BallotStatus.CLOSED, BallotStatus.PUBLISHED)


def votes_of(session: Session, ballot_id: int) -> Sequence[Vote]:
    """Every vote row, current or not (the verifier compares them with the ledger)."""
    return session.exec(select(Vote).where(Vote.ballot_id == ballot_id)).all()


# --- the verifier (SECURITY.md §8, VOTE-05, VOTE-07, VOTE-09, VOTE-11) -----------------------

_BREAK_REASONS = {
    "gap": "高度不连续，有记录缺失",
    "prev_hash": "上一条哈希对不上",
    "hash": "内容与哈希不符，记录被改过",
    "body": "记录的类型或高度与内容不符",
}


@dataclass(frozen=True)
class Verification:
    """What `python -m app ballot verify` reports: ok only when every check holds."""

    ok: bool
    problems: list[str]
    head: str  # the last hash that links (the chain's head when ok)
    height: int  # the ballot's recorded height
    checked: int  # ledger events that link
    votes: int = 0  # current votes, in the ledger's replay
    recounted: bool = False  # the frozen result was recomputed and compared


def verify_ballot(session: Session, ballot_id: int, expect_head: str | None = None) -> Verification:
    """Recompute everything a ballot's published record claims, from the database alone.

    Checks: the hash chain links (naming the first broken height); the ballot's head and
    height are the chain's; the frozen roll hashes to the roll hash published at open; every
    vote row has its receipt in the ledger and the current votes are the ledger's replay;
    a closed ballot's result recomputes byte for byte; `expect_head`, a head published
    earlier, is still in the chain (nothing was cut off after it).
    """
    ballot = session.get(Ballot, ballot_id)
    if ballot is None:
        return Verification(False, [f"没有编号为 {ballot_id} 的表决"], ledger.GENESIS, 0, 0)
    problems: list[str] = []
    events = ledger_events(session, ballot_id)
    verdict = ledger.verify(events)
    if not verdict.ok:
        reason = verdict.reason or ""
        problems.append(
            f"账本在第 {verdict.broken_height} 条断开（{reason}：{_BREAK_REASONS.get(reason, '')}）；"
            f"此前 {verdict.checked} 条完好"
        )
    bodies = _bodies(events, ballot_id, problems)
    if verdict.ok and (ballot.height, ballot.head_hash or ledger.GENESIS) != (
        verdict.checked,
        verdict.head,
    ):
        problems.append(
            f"表决记录的链头（第 {ballot.height} 条，{ballot.head_hash}）与账本的链头"
            f"（第 {verdict.checked} 条，{verdict.head}）不一致：账本末尾可能被删除"
        )
    roll = session.exec(
        select(
            RollEntry.id,
            RollEntry.voter_key,
            RollEntry.weight_centi_m2,
            RollEntry.present,
        ).where(RollEntry.ballot_id == ballot_id)
    ).all()
    if ballot.status != BallotStatus.DRAFT and ballot.rule != rules.RuleKind.CONSENSUS:
        _check_roll(ballot, roll, bodies, problems)
    replayed = _replay(events, problems)
    _check_votes(session, ballot, roll, events, replayed, problems)
    recounted = False
    if is_finished(ballot):
        recounted = _check_result(ballot, roll, replayed, bodies, problems)
    if expect_head is not None:
        wanted = expect_head.strip().lower()
        if wanted not in {ev.hash for ev in events}:
            problems.append(
                f"发布过的链头 {wanted} 不在账本中：它之后（或它本身）的记录被删除或改写"
            )
    return Verification(
        ok=not problems,
        problems=problems,
        head=verdict.head,
        height=ballot.height,
        checked=verdict.checked,
        votes=len(replayed or {}),
        recounted=recounted,
    )


def _bodies(
    events: Sequence[ledger.Stored], ballot_id: int, problems: list[str]
) -> dict[int, dict[str, Any]]:
    """Each event's body by height; events that are not JSON, or name another ballot, are
    reported (the chain check may already have named them)."""
    bodies: dict[int, dict[str, Any]] = {}
    for ev in events:
        try:
            body = json.loads(ev.body)
        except ValueError:
            problems.append(f"账本第 {ev.height} 条不是有效的 JSON")
            continue
        if not isinstance(body, dict) or body.get("ballot") != ballot_id:
            problems.append(f"账本第 {ev.height} 条不属于这个表决")
            continue
        bodies[ev.height] = body
    return bodies


def _check_roll(
    ballot: Ballot,
    roll: Sequence[tuple[int | None, str, int, bool]],
    bodies: dict[int, dict[str, Any]],
    problems: list[str],
) -> None:
    recomputed = ledger.roll_hash((key, weight) for _, key, weight, _ in roll)
    if recomputed != ballot.roll_hash:
        problems.append(
            f"投票人名单哈希复算为 {recomputed}，与开始投票时冻结的 {ballot.roll_hash} 不符：名单或权重被改过"
        )
    opened = bodies.get(1)
    if opened is None or opened.get("kind") != "open":
        problems.append("账本第 1 条不是开始投票的记录")
    else:
        published = (opened.get("roll_hash"), opened.get("roll_count"), opened.get("roll_area"))
        stored = (ballot.roll_hash, ballot.roll_count, ballot.roll_area_centi_m2)
        if published != stored:
            problems.append(
                f"账本公布的名单（哈希 {published[0]}，{published[1]} 人，面积 {published[2]}）"
                f"与表决记录（哈希 {stored[0]}，{stored[1]} 人，面积 {stored[2]}）不符"
            )
        if (len(roll), sum(w for _, _, w, _ in roll)) != (published[1], published[2]):
            problems.append(
                f"名单现有 {len(roll)} 人，与开始投票时公布的 {published[1]} 人（或总面积）不符"
            )


def _replay(events: Sequence[ledger.Stored], problems: list[str]) -> dict[str, str] | None:
    try:
        return ledger.replay(events)
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"无法重放账本：{type(exc).__name__}")
        return None


def _check_votes(
    session: Session,
    ballot: Ballot,
    roll: Sequence[tuple[int | None, str, int, bool]],
    events: Sequence[ledger.Stored],
    replayed: dict[str, str] | None,
    problems: list[str],
) -> None:
    """Every vote row's receipt is on the ledger; the current rows are the ledger's replay."""
    rows = session.exec(
        select(Vote.roll_id, Vote.receipt, Vote.is_current, BallotOption.code)
        .join(BallotOption, col(BallotOption.id) == Vote.option_id)
        .where(Vote.ballot_id == ballot.id)
    ).all()
    receipts = {ledger.receipt_of(ev.hash) for ev in events if ev.kind in ledger.VOTE_KINDS}
    for _, receipt, _, _ in rows:
        if receipt not in receipts:
            problems.append(f"投票表中回执 {receipt} 的票在账本中没有记录")
    if replayed is None:
        return
    ref_of = {rid: ledger.voter_ref(ballot.ref_key, key) for rid, key, _, _ in roll}
    table: dict[str, tuple[str, str]] = {}
    for roll_id, receipt, current, code in rows:
        if not current:
            continue
        ref = ref_of.get(roll_id, f"roll:{roll_id}")
        if ref in table:
            problems.append(f"投票人 {ref[:8]} 在投票表中有不止一张当前票")
        table[ref] = (receipt, code)
    for ref in sorted(set(table) | set(replayed)):
        in_table, in_ledger = table.get(ref), replayed.get(ref)
        if in_table is None:
            problems.append(f"账本中投票人 {ref[:8]} 的当前票（{in_ledger}）在投票表中没有")
        elif in_ledger is None:
            problems.append(
                f"投票表中回执 {in_table[0]} 是当前票（{in_table[1]}），账本中此人没有当前票"
            )
        elif in_table[1] != in_ledger:
            problems.append(
                f"投票表中回执 {in_table[0]} 的选项是 {in_table[1]}，账本中是 {in_ledger}"
            )
    unknown = set(replayed) - set(ref_of.values())
    if unknown:
        problems.append(f"账本中有 {len(unknown)} 个投票人不在冻结的名单中")


def _check_result(
    ballot: Ballot,
    roll: Sequence[tuple[int | None, str, int, bool]],
    replayed: dict[str, str] | None,
    bodies: dict[int, dict[str, Any]],
    problems: list[str],
) -> bool:
    """The frozen result equals the close event's and, for a vote, a recount from the
    ledger's current choices and the frozen roll (attendance for meeting rules)."""
    closes = [b for b in bodies.values() if b.get("kind") == "close"]
    if len(closes) != 1:
        problems.append(f"账本中应有一条截止记录，实有 {len(closes)} 条")
    elif ledger.canonical(closes[0].get("result") or {}) != ballot.result:
        problems.append("表决记录中冻结的结果与账本截止记录中的结果不一致")
    if ballot.rule == rules.RuleKind.CONSENSUS or replayed is None:
        return False
    key_of_ref = {ledger.voter_ref(ballot.ref_key, key): key for _, key, _, _ in roll}
    votes = {key_of_ref[ref]: code for ref, code in replayed.items() if ref in key_of_ref}
    outcome = rules.tally(
        ballot.rule, (ballot.quorum_num, ballot.quorum_den), _roll_voters(roll), votes
    )
    legacy = rules.is_legacy_result(stored_result(ballot) or {})
    recount = ledger.canonical(rules.result_data(outcome, legacy=legacy))
    if recount != ballot.result:
        problems.append(f"按账本复算的结果与冻结的结果不一致：复算为 {recount}")
    if outcome.passed != ballot.passed:
        problems.append("复算的通过与否与表决记录不一致")
    return True


# --- telling voters they have a vote (issue #14) ------------------------------------------------


def caster_ids(session: Session, ballot_id: int) -> set[int]:
    """Everyone who may cast a vote on the ballot's roll."""
    return set(session.exec(select(RollCaster.user_id).where(RollCaster.ballot_id == ballot_id)))


def _not_voted() -> sa.ColumnElement[bool]:
    """The caster's roll entry has no current vote (cast by them or anyone for their 户)."""
    return ~(
        select(Vote.id)
        .where(col(Vote.roll_id) == RollCaster.roll_id, col(Vote.is_current).is_(True))
        .exists()
    )


def casters_not_voted(session: Session, ballot_id: int) -> set[int]:
    """Those on the roll whose vote has not been cast yet: the reminder goes to them."""
    return set(
        session.exec(
            select(RollCaster.user_id).where(RollCaster.ballot_id == ballot_id, _not_voted())
        )
    )


@dataclass(frozen=True)
class AwaitingVote:
    ballot_id: int
    issue_id: int
    title: str
    closes_at: datetime | None


def awaiting_vote(session: Session, *, hall_id: int, user_id: int) -> list[AwaitingVote]:
    """The hall's open ballots on whose roll the person is and whose vote is not cast yet:
    "等您投票" on the hall home (one query)."""
    rows = session.exec(
        select(Ballot.id, Ballot.issue_id, Ballot.title, Ballot.closes_at)
        .join(RollCaster, col(RollCaster.ballot_id) == Ballot.id)
        .where(
            Ballot.hall_id == hall_id,
            Ballot.status == BallotStatus.OPEN,
            RollCaster.user_id == user_id,
            _not_voted(),
        )
        .order_by(col(Ballot.closes_at).is_(None), col(Ballot.closes_at), col(Ballot.id))
    ).all()
    return [AwaitingVote(b or 0, i, t, c) for b, i, t, c in rows]


# How far an issue's vote is, in SQL (the one rule, for a list and for the hall's counts): in
# 表决中, "open" when a ballot is open, else "closed" when one has closed and waits for the
# chair's next step; NULL otherwise (no ballot yet, or only a draft: the chair is to start one).
_VOTE_STATE = sa.case(
    (col(Issue.stage) != Stage.DECIDING, sa.null()),
    (
        sa.exists().where(
            col(Ballot.issue_id) == col(Issue.id), col(Ballot.status) == BallotStatus.OPEN
        ),
        "open",
    ),
    (
        sa.exists().where(
            col(Ballot.issue_id) == col(Issue.id), col(Ballot.status) == BallotStatus.CLOSED
        ),
        "closed",
    ),
    else_=sa.null(),
)


def vote_state_is(state: VoteState) -> sa.ColumnElement[bool]:
    """The condition (SQL, on Issue) that an issue is in 表决中 with its vote in `state`, as
    vote_states says it: the issue list's `vote` filter, no query of its own."""
    vote = _VOTE_STATE
    if state == VoteState.WAITING:
        return sa.and_(col(Issue.stage) == Stage.DECIDING, vote.is_(None))
    return vote == state.value


def vote_states(session: Session, *, hall_id: int, issues: Sequence[Issue]) -> dict[int, str]:
    """Of `issues`, those in 表决中 whose vote is under way or closed, by id (one query, none if
    no issue is in 表决中); an issue absent waits for the chair to start one."""
    deciding = sorted({i.id or 0 for i in issues if i.stage == Stage.DECIDING})
    if not deciding:
        return {}
    rows = session.exec(
        select(Issue.id, _VOTE_STATE).where(Issue.hall_id == hall_id, col(Issue.id).in_(deciding))
    ).all()
    return {issue_id or 0: state for issue_id, state in rows if state is not None}


def count_issues_by_state(session: Session, *, hall_id: int) -> dict[tuple[Stage, str | None], int]:
    """The hall's issues counted by stage, those in 表决中 split by their vote as vote_states
    says ("open", "closed", or None: waiting for the chair to open one), in one aggregate
    query: the hall page's counts."""
    per_issue = (
        select(col(Issue.stage).label("stage"), _VOTE_STATE.label("vote"))
        .where(Issue.hall_id == hall_id)
        .subquery()
    )
    rows = session.exec(
        select(per_issue.c.stage, per_issue.c.vote, sa.func.count()).group_by(
            per_issue.c.stage, per_issue.c.vote
        )
    ).all()
    return {(Stage(stage), vote_state): n for stage, vote_state, n in rows}
