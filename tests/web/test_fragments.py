"""Parts of pages kept and shared between readers (app/web/fragments.py, issue #11), on
SQLite and PostgreSQL: the issue list's results, the filter's buildings and the bell's count.

What must hold: a reader never sees an older part after a write made through this process
(theirs or anyone's); what differs per reader (the buttons of a chair, the bell) is never
shared; a search is read for its reader alone; a kept part costs no query; a read that
began before a write is never kept; the memo of parts is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlmodel import Session

from app.db import Database
from app.issues.lifecycle import Stage
from app.web import fragments
from tests.conftest import ORIGIN, Client
from tests.factories import PASSWORD, HallWorld, make_chair, make_hall, make_member
from tests.web import issue_helpers as h

RESULTS = "fragment:issues/_results.html"


class Statements:
    """Counts what reaches the database, on both engines."""

    def __init__(self, db: Database) -> None:
        self.engines = {id(e): e for e in (db.write_engine, db.read_engine)}.values()
        self.seen: list[str] = []

    def _on(self, *args: object) -> None:
        self.seen.append(str(args[2]))

    def __enter__(self) -> Statements:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._on)


class Hall:
    def __init__(self, app: FastAPI, db: Database) -> None:
        self.db = db
        self.world: HallWorld = make_hall(db)
        self.chair = make_chair(db, self.world, name="赵主任")
        self.alice, _ = make_member(db, self.world, household_index=0, chair=self.chair)
        self.bob, _ = make_member(db, self.world, household_index=1, chair=self.chair)
        self.clients: dict[str, Client] = {}
        for name in ("chair", "alice", "bob"):
            client = Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN})
            client.__enter__()
            user = getattr(self, name)
            client.login(user.phone, PASSWORD)
            self.clients[name] = client

    @property
    def url(self) -> str:
        return f"/halls/{self.world.hall.id}/issues"

    def results(self, who: str, query: str = "") -> str:
        page = self.clients[who].get(self.url + query)
        assert page.status_code == 200
        found = re.search(r'<div id="issue-results".*?</div>', page.text, re.S)
        assert found, page.text[:2000]
        return found.group(0)


@pytest.fixture
def hall(app: FastAPI, db: Database) -> Iterator[Hall]:
    made = Hall(app, db)
    yield made
    for client in made.clients.values():
        client.__exit__(None, None, None)


def test_the_issue_list_is_shared_yet_never_older_than_a_write(hall: Hall) -> None:
    first = h.propose(hall.db, hall.world, hall.alice, title="楼道灯不亮")
    assert "楼道灯不亮" in hall.results("alice")
    # Another reader gets the kept results: the same HTML, without reading the issues again.
    with Statements(hall.db) as statements:
        seen_by_bob = hall.results("bob")
    assert seen_by_bob == hall.results("alice")
    assert not any("FROM issue" in s for s in statements.seen), statements.seen
    # A new issue, a co-signature and a new stage show at once to everyone.
    h.propose(hall.db, hall.world, hall.bob, title="垃圾桶站太远")
    assert "垃圾桶站太远" in hall.results("alice")
    h.cosign(hall.db, hall.world, hall.bob, first.id or 0)
    row = re.search(rf'id="issue-{first.id}-row".*?</li>', hall.results("chair"), re.S)
    assert row
    assert "附议 1" in row.group(0)
    entered = h.enter(hall.db, hall.world, hall.chair, title="电话反映的漏水")
    row = re.search(rf'id="issue-{entered.id}-row".*?</li>', hall.results("alice"), re.S)
    assert row
    assert f"stage-{Stage.UNDER_REVIEW}" in row.group(0)
    h.accept(hall.db, hall.world, hall.chair, entered.id or 0)
    row = re.search(rf'id="issue-{entered.id}-row".*?</li>', hall.results("bob"), re.S)
    assert row
    assert f"stage-{Stage.DELIBERATING}" in row.group(0)


def test_what_differs_per_reader_is_not_shared(hall: Hall) -> None:
    h.propose(hall.db, hall.world, hall.alice, title="电梯异响")
    chair_page = hall.clients["chair"].get(hall.url).text
    alice_page = hall.clients["alice"].get(hall.url).text
    assert "代居民登记议题" in chair_page  # the chair's button
    assert "代居民登记议题" not in alice_page


def test_a_search_is_read_for_its_reader_alone(hall: Hall) -> None:
    h.propose(hall.db, hall.world, hall.alice, title="自行车棚漏雨")
    memo = hall.db.memo(RESULTS, (), 0)
    kept_before = len(memo._entries)
    assert "自行车棚漏雨" in hall.results("alice", "?q=自行车")
    assert len(memo._entries) == kept_before  # nothing kept for a search
    assert "自行车棚漏雨" in hall.results("alice", "?stage=collecting")
    assert len(memo._entries) == kept_before + 1  # a filter without text is kept


def test_the_bell_is_kept_per_person_and_emptied_by_a_notification(hall: Hall) -> None:
    issue = h.deliberating(hall.db, hall.world, hall.chair, title="停车难")
    mine = h.comment(hall.db, hall.world, hall.alice, issue.id or 0, body="晚上没车位")
    client = hall.clients["alice"]
    home = f"/halls/{hall.world.hall.id}/issues"
    before = _bell(client.get(home).text)
    with Statements(hall.db) as statements:
        assert _bell(client.get(home).text) == before
    assert not any("FROM notification" in s for s in statements.seen), statements.seen
    bob_before = _bell(hall.clients["bob"].get(home).text)
    h.comment(hall.db, hall.world, hall.bob, issue.id or 0, body="同意", parent_id=mine.id)
    assert _bell(client.get(home).text) == before + 1  # a reply to Alice: she hears of it
    assert _bell(hall.clients["bob"].get(home).text) == bob_before  # Bob's bell is his own


def _bell(page: str) -> int:
    found = re.search(
        r'class="bell-count"><span aria-hidden="true">(\d+)</span><span class="sr-only">\1 条未读',
        page,
    )
    return int(found.group(1)) if found else 0


def test_a_part_read_before_a_write_is_not_kept(app: FastAPI, db: Database) -> None:
    world = make_hall(db)
    chair = make_chair(db, world)

    class State:
        generation = db.generation  # noted before the read, as the guard does

    class Request:  # what fragments.shared reads of a request
        pass

    request = Request()
    request.app = app  # type: ignore[attr-defined]
    request.state = State()  # type: ignore[attr-defined]

    def read_then_a_write_lands(session: Session) -> dict[str, object]:
        # Someone else's commit, writing a watched table, while this part is being read.
        h.propose(db, world, chair, title="读的同时有人提交")
        return {"hall": world.hall, "rows": [], "next_url": None}

    with db.session(read_only=True) as session:
        fragments.shared(
            request,  # type: ignore[arg-type]
            session,
            "issues/_results.html",
            tables=("issue",),
            key="before-a-write",
            context=read_then_a_write_lands,
        )
    memo = db.memo(RESULTS, (), 0)
    assert memo.get(("before-a-write", "zh_CN")) == (False, None)
    State.generation = db.generation  # a later request
    with db.session(read_only=True) as session:
        fragments.shared(
            request,  # type: ignore[arg-type]
            session,
            "issues/_results.html",
            tables=("issue",),
            key="quiet",
            context=lambda _s: {"hall": world.hall, "rows": [], "next_url": None},
        )
    assert memo.get(("quiet", "zh_CN"))[0] is True


def test_the_memo_of_parts_is_bounded(db: Database) -> None:
    memo = db.memo("test-bounded", ("issue",), 60, size=fragments.SIZE)
    for k in range(fragments.SIZE * 3):
        memo.put(k, "x", generation=memo.generation)
        assert len(memo._entries) <= fragments.SIZE


# --- the issue page: its parts shared, what is the reader's own kept apart ---------------------


def _page(hall: Hall, who: str, issue_id: int) -> str:
    page = hall.clients[who].get(f"{hall.url}/{issue_id}")
    assert page.status_code == 200
    return page.text


def _comment(text: str, comment_id: int) -> str:
    found = re.search(rf'<li[^>]*id="comment-{comment_id}".*?</li>', text, re.S)
    assert found, text[:3000]
    return found.group(0)


def _tokens(text: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', text))


def test_the_issue_page_shares_what_readers_see_alike(hall: Hall) -> None:
    issue = h.deliberating(hall.db, hall.world, hall.chair, title="小区停车")
    issue_id = issue.id or 0
    mine = h.comment(hall.db, hall.world, hall.alice, issue_id, body="夜里车位不够")
    edit, report = "修改", "举报"
    bob = _page(hall, "bob", issue_id)
    alice = _page(hall, "alice", issue_id)
    # Bob may report Alice's comment; Alice may correct it, and not report it.
    assert report in _comment(bob, mine.id or 0)
    assert edit not in _comment(bob, mine.id or 0)
    assert edit in _comment(alice, mine.id or 0)
    assert report not in _comment(alice, mine.id or 0)
    # The chair moderates; residents do not see the moderation links.
    chair = _page(hall, "chair", issue_id)
    assert "隐藏" in _comment(chair, mine.id or 0)
    assert "隐藏" not in _comment(bob, mine.id or 0)
    # Every reader's forms carry their own token, and it works.
    assert len(_tokens(bob)) == 1
    assert len(_tokens(alice)) == 1
    assert _tokens(bob) != _tokens(alice)
    assert "\ue000" not in bob + alice + chair  # no stand-in left
    (token,) = _tokens(bob)
    posted = hall.clients["bob"].post(
        f"{hall.url}/{issue_id}/comments",
        data={"csrf_token": token, "body": "同意，建议错峰停车", "stance": "support"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text[:500]
    # A new comment shows at once to everyone, with the new count.
    for who in ("alice", "bob", "chair"):
        assert "同意，建议错峰停车" in _page(hall, who, issue_id)


def test_a_kept_issue_page_costs_no_query_and_cosigning_shows_at_once(hall: Hall) -> None:
    issue = h.propose(hall.db, hall.world, hall.alice, title="楼顶漏水")
    issue_id = issue.id or 0
    url = f"{hall.url}/{issue_id}"
    client = hall.clients["bob"]
    assert "我也支持，附议" in client.get(url).text
    with Statements(hall.db) as statements:
        page = client.get(url)
    assert page.status_code == 200
    assert statements.seen == []  # the session, the hall and every part are kept
    h.cosign(hall.db, hall.world, hall.bob, issue_id)
    bob, alice = _page(hall, "bob", issue_id), _page(hall, "alice", issue_id)
    assert "您已附议" in bob
    assert "我也支持，附议" not in bob
    assert "您已附议" not in alice
    assert "已有 1 位居民附议" in bob
    assert "已有 1 位居民附议" in alice


def test_a_hole_takes_each_readers_value_escaped(app: FastAPI, db: Database) -> None:
    world = make_hall(db)
    chair = make_chair(db, world)
    issue = h.deliberating(db, world, chair, title="方案征集")

    class State:
        generation = db.generation

    class Request:
        pass

    request = Request()
    request.app = app  # type: ignore[attr-defined]
    request.state = State()  # type: ignore[attr-defined]
    context = {
        "hall": world.hall,
        "issue": issue,
        "solutions": [],
        "opinion": None,
        "can_add_solution": True,
        "solution_errors": {},
        "solution_form": {},
    }
    seen = []
    for token in ("token-of-alice", 'token"><script>x</script>'):
        with db.session(read_only=True) as session:
            html = fragments.shared(
                request,  # type: ignore[arg-type]
                session,
                "issues/_solutions.html",
                tables=("solution",),
                key="hole",
                context=lambda _s: context,
                holes={"csrf_token": token},
            )
        seen.append(str(html))
    assert 'name="csrf_token" value="token-of-alice"' in seen[0]
    assert "<script>" not in seen[1]
    assert "token&#34;&gt;&lt;script&gt;x&lt;/script&gt;" in seen[1]
    assert seen[0].replace("token-of-alice", "") == seen[1].replace(
        "token&#34;&gt;&lt;script&gt;x&lt;/script&gt;", ""
    )  # the same kept part, each with its own value
