"""Paper ballots, in-person votes and the roll over HTTP, on SQLite and PostgreSQL.

Issue → enter (计票人) → confirm (a different 监票人) → reconcile; the chair's roll with
in-person votes, attendance and voids; the later vote counts whatever the channel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from app.accounts.models import User
from app.db import Database
from app.halls.models import Relation
from app.voting import ledger, queries
from app.voting.models import (
    Ballot,
    LedgerEvent,
    LedgerKind,
    PaperEntry,
    PaperResult,
    PaperStatus,
    RollEntry,
    Vote,
)
from app.voting.rules import RuleKind
from tests import factories as f
from tests.conftest import Client
from tests.web import voting_helpers as vh

HX = {"HX-Request": "true"}


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def form_of(page: str, action: str) -> dict[str, str]:
    """The hidden inputs (csrf_token, submission_id, roll_id) of the form posting to `action`."""
    start = page.index(f'action="{action}"')
    form = page[start : page.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


class Desk:
    """A ballot with a 计票人 and a 监票人, each logged in on their own phone."""

    def __init__(
        self,
        db: Database,
        make_client: Callable[[], Client],
        *,
        owners: tuple[int, ...] = (),
        **ballot: Any,
    ) -> None:
        self.db = db
        self.world = f.make_hall(db, buildings=2, entrances=2, rooms=4)
        self.chair = f.make_chair(db, self.world)
        self.owners = [  # on the roll: they join before it is frozen
            f.make_member(
                db, self.world, household_index=i, relation=Relation.OWNER, chair=self.chair
            )[0]
            for i in owners
        ]
        self.counter = f.make_member(db, self.world, household_index=14, chair=self.chair)[0]
        self.scrutineer = f.make_member(db, self.world, household_index=15, chair=self.chair)[0]
        self.ballot = vh.open_ballot(
            db,
            self.world,
            self.chair,
            counters=(self.counter,),
            scrutineers=(self.scrutineer,),
            **ballot,
        )
        self.url = f"/halls/{self.world.hall.id}/ballots/{self.ballot.id}"
        self.boss = login(make_client, self.chair)
        self.counting = login(make_client, self.counter)
        self.watching = login(make_client, self.scrutineer)

    def recon(self) -> queries.Reconciliation:
        with self.db.session(read_only=True) as s:
            return queries.reconciliation(s, self.ballot.id or 0)

    def enter(
        self, code: str, *, result: str = "vote", option: str = "yes", hx: bool = False
    ) -> Any:
        page = self.counting.get(f"{self.url}/paper").text
        hidden = form_of(page, f"{self.url}/paper/entries")
        data = {**hidden, "code": code, "result": result, "option": option}
        return self.counting.post(
            f"{self.url}/paper/entries",
            data=data,
            headers=HX if hx else {},
            follow_redirects=False,
        )

    def pending_ids(self) -> list[int]:
        with self.db.session(read_only=True) as s:
            return [
                row.entry.id or 0
                for row in queries.pending_entries(s, self.ballot.id or 0, full_labels=True)
            ]

    def decide(self, client: Client, entry_id: int, verb: str = "confirm", hx: bool = False) -> Any:
        token = client.csrf(f"{self.url}/paper")
        return client.post(
            f"{self.url}/paper/entries/{entry_id}/{verb}",
            data={"csrf_token": token},
            headers=HX if hx else {},
            follow_redirects=False,
        )


def stat(page: str, label: str) -> int:
    match = re.search(rf"<dt>{label}</dt><dd>(\d+)</dd>", page)
    assert match, f"no {label} on the page"
    return int(match.group(1))


def test_a_counter_enters_ten_papers_and_a_scrutineer_confirms_them(
    db: Database, make_client: Callable[[], Client]
) -> None:
    desk = Desk(db, make_client)
    # The chair issues the codes (a plain form: PRG with the count in the flash).
    issued = desk.boss.post(
        f"{desk.url}/paper/issue",
        data={"csrf_token": desk.boss.csrf(f"{desk.url}/paper")},
        follow_redirects=True,
    )
    assert issued.status_code == 200
    assert "已生成 16 张纸质票" in issued.text
    assert f'href="{desk.url}/paper/print"' in issued.text
    codes = [code for code, _ in vh.papers(db, desk.ballot)]
    assert len(codes) == desk.ballot.roll_count == 16
    # The counter enters ten: eight choices, one blank, one invalid; half plain, half htmx.
    readings = [("vote", "yes")] * 5 + [("vote", "no")] * 3 + [("blank", ""), ("invalid", "")]
    for n, (code, (result, option)) in enumerate(zip(codes, readings, strict=False)):
        typed = code.lower().replace("-", " ") if n == 0 else code  # as a person types it
        response = desk.enter(typed, result=result, option=option, hx=n % 2 == 1)
        if n % 2:
            assert response.status_code == 200, response.text
            assert "<html" not in response.text
            assert f"已录入 {code}" in response.text
            assert 'hx-swap-oob="true"' in response.text  # the counts and the list, refreshed
        else:
            assert response.status_code == 303, response.text
    page = desk.counting.get(f"{desk.url}/paper").text
    assert (stat(page, "发出"), stat(page, "收回"), stat(page, "待确认")) == (16, 10, 10)
    assert stat(page, "未收回") == 6
    assert "/confirm" not in page  # nobody confirms their own entries
    assert "等待另一位监票人确认" in page
    entries = desk.pending_ids()
    assert len(entries) == 10
    # The one who entered cannot confirm: 409 with the message under the button, with htmx
    # and without (the desk again).
    refused = desk.decide(desk.counting, entries[0], hx=True)
    assert refused.status_code == 409
    assert "录入人不能自己确认" in refused.text
    plain = desk.decide(desk.counting, entries[0])
    assert plain.status_code == 409
    assert plain.text.count("录入人不能自己确认") == 1
    assert f'aria-describedby="e-paper-entry-{entries[0]}"' in plain.text
    # The scrutineer sees the buttons and confirms all ten.
    page = desk.watching.get(f"{desk.url}/paper").text
    assert len(re.findall(r'action="[^"]+/confirm"', page)) == 10
    for n, entry_id in enumerate(entries):
        response = desk.decide(desk.watching, entry_id, hx=n % 2 == 0)
        assert response.status_code == (200 if n % 2 == 0 else 303), response.text
    again = desk.decide(desk.watching, entries[0], hx=True)
    assert again.status_code == 409
    assert "已经处理过了" in again.text
    page = desk.watching.get(f"{desk.url}/paper").text
    assert [
        stat(page, k) for k in ("发出", "收回", "有效", "无效", "空白", "待确认", "未收回")
    ] == [
        16,
        10,
        8,
        1,
        1,
        0,
        6,
    ]
    assert "账目相符" in page
    recon = desk.recon()
    assert recon.balanced
    assert recon.settled
    assert recon.recorded == 8
    with db.session(read_only=True) as s:
        ballot = s.get(Ballot, desk.ballot.id)
        assert ballot is not None
        turnout = queries.turnout(s, ballot)
        assert turnout.by_channel == {"paper": 8}
        assert turnout.by_option == {"yes": 5, "no": 3}
        assert ledger.verify(queries.ledger_events(s, ballot.id or 0)).ok
        assert {
            e.confirmed_by_id for e in s.exec(select(PaperEntry)).all() if e.ballot_id == ballot.id
        } == {desk.scrutineer.id}


def test_bad_paper_input_is_422_next_to_the_field(
    db: Database, make_client: Callable[[], Client]
) -> None:
    desk = Desk(db, make_client)
    vh.issue_papers(db, desk.world, desk.chair, desk.ballot)
    code = vh.papers(db, desk.ballot)[0][0]
    for hx in (False, True):
        unknown = desk.enter("ZZZZZ-ZZZZZ", hx=hx)
        assert unknown.status_code == 422
        assert 'id="e-code"' in unknown.text
        assert "没有找到这个票号" in unknown.text
        assert 'value="ZZZZZ-ZZZZZ"' in unknown.text  # what was typed stays, to correct it
        assert ("<html" in unknown.text) is not hx
        no_choice = desk.enter(code, option="", hx=hx)
        assert no_choice.status_code == 422
        assert 'id="e-option"' in no_choice.text
        bad_result = desk.enter(code, result="maybe", hx=hx)
        assert bad_result.status_code == 422
        assert 'id="e-result"' in bad_result.text
        assert "有效票、空白票还是无效票" in bad_result.text
    assert desk.enter(code).status_code == 303
    twice = desk.enter(code, option="no")
    assert twice.status_code == 422
    assert 'id="e-code"' in twice.text
    assert "这张纸质票已经录入过了" in twice.text
    assert desk.recon().returned == 1
    # A rejected reading may be entered again.
    (entry_id,) = desk.pending_ids()
    assert desk.decide(desk.watching, entry_id, "reject").status_code == 303
    assert desk.recon().returned == 0
    assert desk.enter(code, option="no", hx=True).status_code == 200
    assert desk.recon().pending == 1
    # A double tap (the same submission id twice) is one entry.
    page = desk.counting.get(f"{desk.url}/paper").text
    hidden = form_of(page, f"{desk.url}/paper/entries")
    second = vh.papers(db, desk.ballot)[1][0]
    for _ in range(2):
        desk.counting.post(
            f"{desk.url}/paper/entries",
            data={**hidden, "code": second, "result": "blank"},
            follow_redirects=False,
        )
    assert desk.recon().pending == 2


def test_phone_then_paper_the_paper_counts_and_both_stay_in_the_history(
    db: Database, make_client: Callable[[], Client]
) -> None:
    # A named (记名) ballot: the roll shows choices and codes (a 无记名 one: test_voting_secret).
    desk = Desk(db, make_client, owners=(0,), secret=False)
    phone = login(make_client, desk.owners[0])
    page = phone.get(desk.url).text
    hidden = form_of(page, f"{desk.url}/votes")
    voted = phone.post(f"{desk.url}/votes", data={**hidden, "option": "yes", "consent": "on"})
    assert voted.status_code == 200
    vh.issue_papers(db, desk.world, desk.chair, desk.ballot)
    rows = vh.roll(db, desk.ballot)
    mine = next(r for r in rows if r.vote_id is not None)
    assert mine.paper_code is not None
    assert desk.enter(mine.paper_code, option="no").status_code == 303
    # The scrutineer is told the voter has voted on the phone, and that the later vote counts.
    page = desk.watching.get(f"{desk.url}/paper").text
    assert "该投票人已通过手机投票" in page
    assert "确认后以这张纸质票为准" in page
    (entry_id,) = desk.pending_ids()
    confirmed = desk.decide(desk.watching, entry_id, hx=True)
    assert confirmed.status_code == 200
    assert "已确认，计入表决，回执码" in confirmed.text
    with db.session(read_only=True) as s:
        history = s.exec(
            select(Vote.channel, Vote.is_current)
            .where(Vote.ballot_id == desk.ballot.id)
            .order_by(col(Vote.id))
        ).all()
        assert [(c.value, current) for c, current in history] == [
            ("phone", False),
            ("paper", True),
        ]
        events = queries.ledger_events(s, desk.ballot.id or 0)
        assert [e.kind for e in events][-2:] == ["cast", "paper"]
        assert list(ledger.replay(events).values()) == ["no"]
    # The roll shows the paper vote; the voter's page shows it as the current one.
    roll = desk.boss.get(f"{desk.url}/roll").text
    card = roll[roll.index(f'id="roll-{mine.entry.id}"') :]
    card = card[: card.index("</li>")]
    assert "反对" in card
    assert "纸质票" in card
    assert mine.paper_code in card
    assert "纸质票" in phone.get(desk.url).text


def test_the_chair_records_in_person_votes_attendance_and_voids_with_a_reason(
    db: Database, make_client: Callable[[], Client]
) -> None:
    desk = Desk(
        db, make_client, rule=RuleKind.RESIDENTS_MEETING, voter_unit="household", secret=False
    )
    roll_url = f"{desk.url}/roll"
    page = desk.boss.get(roll_url).text
    assert "出席登记（实到）" in page
    assert page.count('class="roll-row') == 16
    rows = vh.roll(db, desk.ballot)
    first, second, third = (r.entry.id or 0 for r in rows[:3])
    # In person, plain form: PRG back to the row.
    hidden = form_of(page, f"{desk.url}/in-person")
    assert hidden["roll_id"] == str(first)
    done = desk.boss.post(
        f"{desk.url}/in-person", data={**hidden, "option": "yes"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith(f"/roll#roll-{first}")
    # In person, htmx: the row's card, with the summary out of band.
    page = desk.boss.get(roll_url).text
    card = page[page.index(f'id="roll-{second}"') :]
    hidden = form_of(card, f"{desk.url}/in-person")
    response = desk.boss.post(f"{desk.url}/in-person", data={**hidden, "option": "no"}, headers=HX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<li class="roll-row has-vote" id="roll-{second}"')
    assert "现场表决" in response.text
    assert "已记录" in response.text
    assert f'id="ballot-{desk.ballot.id}-roll-summary" hx-swap-oob="true"' in response.text
    # No choice: 422 next to the row's options, nothing recorded.
    card = page[page.index(f'id="roll-{third}"') :]
    hidden = form_of(card, f"{desk.url}/in-person")
    for hx in (False, True):
        empty = desk.boss.post(f"{desk.url}/in-person", data=hidden, headers=HX if hx else {})
        assert empty.status_code == 422
        assert f'id="e-option-{third}"' in empty.text
    # A voter who is not on this roll: 422, and nothing changes.
    stranger = desk.boss.post(
        f"{desk.url}/in-person", data={**hidden, "roll_id": "999999999", "option": "yes"}
    )
    assert stranger.status_code == 422
    assert "请选择名单中的投票人" in stranger.text
    with db.session(read_only=True) as s:
        votes = s.exec(select(Vote).where(Vote.ballot_id == desk.ballot.id)).all()
        assert sorted(v.roll_id for v in votes) == sorted([first, second])
        assert {v.channel.value for v in votes} == {"in_person"}
    # Attendance: the ticked ones and everyone who voted.
    token = desk.boss.csrf(roll_url)
    saved = desk.boss.post(
        f"{desk.url}/attendance",
        data={"csrf_token": token, "present_ids": [str(third), str(rows[3].entry.id)]},
        headers=HX,
    )
    assert saved.status_code == 200
    assert "实到 4 人" in saved.text
    assert "hx-swap-oob" in saved.text
    with db.session(read_only=True) as s:
        present = s.exec(
            select(RollEntry.id).where(
                RollEntry.ballot_id == desk.ballot.id, col(RollEntry.present).is_(True)
            )
        ).all()
        assert sorted(present) == sorted([first, second, third, rows[3].entry.id])
    assert stat(desk.boss.get(roll_url).text, "实到") == 4
    # Void: a reason is required (422 next to the field), then the vote is void, kept and logged.
    vote_id = next(r.vote_id for r in vh.roll(db, desk.ballot) if r.entry.id == first)
    void_url = f"{desk.url}/votes/{vote_id}/void"
    for hx in (False, True):
        missing = desk.boss.post(
            void_url,
            data={"csrf_token": token, "reason": "  "},
            headers=HX if hx else {},
        )
        assert missing.status_code == 422
        assert f'id="e-reason-{first}"' in missing.text
    voided = desk.boss.post(
        void_url, data={"csrf_token": token, "reason": "举手时看错了人"}, headers=HX
    )
    assert voided.status_code == 200
    assert "未投票" in voided.text
    with db.session(read_only=True) as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        assert not vote.is_current
        assert vote.void_reason == "举手时看错了人"
        assert vote.voided_by_id == desk.chair.id
        kinds = s.exec(
            select(LedgerEvent.kind)
            .where(LedgerEvent.ballot_id == desk.ballot.id)
            .order_by(col(LedgerEvent.height))
        ).all()
        assert kinds[-1] == LedgerKind.VOID
    # Voiding it again: the vote is no longer current (409, said under 确认作废).
    again = desk.boss.post(void_url, data={"csrf_token": token, "reason": "再来"})
    assert again.status_code == 409
    assert "这张票已不是有效票" in again.text


def test_owner_roll_shows_areas_and_the_print_page_has_one_sheet_per_voter(
    db: Database, make_client: Callable[[], Client]
) -> None:
    desk = Desk(db, make_client, secret=False)
    page = desk.boss.get(f"{desk.url}/roll").text
    assert "61.25 ㎡" in page
    assert "出席登记" not in page  # owners' ballots count who voted, not who attended
    assert desk.boss.get(f"{desk.url}/roll?q=1号楼1单元101").text.count('class="roll-row') == 1
    empty = desk.boss.get(f"{desk.url}/paper/print")
    assert empty.status_code == 200
    assert "还没有生成纸质票" in empty.text
    vh.issue_papers(db, desk.world, desk.chair, desk.ballot)
    sheets = desk.boss.get(f"{desk.url}/paper/print")
    assert sheets.status_code == 200
    text = sheets.text
    assert text.count('<article class="paper-sheet">') == 16
    assert text.count('<svg class="qr"') == 16
    assert "请在一个选项的方框内打✓，多选或不选为无效/空白票" in text
    assert "投票人签名" in text
    assert "style=" not in text.split("<main", 1)[1]  # the CSP forbids inline styles
    code, entry = vh.papers(db, desk.ballot)[0]
    assert code in text
    assert entry.label in text
    # The QR code opens the entry form with the code filled in.
    prefilled = desk.counting.get(f"{desk.url}/paper?code={code}")
    assert f'value="{code}"' in prefilled.text


ROUTES = [
    ("GET", "/roll"),
    ("POST", "/in-person"),
    ("POST", "/attendance"),
    ("POST", "/votes/{vote_id}/void"),
    ("GET", "/paper"),
    ("POST", "/paper/issue"),
    ("GET", "/paper/print"),
    ("GET", "/paper/sign-sheet"),
    ("POST", "/paper/entries"),
    ("POST", "/paper/entries/{entry_id}/confirm"),
    ("POST", "/paper/entries/{entry_id}/reject"),
]


def test_residents_and_another_halls_chair_get_404_on_every_new_route(
    db: Database, make_client: Callable[[], Client]
) -> None:
    desk = Desk(
        db, make_client, rule=RuleKind.RESIDENTS_MEETING, voter_unit="household", secret=False
    )
    vh.issue_papers(db, desk.world, desk.chair, desk.ballot)
    code, entry = vh.papers(db, desk.ballot)[0]
    pending = vh.enter_paper(db, desk.world, desk.counter, desk.ballot, code)
    receipt = vh.in_person(db, desk.world, desk.chair, desk.ballot, entry.id or 0, "yes")
    del receipt
    vote_id = next(r.vote_id for r in vh.roll(db, desk.ballot) if r.vote_id)
    resident = f.make_member(db, desk.world, household_index=3, chair=desk.chair)[0]
    other = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    other_chair = f.make_chair(db, other)
    people = {
        "resident": login(make_client, resident),
        "other chair": login(make_client, other_chair),
    }
    body = {
        "option": "yes",
        "roll_id": str(entry.id),
        "submission_id": vh.sid(),
        "reason": "理由",
        "present_ids": [str(entry.id)],
        "code": vh.papers(db, desk.ballot)[1][0],
        "result": "vote",
    }

    def count_rows() -> tuple[int, int, int]:
        with db.session(read_only=True) as s:
            return (
                len(s.exec(select(Vote.id)).all()),
                len(s.exec(select(PaperEntry.id)).all()),
                len(s.exec(select(LedgerEvent.height)).all()),
            )

    before = count_rows()
    for who, client in people.items():
        token = client.csrf("/")
        for method, suffix in ROUTES:
            path = desk.url + suffix.format(vote_id=vote_id, entry_id=pending.id)
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, data={"csrf_token": token, **body})
            assert response.status_code == 404, f"{who} {method} {path}: {response.status_code}"
    # The officers see the paper desk, and nothing else of the chair's.
    for officer in (desk.counting, desk.watching):
        token = officer.csrf("/")
        for method, suffix in ROUTES:
            path = desk.url + suffix.format(vote_id=vote_id, entry_id=pending.id)
            if suffix in {"/paper", "/paper/entries/{entry_id}/confirm"}:
                continue
            if suffix.startswith("/paper/entries") and officer is desk.counting:
                continue
            if suffix == "/paper/entries/{entry_id}/reject":
                continue
            response = (
                officer.get(path)
                if method == "GET"
                else officer.post(path, data={"csrf_token": token, **body})
            )
            assert response.status_code == 404, f"officer {method} {path}: {response.status_code}"
        assert officer.get(f"{desk.url}/paper").status_code == 200
    assert count_rows() == before
    # The 监票人 cannot enter; the 计票人 cannot confirm their own entry (409, not a 404).
    token = desk.watching.csrf("/")
    assert (
        desk.watching.post(
            f"{desk.url}/paper/entries", data={"csrf_token": token, **body}
        ).status_code
        == 404
    )
    assert desk.decide(desk.counting, pending.id or 0, hx=True).status_code == 409
    assert count_rows() == before
    with db.session(read_only=True) as s:
        stored = s.get(PaperEntry, pending.id)
        assert stored is not None
        assert stored.status == PaperStatus.PENDING
        assert stored.result == PaperResult.VOTE


# --- a fixed number of queries ----------------------------------------------------------------


class Counter:
    def __init__(self, db: Database) -> None:
        self.count = 0
        self.engines = {id(e): e for e in (db.write_engine, db.read_engine)}.values()

    def _on(self, *_args: object) -> None:
        self.count += 1

    def __enter__(self) -> Counter:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._on)


def test_the_pages_cost_the_same_queries_for_16_and_240_voters(
    db: Database, make_client: Callable[[], Client]
) -> None:
    counts: dict[str, list[int]] = {
        "/roll": [],
        "/paper": [],
        "/paper/print": [],
        "/paper/sign-sheet": [],
    }
    for buildings, rooms in ((2, 4), (6, 20)):
        world = f.make_hall(db, buildings=buildings, entrances=2, rooms=rooms)
        chair = f.make_chair(db, world)
        counter = f.make_member(db, world, household_index=0, chair=chair)[0]
        ballot = vh.open_ballot(db, world, chair, counters=(counter,), secret=False)
        vh.issue_papers(db, world, chair, ballot)
        rows = vh.roll(db, ballot)
        for row in rows[:: max(1, len(rows) // 8)]:
            vh.in_person(db, world, chair, ballot, row.entry.id or 0, "yes")
        for code, _ in vh.papers(db, ballot)[-4:]:
            vh.enter_paper(db, world, counter, ballot, code)
        client = login(make_client, chair)
        for path, seen in counts.items():
            url = f"/halls/{world.hall.id}/ballots/{ballot.id}{path}"
            client.get(url)  # warm up
            with Counter(db) as statements:
                response = client.get(url)
            assert response.status_code == 200
            seen.append(statements.count)
            if path == "/roll":
                assert response.text.count('class="roll-row') == len(rows)
            if path == "/paper/print":
                assert response.text.count('class="paper-sheet"') == len(rows)
            if path == "/paper/sign-sheet":
                assert response.text.count('<td class="sign-cell">') == len(rows)
    for path, (small, large) in counts.items():
        assert small == large, (path, counts)
        assert small < 20, (path, counts)
