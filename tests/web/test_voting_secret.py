"""无记名 ballots are secret: no page, fragment, print, API answer, audit entry or notification
ties a voter to a choice — for the chair, a street official, the 计票人 and 监票人, another
resident. A 记名 ballot keeps showing choices on the roll (with the consent already built).

One ballot by 户 with a vote on every channel a 无记名 ballot has: a phone vote, a confirmed
paper ballot, a paper reading waiting for its 监票人, a phone vote voided by the chair and cast
again. Every GET route of the route inventory that shows a ballot, an issue, the audit trail
or notifications is crawled as a page and as an htmx fragment while the ballot is open and
again once it is closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlmodel import col, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.db import Database
from app.halls.models import Relation
from app.halls.service import add_street_admin
from app.voting import schemas, service
from app.voting.models import Ballot, PaperResult, RollEntry, Vote
from app.voting.rules import RuleKind
from tests import factories as f
from tests.conftest import Client
from tests.web import issue_helpers as ih
from tests.web import voting_helpers as vh
from tests.web.test_route_inventory import CRAWL_FINISHED, ROUTES, fill

HX = {"HX-Request": "true"}
TAG_RE = re.compile(r"<[^>]+>")
# A choice label as shown; "同意票超过…" is the rule's wording, not anyone's choice.
CHOICES = {"yes": r"同意(?!票)", "no": r"反对", "abstain": r"弃权"}
SHOWN = {"yes": "同意", "no": "反对", "abstain": "弃权"}


@dataclass
class Voter:
    key: str  # a name for messages
    label: str  # the room, as the roll shows it to the chair
    masked: str  # as the officers see it
    choice: str  # yes / no / abstain
    names: tuple[str, ...] = ()  # members' names
    secrets: set[str] = field(default_factory=set)  # receipts and paper codes


@dataclass
class Secret:
    db: Database
    world: f.HallWorld
    ballot: Ballot
    voters: list[Voter]
    clients: dict[str, Client]
    own: dict[str, str]  # role → the voter whose own page it is
    users: dict[str, User]

    @property
    def url(self) -> str:
        return f"/halls/{self.world.hall.id}/ballots/{self.ballot.id}"


def _login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def _phone_vote(db: Database, world: f.HallWorld, user: User, ballot: Ballot, option: str) -> str:
    with db.session() as s:
        return service.cast_vote(
            session=s,
            access=f.member_access(db, world, user),
            actor=user,
            ballot_id=ballot.id or 0,
            form=schemas.VoteForm(option=option, submission_id=vh.sid()),
        ).receipt


def _confirm(db: Database, world: f.HallWorld, user: User, ballot: Ballot, entry_id: int) -> str:
    with db.session() as s:
        receipt = service.confirm_paper(
            session=s,
            access=f.member_access(db, world, user),
            actor=user,
            ballot_id=ballot.id or 0,
            entry_id=entry_id,
            agree=True,
        )
    assert receipt is not None
    return receipt.receipt


def _build(db: Database, make_client: Callable[[], Client]) -> Secret:
    world = f.make_hall(db, buildings=1, entrances=2, rooms=4)
    chair = f.make_chair(db, world)

    def member(index: int, name: str) -> User:
        return f.make_member(
            db, world, household_index=index, relation=Relation.OWNER, chair=chair, name=name
        )[0]

    phone_user = member(0, "甲手机")
    voided_user = member(3, "丙作废")
    resident = member(4, "丁邻居")
    counter = member(6, "戊计票")
    scrutineer = member(7, "己监票")
    street = f.make_user(db, name="庚街道")
    with db.session() as s:
        add_street_admin(session=s, street=world.street, user=street, actor_id=world.admin.id)
    ballot = vh.open_ballot(
        db,
        world,
        chair,
        rule=RuleKind.RESIDENTS_MEETING,
        voter_unit="household",
        counters=(counter,),
        scrutineers=(scrutineer,),
        title=f.unique("加装电梯表决"),
        secret=True,
    )
    entries = {e.entry.voter_key: e.entry for e in vh.roll(db, ballot)}

    def entry(index: int) -> RollEntry:
        return entries[f"h:{world.households[index].id}"]

    def voter(key: str, index: int, choice: str, *names: str) -> Voter:
        e = entry(index)
        return Voter(key, e.label, e.masked_label, choice, names)

    phone = voter("phone", 0, "no", phone_user.name)
    paper = voter("paper", 1, "abstain")
    pending = voter("pending", 2, "no")
    voided = voter("voided", 3, "yes", voided_user.name)
    # The phone vote.
    phone.secrets.add(_phone_vote(db, world, phone_user, ballot, "no"))
    # Voided by the chair (a reason, no receipt in the audit), then cast again.
    first = _phone_vote(db, world, voided_user, ballot, "yes")
    voided.secrets.add(first)
    vote_id = next(r.vote_id for r in vh.roll(db, ballot) if r.entry.id == entry(3).id)
    with db.session() as s:
        service.void_vote(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
            vote_id=vote_id or 0,
            form=schemas.VoidForm(reason="误投"),
        )
    voided.secrets.add(_phone_vote(db, world, voided_user, ballot, "yes"))
    # Paper: one confirmed, one waiting for the 监票人.
    vh.issue_papers(db, world, chair, ballot)
    codes = {e.id: code for code, e in vh.papers(db, ballot)}
    for v, index in ((paper, 1), (pending, 2), (phone, 0), (voided, 3)):
        v.secrets.add(codes[entry(index).id])
    reading = vh.enter_paper(
        db, world, counter, ballot, codes[entry(1).id], option="abstain", result=PaperResult.VOTE
    )
    paper.secrets.add(_confirm(db, world, scrutineer, ballot, reading.id or 0))
    vh.enter_paper(db, world, counter, ballot, codes[entry(2).id], option="no")
    users = {
        "chair": chair,
        "street": street,
        "counter": counter,
        "scrutineer": scrutineer,
        "resident": resident,
        "voter": phone_user,
    }
    clients = {role: _login(make_client, user) for role, user in users.items()}
    return Secret(
        db,
        world,
        ballot,
        [phone, paper, pending, voided],
        clients,
        {"voter": "phone"},
        users,
    )


@pytest.fixture
def secret(db: Database, make_client: Callable[[], Client]) -> Secret:
    return _build(db, make_client)


def _shows_votes(path: str) -> bool:
    return (
        "{ballot_id}" in path
        or path.endswith("/audit")
        or path == "/notifications"
        or path.endswith("/issues/{issue_id}")
        or "/publicity" in path
    )


def _crawl(w: Secret, role: str, *, finished: bool) -> Iterator[tuple[str, str]]:
    params = {
        "hall_id": w.world.hall.id,
        "ballot_id": w.ballot.id,
        "issue_id": w.ballot.issue_id,
    }
    voter = w.voters[0]
    extra = {
        "/halls/{hall_id}/ballots/{ballot_id}/roll": [f"q={voter.label}", "q=" + "-"],
        "/halls/{hall_id}/ballots/{ballot_id}/paper": [f"code={sorted(voter.secrets)[0]}"],
    }
    client = w.clients[role]
    for method, path in sorted(ROUTES):
        if method != "GET" or not _shows_votes(path):
            continue
        if (method, path) in CRAWL_FINISHED and not finished:
            continue  # an open ballot's stream never ends
        try:
            base = fill(path, **params)
        except KeyError:
            continue  # a route about something else (a comment, a photo …)
        for url in [base] + [f"{base}?{q}" for q in extra.get(path, [])]:
            for headers in ({}, HX):
                response = client.get(url, headers=headers, follow_redirects=False)
                assert response.status_code < 500, (role, url, response.status_code)
                if response.status_code == 200:
                    where = f"{role} GET {url}{' (htmx)' if headers else ''}"
                    yield where, response.text


def _links(w: Secret, role: str, where: str, body: str) -> list[str]:
    """A voter (room, masked room or name) in the same answer as a choice or as one of their
    receipts or paper codes: the answer would tell whose choice it is."""
    text = " ".join(TAG_RE.sub(" ", body).split())
    problems = []
    for v in w.voters:
        if w.own.get(role) == v.key:
            continue  # the voter's own page shows their own choice and receipt
        marks = [m for m in (v.label, v.masked, *v.names) if m and m in text]
        if not marks:
            continue
        for choice, pattern in CHOICES.items():
            if re.search(pattern, text):
                problems.append(f"{where}: {v.key} ({marks[0]}) next to {SHOWN[choice]}")
        for token in v.secrets:
            if token in body:
                problems.append(f"{where}: {v.key} ({marks[0]}) next to {token}")
    return problems


def _audit_of(db: Database, ballot: Ballot) -> list[AuditEvent]:
    with db.session(read_only=True) as s:
        return list(
            s.exec(
                select(AuditEvent)
                .where(AuditEvent.subject_type == "ballot", AuditEvent.subject_id == ballot.id)
                .order_by(col(AuditEvent.id))
            ).all()
        )


ROLES = ("chair", "street", "counter", "scrutineer", "resident", "voter")


def test_no_answer_ties_a_voter_to_a_choice_on_a_secret_ballot(secret: Secret) -> None:
    w = secret
    problems: list[str] = []
    crawled = 0
    for finished in (False, True):
        if finished:
            chair = w.users["chair"]
            with w.db.session() as s:
                service.confirm_paper(
                    session=s,
                    access=f.chair_access(w.db, w.world, chair),
                    actor=chair,
                    ballot_id=w.ballot.id or 0,
                    entry_id=vh.pending_entry_ids(w.db, w.ballot)[0],
                    agree=True,
                )
            ih.close_ballot(w.db, w.world, chair, w.ballot.id or 0)
        for role in ROLES:
            for where, body in _crawl(w, role, finished=finished):
                crawled += 1
                problems += _links(w, role, where, body)
    assert crawled > 60
    assert not problems, "\n".join(problems[:20])
    # The audit trail holds no choice and no receipt of this ballot's votes.
    receipts = set().union(*(v.secrets for v in w.voters))
    events = _audit_of(w.db, w.ballot)
    assert {"voting.void_vote", "voting.enter_paper", "voting.confirm_paper"} <= {
        e.action for e in events
    }
    for event in events:
        data = json.loads(event.data)
        assert not any(r in event.data for r in receipts), (event.action, data)
        assert not {"receipt", "option", "roll"} & data.keys(), (event.action, data)
        assert not set(SHOWN) & {str(v) for v in data.values()}, (event.action, data)


def test_the_roll_shows_only_whether_and_how_each_voter_took_part(secret: Secret) -> None:
    w = secret
    for headers in ({}, HX):
        page = w.clients["chair"].get(f"{w.url}/roll", headers=headers).text
        rows = re.findall(r'<li class="roll-row.*?</li>', page, flags=re.S)
        assert len(rows) == w.ballot.roll_count
        for row in rows:
            text = TAG_RE.sub(" ", row)
            assert not any(re.search(p, text) for p in CHOICES.values()), row
            assert "已参与" in text or "未参与" in text
            assert 'name="option"' not in row  # no in-person choice for the chair to record
            assert not any(token in row for v in w.voters for token in v.secrets)
        phone = next(r for r in rows if w.voters[0].label in r)
        assert "已参与" in phone
        assert "手机投票" in phone
        paper = next(r for r in rows if w.voters[1].label in r)
        assert "纸质票" in paper
        assert "未参与" in next(r for r in rows if w.voters[2].label in r)  # still pending
    # Searching by a paper code finds no one: codes are not tied to voters on the roll.
    code = next(iter(s for s in w.voters[1].secrets if "-" in s))
    found = w.clients["chair"].get(f"{w.url}/roll", params={"q": code}).text
    assert found.count('class="roll-row') == 0
    # The ballot page says plainly what the database still holds.
    detail = w.clients["chair"].get(w.url).text
    assert "能直接读取数据库的人" in detail


def test_the_chair_cannot_record_a_choice_in_person_on_a_secret_ballot(secret: Secret) -> None:
    w = secret
    chair = w.clients["chair"]
    token = chair.csrf(f"{w.url}/roll")
    entry = vh.roll(w.db, w.ballot)[5].entry  # a voter who has not voted
    data = {
        "csrf_token": token,
        "roll_id": str(entry.id),
        "option": "yes",
        "submission_id": vh.sid(),
    }
    refused = chair.post(f"{w.url}/in-person", data=data, headers=HX)
    assert refused.status_code == 409
    assert "领取纸质票" in refused.text
    plain = chair.post(f"{w.url}/in-person", data=data, follow_redirects=False)
    assert plain.status_code == 409  # the roll again, narrowed to the row, the reason in it
    assert "领取纸质票" in plain.text
    assert plain.text.count('class="roll-row') == 1
    with w.db.session(read_only=True) as s:
        assert not s.exec(select(Vote).where(Vote.roll_id == entry.id)).all()


def test_the_secret_paper_ballot_has_a_code_and_no_name_and_the_sign_sheet_no_code(
    secret: Secret,
) -> None:
    w = secret
    papers = vh.papers(w.db, w.ballot)
    printed = w.clients["chair"].get(f"{w.url}/paper/print").text
    sheets = re.findall(r'<article class="paper-sheet">.*?</article>', printed, flags=re.S)
    assert len(sheets) == len(papers) == w.ballot.roll_count
    for (code, entry), sheet in zip(papers, sheets, strict=True):
        assert code in sheet  # in the order of the 领票登记 sheet
        assert '<svg class="qr"' in sheet
        assert entry.label not in sheet
        assert entry.masked_label not in sheet
        assert "签名：" not in sheet
        assert "无记名投票" in sheet
        assert all(label in sheet for label in SHOWN.values())
    assert not any(name in printed for v in w.voters for name in v.names)
    signing = w.clients["chair"].get(f"{w.url}/paper/sign-sheet")
    assert signing.status_code == 200
    table = signing.text
    assert "领票签名" in table
    assert table.count('<td class="sign-cell">') == w.ballot.roll_count
    labels = [e.label for _, e in papers]
    positions = [table.index(f"<td>{label}</td>") for label in labels]
    assert positions == sorted(positions)  # roll order, as the ballots are printed
    assert not any(code in table for code, _ in papers)
    # The paper desk and the print pack link to the sheet; only the chair opens it.
    assert f"{w.url}/paper/sign-sheet" in w.clients["chair"].get(f"{w.url}/paper").text
    for role in ("counter", "scrutineer", "resident", "street"):
        assert w.clients[role].get(f"{w.url}/paper/sign-sheet").status_code == 404


def test_the_secret_board_shows_receipts_and_choices_after_the_close_and_never_voters(
    secret: Secret,
) -> None:
    w = secret
    receipts = {
        v.key: next(s for s in v.secrets if "-" not in s and s in _current(w)) for v in w.voters[:2]
    }
    open_board = w.clients["resident"].get(f"{w.url}/board").text
    assert not any(r in open_board for r in receipts.values())
    assert receipts["phone"] in w.clients["voter"].get(f"{w.url}/board").text  # their own
    chair = w.users["chair"]
    with w.db.session() as s:
        service.confirm_paper(
            session=s,
            access=f.chair_access(w.db, w.world, chair),
            actor=chair,
            ballot_id=w.ballot.id or 0,
            entry_id=vh.pending_entry_ids(w.db, w.ballot)[0],
            agree=True,
        )
    ih.close_ballot(w.db, w.world, chair, w.ballot.id or 0)
    board = w.clients["resident"].get(f"{w.url}/board").text
    rows = re.findall(r'<tr[^>]*><td class="mono">([A-Z2-7]{12})</td><td>([^<]+)</td></tr>', board)
    assert len(rows) == len(_current(w)) == 4
    assert [r for r, _ in rows] == sorted(r for r, _ in rows)  # by receipt, not by time
    shown = dict(rows)
    assert shown[receipts["phone"]] == "反对"
    assert shown[receipts["paper"]] == "弃权"
    assert not any(m in board for v in w.voters for m in (v.label, v.masked, *v.names))
    assert "<th>#</th>" not in board  # no ledger order


def _current(w: Secret) -> set[str]:
    with w.db.session(read_only=True) as s:
        return set(
            s.exec(
                select(Vote.receipt).where(
                    Vote.ballot_id == w.ballot.id, col(Vote.is_current).is_(True)
                )
            ).all()
        )


def test_a_named_ballot_still_shows_each_choice_on_the_roll_and_the_paper(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    owner = f.make_member(db, world, household_index=0, chair=chair)[0]
    ballot = vh.open_ballot(db, world, chair, secret=False)
    with db.session() as s:
        receipt = service.cast_vote(
            session=s,
            access=f.member_access(db, world, owner),
            actor=owner,
            ballot_id=ballot.id or 0,
            form=schemas.VoteForm(option="no", submission_id=vh.sid(), consent=True),
        ).receipt
    entry = vh.roll(db, ballot)[0].entry
    in_person = vh.in_person(db, world, chair, ballot, vh.roll(db, ballot)[1].entry.id or 0, "yes")
    vh.issue_papers(db, world, chair, ballot)
    boss = _login(make_client, chair)
    url = f"/halls/{world.hall.id}/ballots/{ballot.id}"
    page = boss.get(f"{url}/roll").text
    row = re.search(rf'<li class="roll-row[^"]*" id="roll-{entry.id}".*?</li>', page, re.S)
    assert row
    assert "反对" in row.group(0)
    assert "手机投票" in row.group(0)
    assert 'name="option"' in page  # the chair records in person on a named ballot
    printed = boss.get(f"{url}/paper/print").text
    assert entry.label in printed
    assert "投票人签名" in printed
    signing = boss.get(f"{url}/paper/sign-sheet").text  # the 领票登记 sheet serves both kinds
    assert entry.label in signing
    assert "投票人还须在纸质票上签名" in signing
    board = boss.get(f"{url}/board").text
    assert receipt in board
    assert in_person.receipt in board
    audit = [
        json.loads(e.data) for e in _audit_of(db, ballot) if e.action == "voting.record_in_person"
    ]
    assert audit
    assert audit[0].get("receipt") == in_person.receipt


def test_the_answers_to_the_roll_and_desk_forms_tie_no_voter_to_a_choice(
    secret: Secret,
) -> None:
    """The POST answers show votes too: a void, a refused in-person vote, a paper reading
    entered and confirmed — as pages (PRG followed) and as htmx fragments."""
    w = secret
    answers: list[tuple[str, str, str]] = []
    chair = w.clients["chair"]
    token = chair.csrf(f"{w.url}/roll")
    rows = {r.entry.id: r for r in vh.roll(w.db, w.ballot)}
    phone = next(r for r in rows.values() if r.entry.label == w.voters[0].label)
    for headers in (HX, {}):
        refused = chair.post(
            f"{w.url}/in-person",
            data={
                "csrf_token": token,
                "roll_id": str(phone.entry.id),
                "option": "abstain",
                "submission_id": vh.sid(),
            },
            headers=headers,
        )
        answers.append(("chair", "in-person", refused.text))
    voided = chair.post(
        f"{w.url}/votes/{phone.vote_id}/void",
        data={"csrf_token": token, "reason": "录错"},
        headers=HX,
    )
    assert voided.status_code == 200
    assert "未参与" in voided.text
    answers.append(("chair", "void", voided.text))
    # A fresh paper for the phone voter (their code), entered and confirmed.
    code = next(c for c, e in vh.papers(w.db, w.ballot) if e.id == phone.entry.id)
    counter = w.clients["counter"]
    page = counter.get(f"{w.url}/paper").text
    submission = re.search(r'name="submission_id" value="([^"]+)"', page)
    assert submission
    entered = counter.post(
        f"{w.url}/paper/entries",
        data={
            "csrf_token": counter.csrf(f"{w.url}/paper"),
            "code": code,
            "result": "vote",
            "option": "abstain",
            "submission_id": submission.group(1),
        },
        headers=HX,
    )
    assert entered.status_code == 200
    answers.append(("counter", "enter", entered.text))
    entry_id = vh.pending_entry_ids(w.db, w.ballot)[-1]
    watching = w.clients["scrutineer"]
    confirmed = watching.post(
        f"{w.url}/paper/entries/{entry_id}/confirm",
        data={"csrf_token": watching.csrf(f"{w.url}/paper")},
        follow_redirects=True,
    )
    assert confirmed.status_code == 200
    answers.append(("scrutineer", "confirm", confirmed.text))
    answers.append(("chair", "roll after", chair.get(f"{w.url}/roll").text))
    problems = [p for role, where, body in answers for p in _links(w, role, where, body)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("secret_ballot", [True, False])
def test_a_secret_ballot_shows_no_split_before_the_close_even_when_live(
    db: Database, make_client: Callable[[], Client], secret_ballot: bool
) -> None:
    """A split that moves as each vote comes in tells whoever watches it what the voter who
    just voted chose: on a 无记名 ballot it waits for the close, live results or not. A 记名
    ballot with live results shows it while open, as before."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    voter, _ = f.make_member(db, world, household_index=0, relation=Relation.OWNER, chair=chair)
    ballot = vh.open_ballot(
        db,
        world,
        chair,
        rule=RuleKind.RESIDENTS_MEETING,
        voter_unit="household",
        live_results=True,
        secret=secret_ballot,
    )
    with db.session() as s:
        service.cast_vote(
            session=s,
            access=f.member_access(db, world, voter),
            actor=voter,
            ballot_id=ballot.id or 0,
            form=schemas.VoteForm(option="yes", submission_id=vh.sid(), consent=True),
        )
    client = _login(make_client, chair)
    url = f"/halls/{world.hall.id}/ballots/{ballot.id}"
    page = client.get(url).text
    api = client.get(f"/api/v1{url}").json()
    assert "已投票 1 / " in page  # turnout always shows
    if secret_ballot:
        assert 'class="split' not in page
        assert api["turnout"]["by_option"] is None
    else:
        assert 'class="split' in page
        assert api["turnout"]["by_option"]
