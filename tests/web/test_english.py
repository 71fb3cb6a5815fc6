"""English is complete (issue #14): in English mode no page says anything in Chinese.

A world whose user content is all ASCII (the street, the hall, its buildings, the people, the
issues, comments, 方案, ballots, meetings, minutes, tasks, escalations, 民评) is built through
the services, one per database. Every GET route of the route inventory
(tests/web/test_route_inventory.py ROUTES) — pages, htmx fragments, print views, PDFs (their
text read back with pypdf), streams, the calendar file and the JSON API — is then asked in
English by each kind of person who may see it, with the objects of every stage in its path;
whatever it answers (a page, a fragment, a 404 page) must hold no CJK character outside the
small allow-list below. So must the 422 and 409 answers of a sample of forms.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pypdf import PdfReader

from app.accounts import service as accounts
from app.accounts.models import User
from app.core import clock
from app.core.errors import NotAllowed, ValidationFailed
from app.db import Database
from app.escalations import schemas as escalation_schemas
from app.escalations import service as escalation_service
from app.escalations.models import Urgency
from app.evaluations import schemas as evaluation_schemas
from app.evaluations import service as evaluation_service
from app.halls import queries as hall_queries
from app.halls import roster, schemas, service
from app.halls.models import Entrance, Hall, Household
from app.halls.policies import HallAccess
from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.issues.models import Category, Issue, Source, Stance
from app.meetings import schemas as meeting_schemas
from app.meetings import service as meeting_service
from app.meetings.rules import MeetingKind
from app.tasks import schemas as task_schemas
from app.tasks import service as task_service
from app.tasks.models import PartyType, TaskPhoto
from app.voting import schemas as vote_schemas
from app.voting import service as vote_service
from app.voting.models import Ballot
from app.voting.rules import RuleKind, VoterUnit
from tests import escalation_helpers as eh
from tests import meeting_helpers as mh
from tests import minutes_helpers as minh
from tests.conftest import ORIGIN, Client
from tests.factories import PASSWORD, HallWorld, make_user, unique, unique_phone
from tests.implementation_helpers import frozen
from tests.web import issue_helpers as ih
from tests.web import voting_helpers as vh
from tests.web.test_route_inventory import ROUTES, Access

# Han ideographs (extension A, the basic block, compatibility), CJK punctuation, full-width forms.
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")

# Shown in Chinese on purpose, each for its reason:
ALLOWED = {
    # The language switch names each language in its own tongue (the way back to Chinese must
    # be readable by someone who reads no English).
    "简体中文",
}
# The roster page explains the spreadsheet to upload: its column names and the words of its
# 身份 column are what the importer reads (app/halls/roster.py COLUMNS, RELATIONS), so they
# are quoted as they must be typed, each followed by its English.
ROSTER_WORDS = {"楼栋", "单元", "房号", "面积", "姓名", "电话", "身份", "业主", "租户", "家庭成员"}
ALLOWED_ON = {"/halls/{hall_id}/roster": ROSTER_WORDS}
# The minutes in the API are the document itself, as the server built it in Chinese (the
# issuer, the quorum check's words): once signed, the audit chain holds its sha256, so it stays
# as written. The minutes pages and PDF say the same in the reader's language.
RECORDS = {("GET", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes")}

SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
COMMENT = re.compile(r"<!--.*?-->", re.S)


def chinese_in(text: str, allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The runs of CJK characters in `text` that are not allowed, each with some context."""
    found = []
    for match in CJK.finditer(text):
        if match.group() in ALLOWED or match.group() in allowed:
            continue
        start, end = max(match.start() - 40, 0), min(match.end() + 40, len(text))
        found.append(f"{match.group()!r} in …{text[start:end]!r}…")
    return found


def visible(html: str) -> str:
    """The page less its scripts, style sheets and comments (attributes stay: titles,
    placeholders and aria-labels are read too)."""
    return COMMENT.sub("", SCRIPT.sub("", html))


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


# --- the world: every stage, all of its content in ASCII ---------------------------------------


