"""Reads for the meeting as it is held: the speaker queue, the speeches in speaking order, the
current item and its ballots with their live tally, and everything the chair's live mode and
the projector show, in a fixed number of statements however long the queue and the record.

The tally of a ballot is the voting domain's (app/templates/voting/_tally.html, the context
app.voting.routes gives it, kept in step here: turnout, option codes and whether the split is
shown); the page then follows it over the ballot's own stream (`ballots.live`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.halls.policies import HallAccess
from app.meetings import labels, queries
from app.meetings import rules as meeting_rules
from app.meetings.models import Meeting, MeetingStatus, Speaker, SpeakerStatus, Speech
from app.meetings.queries import ItemRow
from app.voting import policies as voting_policies
from app.voting import queries as voting_queries
from app.voting.labels import CheckLine
from app.voting.models import Ballot, BallotStatus


@dataclass(frozen=True)
class Queue:
    """Who has the floor, and who waits, in order (the next to speak first)."""

    speaking: Speaker | None
    waiting: list[Speaker]

    def place_of(self, membership_id: int | None) -> int | None:
        """A member's place in the queue (1 = next), or None."""
        for place, speaker in enumerate(self.waiting, start=1):
            if membership_id is not None and speaker.membership_id == membership_id:
                return place
        return None


def queue(session: Session, meeting: Meeting) -> Queue:
    rows = session.exec(
        select(Speaker)
        .where(
            Speaker.meeting_id == meeting.id,
            col(Speaker.status).in_((SpeakerStatus.WAITING, SpeakerStatus.SPEAKING)),
        )
        .order_by(col(Speaker.position), col(Speaker.id))
    ).all()
    speaking = next((s for s in rows if s.status == SpeakerStatus.SPEAKING), None)
    return Queue(speaking, [s for s in rows if s.status == SpeakerStatus.WAITING])


def get_speaker(session: Session, meeting: Meeting, speaker_id: int) -> Speaker | None:
    """A speaker of this meeting, whatever their status (a refused queue row's)."""
    return session.exec(
        select(Speaker).where(Speaker.id == speaker_id, Speaker.meeting_id == meeting.id)
    ).first()


def speeches(session: Session, meeting: Meeting) -> list[Speech]:
    """The speeches noted, in speaking order."""
    return list(
        session.exec(
            select(Speech).where(Speech.meeting_id == meeting.id).order_by(col(Speech.position))
        ).all()
    )


def get_speech(session: Session, meeting: Meeting, speech_id: int) -> Speech | None:
    return session.exec(
        select(Speech).where(Speech.id == speech_id, Speech.meeting_id == meeting.id)
    ).first()


def item_ballots(session: Session, meeting: Meeting, item: ItemRow | None) -> list[Ballot]:
    """The ballots held at this meeting on the item's issue (none for a free item)."""
    if item is None or item.item.issue_id is None:
        return []
    return list(
        session.exec(
            select(Ballot)
            .where(Ballot.meeting_id == meeting.id, Ballot.issue_id == item.item.issue_id)
            .order_by(col(Ballot.id))
        ).all()
    )


def tally_context(session: Session, access: HallAccess, ballot: Ballot) -> dict[str, Any]:
    """What voting/_tally.html takes (as app.voting.routes gives it)."""
    finished = voting_queries.is_finished(ballot)
    return {
        "ballot": ballot,
        "turnout": voting_queries.turnout(session, ballot),
        "options": voting_queries.option_codes(session, ballot.id or 0),
        "sees_split": voting_policies.sees_split(
            access, live_results=ballot.live_results, secret=ballot.secret, finished=finished
        ),
        "finished": finished,
        "streams": ballot.status == BallotStatus.OPEN,  # follow it over ballots.live
    }


@dataclass(frozen=True)
class LiveView:
    """The meeting now: what the chair's live mode and the projector show."""

    meeting: Meeting
    agenda: list[ItemRow]
    current: ItemRow | None
    attendance: meeting_rules.Attendance
    quorum_lines: list[CheckLine]
    queue: Queue
    ballots: list[Ballot]

    @property
    def live(self) -> bool:
        return self.meeting.started_at is not None and self.meeting.status == (
            MeetingStatus.SCHEDULED
        )

    def key(self) -> tuple[object, ...]:
        """What the projector shows, as a value: an unchanged key sends nothing."""
        return (
            self.meeting.status.value,
            self.meeting.started_at,
            self.meeting.current_item_id,
            self.attendance.expected,
            self.attendance.present,
            self.queue.speaking.id if self.queue.speaking else None,
            tuple((s.id, s.name, s.identity) for s in self.queue.waiting),
        )

    def ballots_key(self) -> tuple[object, ...]:
        return tuple((b.id, b.status.value) for b in self.ballots)


def live_view(session: Session, meeting: Meeting) -> LiveView:
    agenda = queries.agenda(session, meeting)
    current = next((r for r in agenda if r.item.id == meeting.current_item_id), None)
    answer = queries.attendance(session, meeting)
    return LiveView(
        meeting=meeting,
        agenda=agenda,
        current=current,
        attendance=answer,
        quorum_lines=labels.quorum_lines(answer),
        queue=queue(session, meeting),
        ballots=item_ballots(session, meeting, current),
    )


def tallies(session: Session, access: HallAccess, view: LiveView) -> list[dict[str, Any]]:
    """The tally of each ballot of the current item that is open or finished (a draft has
    none to show)."""
    return [
        tally_context(session, access, b) for b in view.ballots if b.status != BallotStatus.DRAFT
    ]


@dataclass(frozen=True)
class MyHand:
    """The meeting page's 举手发言 card for the one looking at it."""

    live: bool  # the meeting is open (started, not closed)
    can_raise: bool  # a verified member signed in to it
    speaking: bool  # they have the floor
    place: int | None  # their place in the queue (1 = next), or None
    waiting: int  # how many wait in all


def my_hand(session: Session, access: HallAccess, meeting: Meeting, *, signed_in: bool) -> MyHand:
    live = meeting.started_at is not None and meeting.status == MeetingStatus.SCHEDULED
    if not live:
        return MyHand(False, False, False, None, 0)
    now = queue(session, meeting)
    mine = access.membership_id
    speaking = now.speaking is not None and mine is not None and now.speaking.membership_id == mine
    return MyHand(
        live=True,
        can_raise=access.is_verified and signed_in,
        speaking=speaking,
        place=now.place_of(mine),
        waiting=len(now.waiting),
    )