@dataclass
class World:
    db: Database
    a: HallWorld
    users: dict[str, User]
    clients: dict[str, Client] = field(default_factory=dict)
    # path parameter → the values to crawl it with (every stage's object)
    params: dict[str, list[Any]] = field(default_factory=dict)
    # a route's own choice of objects, where the generic ones would not show its content
    routes: dict[tuple[str, str], list[dict[str, int]]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # (a piece of the route's path, a parameter, its values there): the objects a page is
    # about, where every stage's object would only be refused (the first piece found wins)
    narrow: list[tuple[str, str, list[int]]] = field(default_factory=list)

    def invite_token(self) -> str:
        with self.db.session(read_only=True) as session:
            hall = session.get(Hall, self.a.hall.id)
            assert hall is not None
            return hall.invite_token


def ascii_hall(db: Database, admin: User, n: int) -> HallWorld:
    with db.session() as session:
        street = service.create_street(
            session=session, district="Dongcheng", name=unique("Elm Street "), actor_id=admin.id
        )
        hall = service.create_hall(
            session=session,
            street=street,
            name=unique("Maple Court "),
            address="1 Maple Road",
            actor_id=admin.id,
        )
        table = [list(roster.COLUMNS)]
        for b in (1, 2):
            for e in (1, 2):
                table.extend(
                    [f"Block {b}", f"Door {e}", f"{100 + r}", f"{60 + r}.25", "", "", ""]
                    for r in range(1, 5)
                )
        access = HallAccess(user_id=admin.id, hall_id=hall.id or 0, is_platform_admin=True)
        service.import_roster(
            session=session, access=access, actor=admin, roster=roster.parse_rows(table)
        )
        households = list(
            session.exec(
                sa.select(Household).where(Household.hall_id == hall.id).order_by(Household.id)
            ).scalars()
        )
    del n
    return HallWorld(street, hall, admin, households)


def access_of(db: Database, a: HallWorld, user: User) -> HallAccess:
    with db.session(read_only=True) as session:
        return hall_queries.hall_access(session, user=user, hall=a.hall)


def call(w: World, role: str, use_case: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one use case as the person of `role`, in a session of its own."""
    user = w.users[role]
    access = access_of(w.db, w.a, user)
    with w.db.session() as session:
        return use_case(session=session, access=access, actor=user, **kwargs)


def member(w: World, role: str, name: str, index: int, *, verified: bool = True) -> User:
    user = make_user(w.db, name=name)
    with w.db.session() as session:
        form = schemas.JoinForm(household_id=w.a.households[index].id, relation="owner")
        joined = service.join_hall(
            session=session, user=user, token=w.a.hall.invite_token, form=form
        )
    if verified:
        call(w, "chair", service.verify_member, membership_id=joined.id or 0)
    w.users[role] = user
    return user


def entered(w: World, title: str) -> Issue:
    """An issue the chair entered from a hotline call: in review."""
    form = issue_schemas.OnBehalfIssueForm(
        title=title,
        description="Reported on the hotline: " + title.lower(),
        category=Category.OTHER,
        source=Source.HOTLINE,
        work_order_no="A123",
    )
    issue: Issue = call(w, "chair", issue_service.enter_issue_on_behalf, form=form)
    return issue


def deliberating(w: World, title: str) -> Issue:
    issue = entered(w, title)
    moved: Issue = call(
        w, "chair", issue_service.accept_issue, issue_id=issue.id, form=issue_schemas.AcceptForm()
    )
    return moved


def solution(w: World, issue: Issue, title: str = "Paint new bays") -> int:
    made = call(
        w,
        "chair",
        issue_service.add_solution,
        issue_id=issue.id,
        form=issue_schemas.SolutionForm(
            title=title, description="Paint bays along the lawn", estimated_cost="1200"
        ),
    )
    return int(made.id)


def deciding(w: World, title: str, solutions: int = 1) -> tuple[Issue, list[int]]:
    issue = deliberating(w, title)
    ids = [solution(w, issue, f"Plan {n + 1}") for n in range(solutions)]
    call(
        w,
        "chair",
        issue_service.close_deliberation,
        issue_id=issue.id,
        form=issue_schemas.CloseForm(
            agreements="Everyone wants more bays",
            disagreements="Cost sharing, answered",
            solution_ids=ids,
        ),
    )
    return issue, ids


def ballot(w: World, issue: Issue, rule: RuleKind, *, opened: bool = True, **values: Any) -> Ballot:
    form = vote_schemas.BallotForm(title=f"Vote on {issue.title}", rule=rule, **values)
    made: Ballot = call(w, "chair", vote_service.create_ballot, issue_id=issue.id, form=form)
    if opened:
        made = call(w, "chair", vote_service.open_ballot, ballot_id=made.id)
    return made


def vote(w: World, role: str, made: Ballot, option: str) -> None:
    form = vote_schemas.VoteForm(option=option, submission_id=vh.sid(), consent=True)
    call(w, role, vote_service.cast_vote, ballot_id=made.id, form=form)


def close(w: World, made: Ballot) -> None:
    call(w, "chair", vote_service.close_ballot, ballot_id=made.id)


def publicizing(w: World, title: str) -> tuple[Issue, Ballot]:
    issue, _ = deciding(w, title)
    made = ballot(w, issue, RuleKind.CONSENSUS, opened=False)
    call(
        w,
        "chair",
        vote_service.record_consensus,
        ballot_id=made.id,
        form=vote_schemas.ConsensusForm(passed=True, text="Agreed: adopt plan 1"),
    )
    return issue, made


def object_to(w: World, role: str, issue: Issue, body: str) -> int:
    form = vote_schemas.ObjectionForm(body=body)
    made = call(w, role, vote_service.file_objection, issue_id=issue.id, form=form)
    return int(made.id)


def implementing(w: World, title: str) -> Issue:
    issue, made = publicizing(w, title)
    with w.db.session(read_only=True) as session:
        from app.voting.models import Resolution

        resolution = session.exec(
            sa.select(Resolution).where(Resolution.ballot_id == made.id)
        ).scalar_one()
    assert resolution.publicity_ends_at is not None
    with frozen(resolution.publicity_ends_at + timedelta(seconds=1)):
        moved: Issue = call(w, "chair", vote_service.end_publicity, issue_id=issue.id)
    return moved


def task(w: World, issue: Issue, title: str, party: PartyType, **values: Any) -> Any:
    data: dict[str, Any] = {
        "title": title,
        "party_type": party,
        "party_name": "Acme Property" if party == PartyType.PROPERTY else "",
        "due_at": (clock.now() + timedelta(days=7)).replace(microsecond=0).isoformat(),
        **values,
    }
    form = task_schemas.TaskPageForm.model_validate(data)
    return call(w, "chair", task_service.add_task, issue_id=issue.id, form=form)


def report(w: World, made: Any, text: str, **values: Any) -> Any:
    form = task_schemas.UpdatePageForm.model_validate({"text": text, **values})
    return call(
        w,
        "chair",
        task_service.report_progress,
        issue_id=made.issue_id,
        task_id=made.id,
        form=form,
        uploads=values.pop("uploads", []) if "uploads" in values else [ih.jpeg_with_exif()],
    )


def meeting_form(kind: MeetingKind, title: str, **values: Any) -> meeting_schemas.MeetingForm:
    return mh.form(
        kind,
        starts_in=timedelta(minutes=30),
        short_notice_reason="Urgent repairs",
        title=title,
        place="Community room",
        free_items=["Clear the stairwells", "Charging point"],
        **values,
    )


def build(app: FastAPI, db: Database) -> Iterator[World]:
    with db.session() as session:
        admin, _ = accounts.create_admin(session=session, phone=unique_phone(), name="Admin Root")
    a = ascii_hall(db, admin, 1)
    chair = make_user(db, name="Wendy Chair")
    with db.session() as session:
        service.appoint_chair(
            session=session,
            access=HallAccess(user_id=admin.id, hall_id=a.hall.id or 0, is_platform_admin=True),
            actor_id=admin.id,
            hall=a.hall,
            user=chair,
        )
    w = World(db=db, a=a, users={"chair": chair})
    resident = member(w, "resident", "Rita Resident", 0)
    neighbour = member(w, "neighbour", "Ned Neighbour", 5)
    member(w, "applicant", "Abe Applicant", 1, verified=False)
    mh.give_roles(db, a, chair, chair, "chair", "council")
    mh.give_roles(db, a, chair, resident, "council")
    street = eh.street_admin(db, a, name="Sam Street")
    w.users["street"] = street
    officer = make_user(db, name="Dee Department")
    w.users["department"] = officer
    with db.session(read_only=True) as session:
        entrance = session.get(Entrance, a.households[0].entrance_id)
        assert entrance is not None
        building_id, entrance_id = entrance.building_id, entrance.id or 0

    # 民提 and 民议: collecting (with a photo and co-signatures), in review, deliberating with
    # comments and 方案, rejected, withdrawn.
    with db.session() as session:
        photo_issue = issue_service.propose_issue(
            session=session,
            access=access_of(db, a, neighbour),
            actor=neighbour,
            form=issue_schemas.ProposeForm(
                title="Broken street lamp",
                description="The lamp by Block 2 is out",
                category=Category.PARKING,
                location="Block 2",
            ),
            uploads=(ih.jpeg_with_exif(),),
        )
    call(w, "resident", issue_service.cosign_issue, issue_id=photo_issue.id)
    review = entered(w, "Noisy pump")
    rejected = entered(w, "Paint the moon")
    call(
        w,
        "chair",
        issue_service.reject_issue,
        issue_id=rejected.id,
        form=issue_schemas.ReasonForm(reason="Not a matter for the hall"),
    )
    talked = deliberating(w, "More parking bays")
    said = ih.comment(db, a, neighbour, talked.id or 0, body="I agree", stance=Stance.SUPPORT)
    ih.comment(db, a, resident, talked.id or 0, body="Too costly", stance=Stance.OPPOSE)
    ih.comment(db, a, chair, talked.id or 0, body="Noted", stance=Stance.NEUTRAL, parent_id=said.id)
    solution(w, talked)
    chairs_comment = ih.comment(db, a, chair, talked.id or 0, body="My own note")
    # 民决: a ballot of every rule, open with votes, and closed (passed, failed, settled)
    ballots: dict[str, int] = {}
    kinds = [
        (RuleKind.COUNCIL_MAJORITY, {}),
        (RuleKind.RESIDENTS_MEETING, {}),
        (RuleKind.REPRESENTATIVES_MEETING, {}),
        (RuleKind.OWNERS_ORDINARY, {}),
        (RuleKind.OWNERS_MAJOR, {}),
        (RuleKind.INTERESTED_UNANIMOUS, {}),
    ]
    for rule, values in kinds:
        issue, _ = deciding(w, f"Decide by {rule.value}")
        made = ballot(w, issue, rule, opened=False, live_results=True, **values)
        try:
            made = call(w, "chair", vote_service.open_ballot, ballot_id=made.id)
        except ValidationFailed:  # nobody on this rule's roll (no representatives): a draft
            pass
        else:
            for role, option in (("resident", "yes"), ("chair", "no")):
                with contextlib.suppress(NotAllowed):  # not on this rule's roll
                    vote(w, role, made, option)
        ballots[rule.value] = made.id or 0
    plural_issue, _ = deciding(w, "Pick a plan", solutions=3)
    plural = ballot(w, plural_issue, RuleKind.PLURALITY)
    ballots["plurality"] = plural.id or 0
    passed_issue, _ = deciding(w, "Passed vote")
    passed = ballot(w, passed_issue, RuleKind.COUNCIL_MAJORITY, secret=False)
    vote(w, "resident", passed, "yes")
    vote(w, "chair", passed, "yes")
    close(w, passed)
    failed_issue, _ = deciding(w, "Failed vote")
    failed = ballot(w, failed_issue, RuleKind.RESIDENTS_MEETING)
    vote(w, "resident", failed, "no")
    close(w, failed)
    settled_issue, _ = deciding(w, "Settled vote")
    settled = ballot(w, settled_issue, RuleKind.RESIDENTS_MEETING)
    close(w, settled)
    call(
        w,
        "chair",
        vote_service.settle_failed,
        ballot_id=settled.id,
        form=vote_schemas.FailedOutcomeForm(outcome="deliberate"),
    )
    draft_issue, _ = deciding(w, "Draft vote")
    draft = ballot(w, draft_issue, RuleKind.RESIDENTS_MEETING, opened=False)
    # Paper ballots: printed, an in-person vote, a reading waiting for the 监票人
    papers = ballot(
        w,
        deciding(w, "Paper vote")[0],
        RuleKind.RESIDENTS_MEETING,
        voter_unit=VoterUnit.HOUSEHOLD,
        counter_ids=[neighbour.id],
        secret=False,
    )
    vh.issue_papers(db, a, chair, papers)
    vh.in_person(db, a, chair, papers, vh.roll(db, papers)[0].entry.id or 0, "yes")
    reading = vh.enter_paper(db, a, neighbour, papers, vh.free_code(db, papers))
    vote_id = next(r.vote_id for r in vh.roll(db, papers) if r.vote_id is not None)
    # 公示 with an 异议 answered and one not
    public_issue, public_ballot = publicizing(w, "Fix the gate")
    objection = object_to(w, "neighbour", public_issue, "The cost split is unfair")
    answered = object_to(w, "resident", public_issue, "Ground floor pays too much")
    call(
        w,
        "chair",
        vote_service.answer_objection,
        objection_id=answered,
        form=vote_schemas.AnswerForm(answer="We changed the plan", upheld=True),
    )
    # 民办: tasks of every party, progress with a photo; an escalation through its steps
    doing = implementing(w, "Repair the lift")
    tasks = [
        task(w, doing, "Call the lift company", PartyType.PROPERTY),
        task(w, doing, "Tell the residents", PartyType.COMMITTEE),
        task(w, doing, "Sweep the yard", PartyType.VOLUNTEERS, volunteer_cap="5"),
    ]
    update = report(w, tasks[0], "Engineer came", progress="40")
    with db.session(read_only=True) as session:
        photo = session.exec(
            sa.select(TaskPhoto.id).where(TaskPhoto.update_id == update.id)
        ).scalar_one()
    late = task(w, doing, "Overdue task", PartyType.COMMITTEE)
    with db.session() as session:
        from app.tasks.models import Task

        row = session.get(Task, late.id)
        assert row is not None
        row.due_at = clock.now() - timedelta(days=3)
        session.add(row)
        session.commit()
    dep = eh.department(db, a, street, unique("Roads Office "), (officer,))
    helper = eh.department(db, a, street, unique("Water Office "), ())
    raised = eh.raise_on(db, a, chair, doing, summary="Road caved in by the north gate")
    waiting = eh.raise_on(
        db, a, chair, doing, summary="Gas smell in Block 1", urgency=Urgency.EMERGENCY
    )
    eh.dispatch(db, a, street, raised, dep)
    eh.acknowledge(db, officer, dep, raised)
    access = eh.dept_access(db, officer, dep)
    with db.session() as session:
        escalation_service.reply(
            session=session,
            access=access,
            actor=officer,
            escalation_id=raised.id or 0,
            form=escalation_schemas.TextForm(text="Crew on the way"),
        )
    with db.session() as session:
        escalation_service.ask_help(
            session=session,
            access=access,
            actor=officer,
            escalation_id=raised.id or 0,
            form=escalation_schemas.HelpForm(department_id=helper.id, text="Need the water pipes"),
        )
    resolved = eh.raise_on(db, a, chair, doing, summary="Fallen tree")
    eh.dispatch(db, a, street, resolved, dep)
    eh.acknowledge(db, officer, dep, resolved)
    with db.session() as session:
        escalation_service.resolve(
            session=session,
            access=access,
            actor=officer,
            escalation_id=resolved.id or 0,
            form=escalation_schemas.TextForm(text="Tree removed"),
        )
    # 民评: a round open and answered; a round closed
    evaluating = implementing(w, "Fix the roof")
    task(w, evaluating, "Patch the roof", PartyType.COMMITTEE)
    with db.session() as session:
        from app.tasks.models import Task, TaskStatus

        for row in session.exec(sa.select(Task).where(Task.issue_id == evaluating.id)).scalars():
            row.status, row.progress = TaskStatus.DONE, 100
            session.add(row)
        session.commit()
    rnd = call(w, "chair", evaluation_service.open_round, issue_id=evaluating.id)
    call(
        w,
        "resident",
        evaluation_service.answer,
        issue_id=evaluating.id,
        form=evaluation_schemas.AnswerForm(
            satisfaction="satisfied", resolved="yes", comment="Well done"
        ),
    )
    evaluated = implementing(w, "Clean the drains")
    task(w, evaluated, "Rod the drains", PartyType.COMMITTEE)
    with db.session() as session:
        for row in session.exec(sa.select(Task).where(Task.issue_id == evaluated.id)).scalars():
            row.status, row.progress = TaskStatus.DONE, 100
            session.add(row)
        session.commit()
    closed_round = call(w, "chair", evaluation_service.open_round, issue_id=evaluated.id)
    call(
        w,
        "neighbour",
        evaluation_service.answer,
        issue_id=evaluated.id,
        form=evaluation_schemas.AnswerForm(satisfaction="basic", resolved="no", comment="Slow"),
    )
    with db.session() as session:
        evaluation_service.close_due_rounds(session=session, now=closed_round.ends_at)
        session.commit()
    del rnd
    # Meetings: one open for sign-in, one held with speakers and a speech, one ended with
    # signed minutes, a 居民会议, one cancelled, one with a ballot held at it.
    soon = mh.schedule(db, a, chair, meeting_form(MeetingKind.COUNCIL, "Council on parking"))
    mh.tick(db, a, chair, soon, resident)
    held = mh.schedule(db, a, chair, meeting_form(MeetingKind.COUNCIL, "Council on lifts"))
    call(w, "chair", meeting_service.start_meeting, meeting_id=held.id)
    mh.tick(db, a, chair, held, resident)
    queued = call(
        w,
        "chair",
        meeting_service.add_speaker,
        meeting_id=held.id,
        form=meeting_schemas.SpeakerForm(name="Mr Lee", identity="Property manager"),
    )
    call(w, "resident", meeting_service.raise_hand, meeting_id=held.id)
    noted = call(
        w,
        "chair",
        meeting_service.record_speech,
        meeting_id=held.id,
        form=meeting_schemas.SpeechForm(
            speaker_name="Mr Lee", identity="Property manager", summary="Work on Saturday."
        ),
    )
    ended = mh.schedule(
        db, a, chair, meeting_form(MeetingKind.COUNCIL, "Council on bins", recorder_id=chair.id)
    )
    call(w, "chair", meeting_service.start_meeting, meeting_id=ended.id)
    call(
        w,
        "chair",
        meeting_service.edit_minutes,
        meeting_id=ended.id,
        form=meeting_schemas.MinutesForm(
            version=0,
            resolutions="Bins move to the gate",
            tasks="Move the bins | Acme Property | 2026-12-20",
            publicity="Posted in the lobby",
            notes="A lively talk",
        ),
    )
    call(w, "chair", meeting_service.end_meeting, meeting_id=ended.id)
    for line in ("chair", "recorder"):
        call(
            w,
            "chair",
            meeting_service.sign_minutes,
            meeting_id=ended.id,
            form=meeting_schemas.SignMinutesForm(line=meeting_schemas.MinutesLine(line)),
        )
    call(
        w,
        "chair",
        meeting_service.append_correction,
        meeting_id=ended.id,
        form=meeting_schemas.CorrectionForm(text="The bins move on Monday"),
    )
    residents = mh.schedule(db, a, chair, meeting_form(MeetingKind.RESIDENTS, "Residents meet"))
    call(
        w,
        "chair",
        meeting_service.record_absence,
        meeting_id=residents.id,
        form=meeting_schemas.AbsenceForm(
            membership_id=mh.membership(db, a, neighbour).id, reason="Away"
        ),
    )
    cancelled = mh.schedule(db, a, chair, meeting_form(MeetingKind.COUNCIL, "Called off"))
    call(
        w,
        "chair",
        meeting_service.cancel_meeting,
        meeting_id=cancelled.id,
        form=meeting_schemas.CancelForm(reason="Room flooded"),
    )
    voting_meeting = mh.schedule(
        db, a, chair, meeting_form(MeetingKind.RESIDENTS, "Residents vote")
    )
    at_meeting = ballot(
        w,
        deciding(w, "Vote at the meeting")[0],
        RuleKind.RESIDENTS_MEETING,
        voter_unit=VoterUnit.HOUSEHOLD,
        meeting_id=voting_meeting.id,
        opened=False,
    )
    minh.start(db, voting_meeting)
    for role in ("resident", "chair"):
        mh.tick(db, a, chair, voting_meeting, w.users[role])

    issues = [
        photo_issue, review, rejected, talked, plural_issue, passed_issue, failed_issue,
        settled_issue, draft_issue, public_issue, doing, evaluating, evaluated,
    ]  # fmt: skip
    ballot_ids = [
        *ballots.values(), passed.id, failed.id, settled.id, draft.id, papers.id,
        public_ballot.id, at_meeting.id,
    ]  # fmt: skip
    meetings = [soon.id, held.id, ended.id, residents.id, cancelled.id, voting_meeting.id]
    w.params = {
        "hall_id": [a.hall.id or 0],
        "street_id": [a.street.id or 0],
        "department_id": [dep.id or 0],
        "building_id": [building_id],
        "entrance_id": [entrance_id],
        "membership_id": [mh.membership(db, a, neighbour).id or 0],
        "issue_id": [i.id or 0 for i in issues],
        "ballot_id": [b or 0 for b in ballot_ids],
        "meeting_id": [m or 0 for m in meetings],
        "escalation_id": [raised.id or 0, waiting.id or 0, resolved.id or 0],
        "comment_id": [said.id or 0],
        "photo_id": [0],
        "task_id": [t.id or 0 for t in (*tasks, late)],
        "speaker_id": [queued.speaker.id or 0],
        "speech_id": [noted.id or 0],
        "vote_id": [vote_id],
        "entry_id": [reading.id or 0],
        "objection_id": [objection],
        "member_id": [0],
    }
    ids = lambda *rows: [r.id or 0 for r in rows]  # noqa: E731
    w.narrow = [
        ("/issues/{issue_id}/share", "issue_id", ids(photo_issue)),
        ("/issues/{issue_id}/close", "issue_id", ids(talked)),
        ("/issues/{issue_id}/ballots/new", "issue_id", ids(draft_issue)),
        ("/issues/{issue_id}/publicity", "issue_id", ids(public_issue, passed_issue)),
        ("/issues/{issue_id}/evaluation", "issue_id", ids(evaluating, evaluated)),
        ("/issues/{issue_id}/tasks", "issue_id", ids(doing)),
        ("/issues/{issue_id}/escalations", "issue_id", ids(doing)),
        ("/ballots/{ballot_id}/paper", "ballot_id", ids(papers)),
        ("/ballots/{ballot_id}/roll", "ballot_id", ids(papers)),
        ("/ballots/{ballot_id}/print/", "ballot_id", ids(public_ballot, passed)),
        ("/meetings/{meeting_id}/print/minutes", "meeting_id", ids(ended, soon)),
        ("/meetings/{meeting_id}/print/", "meeting_id", ids(voting_meeting, soon)),
        ("/meetings/{meeting_id}/live", "meeting_id", ids(held)),
        ("/meetings/{meeting_id}/screen", "meeting_id", ids(held)),
        ("/meetings/{meeting_id}/minutes", "meeting_id", ids(ended, held, residents)),
        ("/meetings/{meeting_id}/signin", "meeting_id", ids(soon)),
    ]
    w.routes = {
        ("GET", "/halls/{hall_id}/issues/{issue_id}/photos/{photo_id}"): [
            {"issue_id": photo_issue.id or 0, "photo_id": ih.photo_id(db, photo_issue.id or 0)}
        ],
        ("GET", "/halls/{hall_id}/issues/{issue_id}/tasks/photos/{photo_id}"): [
            {"issue_id": doing.id or 0, "photo_id": photo}
        ],
        ("GET", "/halls/{hall_id}/comments/{comment_id}/edit"): [
            {"comment_id": chairs_comment.id or 0}
        ],
        ("GET", "/halls/{hall_id}/ballots/{ballot_id}/paper"): [{"ballot_id": papers.id or 0}],
        ("GET", "/halls/{hall_id}/ballots/{ballot_id}/roll"): [{"ballot_id": papers.id or 0}],
        ("GET", "/halls/{hall_id}/ballots/{ballot_id}/paper/print"): [
            {"ballot_id": papers.id or 0}
        ],
        ("GET", "/halls/{hall_id}/ballots/{ballot_id}/paper/sign-sheet"): [
            {"ballot_id": papers.id or 0}
        ],
        ("GET", "/halls/{hall_id}/ballots/{ballot_id}/live"): [
            {"ballot_id": b} for b in (passed.id or 0, failed.id or 0, settled.id or 0)
        ],
        ("GET", "/halls/{hall_id}/meetings/{meeting_id}/screen/live"): [
            {"meeting_id": ended.id or 0}
        ],
        ("GET", "/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}"): [
            {"issue_id": doing.id or 0, "task_id": t.id or 0} for t in (*tasks, late)
        ],
    }
    w.extra.update(
        review_issue=review.id, talked=talked.id, draft=draft.id, soon=soon.id, doing=doing.id
    )
    for role, user in w.users.items():
        with db.session() as session:
            accounts.set_preferences(session=session, user=user, locale="en")
        if role == "neighbour":
            continue
        client = Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN})
        client.__enter__()
        assert user.phone
        client.login(user.phone, PASSWORD)
        w.clients[role] = client
    anon = Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN})
    anon.__enter__()
    anon.cookies.set("lang", "en")
    w.clients["anon"] = anon
    yield w
    for client in w.clients.values():
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def world(app: FastAPI, db: Database) -> Iterator[World]:
    yield from build(app, db)


# --- the crawl --------------------------------------------------------------------------------

# Who may see each class of route (and is asked it).
ROLES: dict[Access, tuple[str, ...]] = {
    Access.PUBLIC: ("anon", "resident"),
    Access.LOGIN: ("resident", "chair"),
    Access.INVITE: ("anon", "applicant"),
    Access.MEMBER: ("resident", "chair", "street"),
    Access.STAFF: ("chair", "street"),
    Access.CHAIR: ("chair",),
    Access.PARTICIPANT: ("resident", "chair"),
    Access.STREET: ("street",),
    Access.DEPARTMENT: ("department",),
}
# Not pages: the machine-readable API docs (FastAPI's own), the QR and photo images, the
# roster's CSV template (its column names are what the importer reads: 楼栋, 单元 …).
NOT_PAGES = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/healthz"),
    ("GET", "/halls/{hall_id}/roster/template.csv"),
}
PATH_PARAM = re.compile(r"{(\w+)}")


def urls(w: World, key: tuple[str, str]) -> list[str]:
    method, template = key
    if key in w.routes:
        choices = [{**{k: v[0] for k, v in w.params.items()}, **c} for c in w.routes[key]]
        return [template.format(**c) for c in choices]
    names = PATH_PARAM.findall(template)
    found = [{}]  # type: list[dict[str, int]]
    for name in names:
        values = [w.invite_token()] if name == "token" else w.params[name]
        for fragment, param, narrowed in w.narrow:
            if param == name and fragment in template:
                values = narrowed
                break
        found = [{**f, name: v} for f in found for v in values]
    out = [template.format(**f) for f in found]
    del method
    return out[:1] if template.endswith(".pdf") else out  # a PDF takes a while to lay out


def test_every_page_in_english(world: World) -> None:
    w = world
    problems: dict[str, list[str]] = {}
    seen_ok: set[tuple[str, str]] = set()
    asked = 0
    footers: dict[str, bool] = {}  # a PDF → its running footer is in English
    for key, entry in ROUTES.items():
        method, template = key
        if method != "GET" or key in NOT_PAGES or key in RECORDS:
            continue
        for url in urls(w, key):
            for role in ROLES[entry.access]:
                # a fragment for htmx: asked as the first role (the page is asked as each)
                printed = "/print" in template or template.endswith(".pdf")
                first = role == ROLES[entry.access][0]
                for hx in (False, True) if first and not printed else (False,):
                    if template.endswith(".pdf") and not first:
                        continue
                    headers = {"HX-Request": "true"} if hx else {}
                    response = w.clients[role].get(url, headers=headers, follow_redirects=False)
                    asked += 1
                    kind = response.headers.get("content-type", "")
                    if response.status_code == 200:
                        seen_ok.add(key)
                    if kind.startswith("application/pdf"):
                        if hx:
                            continue
                        text = pdf_text(response.content)
                        if response.status_code == 200 and not re.search(
                            r"/poster|/share", template
                        ):
                            footers[template] = "Page 1 of " in text
                    elif kind.startswith("application/json"):
                        text = json.dumps(response.json(), ensure_ascii=False)
                    elif kind.startswith(("text/html", "text/event-stream", "text/calendar")):
                        text = visible(response.text)
                    else:
                        continue
                    for found in chinese_in(text, ALLOWED_ON.get(template, set())):
                        problems.setdefault(found.split(" in ")[0], []).append(
                            f"{role} {response.status_code} {url}: {found}"
                        )
    report = "\n".join(f"{k}: {v[0]} (+{len(v) - 1})" for k, v in sorted(problems.items()))
    assert not problems, f"{len(problems)} Chinese strings in English pages:\n{report}"
    pages = {k for k in ROUTES if k[0] == "GET" and k not in NOT_PAGES | RECORDS}
    assert pages - seen_ok == set(), f"never answered 200: {sorted(pages - seen_ok)}"
    assert footers
    assert all(footers.values()), footers
    assert asked > 300, asked


# --- refusals: 422 next to the field, 409 with its reason, in English -------------------------


def refusals(w: World) -> list[tuple[str, str, dict[str, Any], int, str]]:
    """(role, path, form, status, code of a message the answer must carry)."""
    hall = w.a.hall.id
    talked, draft, review = w.extra["talked"], w.extra["draft"], w.extra["review_issue"]
    doing = w.extra["doing"]
    return [
        ("anon", "/register", {"phone": "123", "name": "", "password": "x"}, 422, "phone_invalid"),
        ("anon", "/login", {"phone": "13800001234", "password": "wrong one"}, 422, "login_failed"),
        ("resident", f"/halls/{hall}/issues", {"title": "", "description": ""}, 422, "required"),
        ("chair", f"/halls/{hall}/issues/{talked}/comments", {"body": ""}, 422, "required"),
        ("chair", f"/halls/{hall}/issues/{talked}/solutions", {"title": ""}, 422, "required"),
        ("chair", f"/halls/{hall}/issues/{review}/reject", {"reason": ""}, 422, "required"),
        ("chair", f"/halls/{hall}/meetings", {"kind": "council", "title": ""}, 422, "required"),
        ("chair", f"/halls/{hall}/issues/{doing}/tasks", {"title": ""}, 422, "required"),
        ("chair", f"/halls/{hall}/settings", {"cosign_threshold": "x"}, 422, "integer_required"),
        (
            "chair",
            f"/halls/{hall}/issues/{doing}/escalations",
            {"summary": ""},
            422,
            "required",
        ),
        (
            "chair",
            f"/halls/{hall}/issues/{talked}/accept",
            {"deliberation_days": "7"},
            409,
            "stage_transition_not_allowed",
        ),
        ("chair", f"/halls/{hall}/ballots/{draft}/close", {}, 409, ""),
        ("resident", f"/halls/{hall}/issues/{review}/cosign", {}, 409, ""),
        (
            "chair",
            f"/halls/{hall}/meetings/{w.extra['soon']}/minutes",
            {"version": "7", "notes": "Late edit"},
            409,
            "minutes_stale",
        ),
    ]


def test_refusals_in_english(world: World) -> None:
    from app.web.i18n import translations
    from app.web.messages import MESSAGES

    english = translations("en")
    problems = []
    for role, path, form, status, code in refusals(world):
        client = world.clients[role]
        for hx in (False, True):
            headers = {"HX-Request": "true"} if hx else {}
            token = client.csrf("/login" if role == "anon" else "/")
            response = client.post(
                path,
                data={"csrf_token": token, **form},
                headers=headers,
                follow_redirects=False,
            )
            where = f"{role} POST {path}{' (htmx)' if hx else ''}"
            expected = status
            if status == 409 and response.status_code == 303:
                # A refused action on a page is PRG: the reason is the next page's flash.
                response = client.get(response.headers["location"], headers=headers)
                expected = 200
                if 'class="flash flash-' not in response.text:
                    problems.append(f"{where}: no flash after the redirect")
            if response.status_code != expected:
                problems.append(f"{where}: {response.status_code}, not {expected}")
                continue
            if '<html lang="en"' not in response.text and not hx:
                problems.append(f"{where}: not an English page")
            for found in chinese_in(visible(response.text)):
                problems.append(f"{where}: {found}")
            if code:
                said = english.gettext(MESSAGES[code]).split("{")[0]
                if said not in response.text:
                    problems.append(f"{where}: no {said!r}")
    assert not problems, "\n".join(problems)


def test_counts_agree_in_english(world: World) -> None:
    """Counts take the singular or the plural (ngettext), never “day(s)”."""
    from app.web.i18n import translations

    english = translations("en")
    assert english.ngettext("已逾期 %(num)s 天", "已逾期 %(num)s 天", 1) == "Overdue by %(num)s day"
    hall, doing = world.a.hall.id, world.extra["doing"]
    page = world.clients["resident"].get(f"/halls/{hall}/issues/{doing}/tasks")
    assert page.status_code == 200
    assert re.search(r"Overdue by [34] days", page.text)  # the task three days late
    assert "(s)" not in page.text
    issue = world.clients["resident"].get(f"/halls/{hall}/issues/{world.params['issue_id'][0]}")
    assert "1 resident supports this" in issue.text  # co-signed by one neighbour: singular
