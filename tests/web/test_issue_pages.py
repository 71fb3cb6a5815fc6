"""Issue pages: propose, search, co-sign, review, deliberate, moderate, close; query counts."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import event
from sqlmodel import select

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.halls.models import Hall
from app.issues.lifecycle import Stage
from app.issues.models import Category, Comment, Issue, Stance
from tests.conftest import ORIGIN, Client
from tests.factories import PASSWORD, HallWorld, make_chair, make_hall, make_member
from tests.web import issue_helpers as h

HX = {"HX-Request": "true"}


def _client(app: FastAPI, user: User) -> Client:
    client = Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN})
    client.__enter__()
    assert user.phone
    client.login(user.phone, PASSWORD)
    return client


class People:
    def __init__(self, app: FastAPI, db: Database) -> None:
        self.db = db
        self.world: HallWorld = make_hall(db)
        self.chair = make_chair(db, self.world, name="赵主任")
        self.alice, _ = make_member(
            db, self.world, household_index=0, chair=self.chair, name="张阿姨"
        )
        self.bob, _ = make_member(
            db, self.world, household_index=1, chair=self.chair, name="李大爷"
        )
        self.carol, _ = make_member(
            db, self.world, household_index=9, chair=self.chair, name="王姐"
        )
        self.clients = {
            name: _client(app, getattr(self, name)) for name in ("chair", "alice", "bob", "carol")
        }
        self.tokens = {name: c.csrf("/") for name, c in self.clients.items()}

    @property
    def hall_id(self) -> int:
        return self.world.hall.id or 0

    def post(
        self,
        who: str,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        hx: bool = False,
        **kw: Any,
    ) -> Any:
        headers = {"X-CSRF-Token": self.tokens[who], **(HX if hx else {})}
        return self.clients[who].post(
            path, data=data or {}, headers=headers, follow_redirects=False, **kw
        )

    def get(self, who: str, path: str, *, hx: bool = False) -> Any:
        return self.clients[who].get(path, headers=HX if hx else {}, follow_redirects=False)

    def issue(self, issue_id: int) -> Issue:
        with self.db.session(read_only=True) as session:
            found = session.get(Issue, issue_id)
            assert found is not None
            return found

    def close(self) -> None:
        for c in self.clients.values():
            c.__exit__(None, None, None)


@pytest.fixture(scope="module")
def people(app: FastAPI, db: Database) -> Iterator[People]:
    p = People(app, db)
    yield p
    p.close()


def _issue_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:800]
    match = re.search(r"/issues/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


# --- proposing ------------------------------------------------------------------------------


def test_propose_with_a_photo_serves_it_without_exif(people: People) -> None:
    photo = h.jpeg_with_exif()
    response = people.post(
        "alice",
        f"/halls/{people.hall_id}/issues",
        {"title": "楼道灯坏了很久", "description": "三单元楼道灯不亮", "category": "building"},
        files=[("photos", ("p.jpg", photo, "image/jpeg"))],
    )
    issue_id = _issue_id(response)
    page = people.get("alice", f"/halls/{people.hall_id}/issues/{issue_id}")
    assert page.status_code == 200
    assert "楼道灯坏了很久" in page.text
    match = re.search(rf'src="(/halls/{people.hall_id}/issues/{issue_id}/photos/\d+)"', page.text)
    assert match, "the photo is shown"
    served = people.get("bob", match.group(1))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert b"Exif" not in served.content
    assert b"TestCam" not in served.content
    assert not Image.open(io.BytesIO(served.content)).getexif()


def test_propose_errors_come_back_next_to_their_fields(people: People) -> None:
    response = people.post(
        "alice",
        f"/halls/{people.hall_id}/issues",
        {"title": "", "description": "有内容"},
        files=[("photos", ("x.jpg", b"not an image", "image/jpeg"))],
    )
    assert response.status_code == 422
    assert 'id="e-title"' in response.text
    assert "此项必填" in response.text
    assert 'id="e-category"' in response.text
    assert 'id="e-photos"' in response.text
    assert "有内容" in response.text  # what was typed is kept


def test_similar_issues_are_found_by_a_two_character_query(people: People) -> None:
    h.propose(people.db, people.world, people.alice, title="地下车库漏水严重")
    similar = people.get("bob", f"/halls/{people.hall_id}/issues/similar?title=车库", hx=True)
    assert similar.status_code == 200
    assert 'id="similar-issues"' in similar.text
    assert "地下车库漏水严重" in similar.text
    none = people.get("bob", f"/halls/{people.hall_id}/issues/similar?title=电梯加装")
    assert "地下车库漏水严重" not in none.text
    # The list's active search answers with the results partial for htmx, a page otherwise.
    partial = people.get("bob", f"/halls/{people.hall_id}/issues?q=车库漏水", hx=True)
    assert 'id="issue-results"' in partial.text
    assert "<html" not in partial.text
    assert "地下车库漏水严重" in partial.text
    page = people.get("bob", f"/halls/{people.hall_id}/issues?q=车库&stage=collecting")
    assert "<html" in page.text
    assert "地下车库漏水严重" in page.text
    # Quotes and operators in the query are data, not syntax.
    odd = people.get("bob", f'/halls/{people.hall_id}/issues?q="车库" OR * NEAR(')
    assert odd.status_code == 200


# --- co-signing and review ------------------------------------------------------------------


def _set_threshold(db: Database, hall_id: int, n: int) -> None:
    with db.session() as session:
        hall = session.get(Hall, hall_id)
        assert hall is not None
        hall.cosign_threshold = n
        session.add(hall)
        session.commit()


def test_cosign_progress_then_the_issue_goes_to_review_by_itself(people: People) -> None:
    _set_threshold(people.db, people.hall_id, 2)
    try:
        issue = h.propose(people.db, people.world, people.alice, title="增设快递柜")
        url = f"/halls/{people.hall_id}/issues/{issue.id}"
        own = people.get("alice", url)
        assert "我也支持，附议" not in own.text  # the proposer cannot co-sign
        first = people.post("bob", url + "/cosign", hx=True)
        assert first.status_code == 200
        assert f'id="issue-{issue.id}-stage-panel"' in first.text
        assert "<html" not in first.text
        assert "已有 1 位居民附议" in first.text
        assert 'id="bell" class="bell" href="/notifications" hx-swap-oob="true"' in first.text
        assert "撤回附议" in first.text
        again = people.post("bob", url + "/cosign", hx=True)
        assert again.status_code == 409
        assert "您已经附议过了" in again.text
        back = people.post("bob", url + "/cosign/withdraw", hx=True)
        assert "已有 0 位居民附议" in back.text
        assert people.post("bob", url + "/cosign").status_code == 303
        plain = people.post("carol", url + "/cosign")  # without htmx: PRG
        assert plain.status_code == 303
        assert plain.headers["location"].startswith(url)
        assert people.issue(issue.id or 0).stage == Stage.UNDER_REVIEW
        chair_page = people.get("chair", url)
        assert "受理，进入协商" in chair_page.text
        queue = people.get("chair", f"/halls/{people.hall_id}/review")
        assert "增设快递柜" in queue.text
        bell = people.get("chair", "/notifications")
        assert "有议题等待您审核" in bell.text
        assert "增设快递柜" in bell.text
        assert people.post("chair", "/notifications/read").status_code == 303
    finally:
        _set_threshold(people.db, people.hall_id, 10)


def test_review_accept_reject_and_merge(people: People) -> None:
    base = f"/halls/{people.hall_id}/issues"
    a = h.enter(people.db, people.world, people.chair, title="垃圾站异味")
    b = h.enter(people.db, people.world, people.chair, title="广告太多")
    c = h.enter(people.db, people.world, people.chair, title="垃圾站有味道")
    bad = people.post("chair", f"{base}/{a.id}/accept", {"deliberation_days": "abc"}, hx=True)
    assert bad.status_code == 422
    assert 'id="e-deliberation_days"' in bad.text
    assert "请输入整数" in bad.text
    plain_bad = people.post("chair", f"{base}/{a.id}/reject", {"reason": ""})
    assert plain_bad.status_code == 422
    assert "<html" in plain_bad.text
    assert 'id="e-reason"' in plain_bad.text
    assert (
        people.post("chair", f"{base}/{a.id}/accept", {"deliberation_days": "14"}).status_code
        == 303
    )
    assert people.issue(a.id or 0).stage == Stage.DELIBERATING
    assert people.issue(a.id or 0).deliberation_deadline is not None
    assert (
        people.post("chair", f"{base}/{b.id}/reject", {"reason": "不属于居民议事范围"}).status_code
        == 303
    )
    rejected = people.get("alice", f"{base}/{b.id}")
    assert "不予受理" in rejected.text
    assert "不属于居民议事范围" in rejected.text
    merged = people.post("chair", f"{base}/{c.id}/merge", {"target_id": str(a.id)}, hx=True)
    assert merged.status_code == 200, merged.text[:500]
    assert people.issue(c.id or 0).stage == Stage.MERGED
    assert f'href="/halls/{people.hall_id}/issues/{a.id}"' in merged.text
    # A resident cannot review: the route does not exist for them.
    assert people.post("alice", f"{base}/{a.id}/reject", {"reason": "x"}).status_code == 404
    # Accepting twice is a friendly conflict.
    twice = people.post("chair", f"{base}/{a.id}/accept", {}, hx=True)
    assert twice.status_code == 409
    assert "不能" in twice.text


# --- deliberation ---------------------------------------------------------------------------


def test_comments_stances_replies_edit_window_and_moderation(people: People) -> None:
    issue = h.deliberating(people.db, people.world, people.chair, title="小区养狗规范")
    url = f"/halls/{people.hall_id}/issues/{issue.id}"
    first = people.post(
        "alice", url + "/comments", {"body": "支持制定公约", "stance": "support"}, hx=True
    )
    assert first.status_code == 200
    assert f'id="issue-{issue.id}-comments"' in first.text
    assert "<html" not in first.text
    people.post("bob", url + "/comments", {"body": "反对一刀切", "stance": "oppose"})
    people.post("carol", url + "/comments", {"body": "可以分时段遛狗", "stance": "suggest"})
    empty = people.post("bob", url + "/comments", {"body": "  ", "stance": "support"}, hx=True)
    assert empty.status_code == 422
    assert 'id="e-body"' in empty.text
    page = people.get("alice", url)
    counts = dict(
        re.findall(r'<li class="stance-(\w+)"><span>[^<]+</span> <strong>(\d+)</strong>', page.text)
    )
    assert counts == {"support": "1", "oppose": "1", "suggest": "1", "neutral": "0"}
    with people.db.session(read_only=True) as session:
        ids = {
            c.body: c.id
            for c in session.exec(select(Comment).where(Comment.issue_id == issue.id)).all()
        }
    # One level of replies.
    reply = people.post(
        "alice",
        url + "/comments",
        {"body": "可以商量时段", "stance": "neutral", "parent_id": str(ids["反对一刀切"])},
        hx=True,
    )
    assert reply.status_code == 200
    assert f'id="comment-{ids["反对一刀切"]}"' in reply.text
    assert "可以商量时段" in reply.text
    # Editing: within 10 minutes, marked 已编辑; afterwards refused.
    cid = ids["支持制定公约"]
    edited = people.post(
        "alice",
        f"/halls/{people.hall_id}/comments/{cid}/edit",
        {"body": "支持制定文明养犬公约"},
        hx=True,
    )
    assert edited.status_code == 200
    assert "已编辑" in edited.text
    assert "文明养犬公约" in edited.text
    assert (
        people.post(
            "bob", f"/halls/{people.hall_id}/comments/{cid}/edit", {"body": "x"}
        ).status_code
        == 404
    )
    clock.freeze(clock.now() + timedelta(minutes=11))
    try:
        late = people.post(
            "alice", f"/halls/{people.hall_id}/comments/{cid}/edit", {"body": "再改"}, hx=True
        )
        assert late.status_code == 409
        assert "不能再修改" in late.text
    finally:
        clock.freeze(None)
    # Report → moderation queue → hide with a reason → 已隐藏 + reason, for everyone.
    bad = ids["反对一刀切"]
    report = people.post(
        "carol", f"/halls/{people.hall_id}/comments/{bad}/report", {"reason": "语气不好"}
    )
    assert report.status_code == 303
    queue = people.get("chair", f"/halls/{people.hall_id}/moderation")
    assert "反对一刀切" in queue.text
    assert "语气不好" in queue.text
    assert people.get("alice", f"/halls/{people.hall_id}/moderation").status_code == 404
    hidden = people.post(
        "chair", f"/halls/{people.hall_id}/comments/{bad}/hide", {"reason": "人身攻击"}, hx=True
    )
    assert hidden.status_code == 200
    assert "已隐藏" in hidden.text
    assert "人身攻击" in hidden.text
    seen = people.get("alice", url)
    assert "已隐藏" in seen.text
    assert "人身攻击" in seen.text
    assert "反对一刀切" not in seen.text
    assert "反对一刀切" not in people.get("chair", f"/halls/{people.hall_id}/moderation").text
    restored = people.post("chair", f"/halls/{people.hall_id}/comments/{bad}/restore")
    assert restored.status_code == 303
    assert "反对一刀切" in people.get("alice", url).text


def test_solutions_and_closing_deliberation(people: People) -> None:
    issue = h.deliberating(people.db, people.world, people.chair, title="车棚改造")
    url = f"/halls/{people.hall_id}/issues/{issue.id}"
    bad = people.post(
        "bob",
        url + "/solutions",
        {"title": "加顶棚", "description": "x", "estimated_cost": "abc"},
        hx=True,
    )
    assert bad.status_code == 422
    assert 'id="e-estimated_cost"' in bad.text
    assert "金额应为数字" in bad.text
    ok = people.post(
        "bob",
        url + "/solutions",
        {"title": "加顶棚", "description": "加装防雨顶棚", "estimated_cost": "12000.5"},
        hx=True,
    )
    assert ok.status_code == 200
    assert f'id="issue-{issue.id}-solutions"' in ok.text
    assert "12000.50" in ok.text
    form = people.get("chair", url + "/close")
    assert form.status_code == 200
    assert "加顶棚" in form.text
    sid = re.search(r'name="solution_ids" value="(\d+)"', form.text)
    assert sid
    missing = people.post("chair", url + "/close", {"agreements": "", "disagreements": "有"})
    assert missing.status_code == 422
    assert 'id="e-agreements"' in missing.text
    assert 'id="e-solution_ids"' in missing.text
    done = people.post(
        "chair",
        url + "/close",
        {
            "agreements": "都同意改造",
            "disagreements": "费用分摊：按户均摊",
            "solution_ids": sid.group(1),
        },
    )
    assert done.status_code == 303
    assert people.issue(issue.id or 0).stage == Stage.DECIDING
    page = people.get("alice", url)
    assert "等待居委会发起表决" in page.text  # 表决中 only once a ballot is open (issue #14)
    assert "协商结束，进入民决" in page.text  # the history names the step, not a vote
    assert "都同意改造" in page.text
    assert "进入表决" in page.text


def test_hall_home_shows_counts_and_what_needs_me(people: People) -> None:
    h.propose(people.db, people.world, people.alice, title="健身器材老化")
    home = people.get("bob", f"/halls/{people.hall_id}")
    assert "等您附议" in home.text
    assert "健身器材老化" in home.text
    chair = people.get("chair", f"/halls/{people.hall_id}")
    assert "议题审核" in chair.text
    assert "评论举报" in chair.text


# --- a fixed number of queries --------------------------------------------------------------


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


def _queries(client: Client, db: Database, url: str) -> int:
    """What the page costs when none of its parts is kept (app/web/fragments.py): after a
    warm-up for the session and the hall, the kept parts are emptied."""
    client.get(url)  # warm up (session touch, caches)
    for name, memo in db.memos.items():
        if name.startswith(("fragment:", "kept:")):
            memo.clear()
    with Counter(db) as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def _bulk_comments(db: Database, issue: Issue, authors: list[User], n: int) -> None:
    with db.session() as session:
        top = [
            Comment(
                hall_id=issue.hall_id,
                issue_id=issue.id or 0,
                author_id=authors[i % len(authors)].id or 0,
                stance=list(Stance)[i % 4],
                body=f"意见{i}",
            )
            for i in range(n)
        ]
        session.add_all(top)
        session.flush()
        session.add_all(
            Comment(
                hall_id=issue.hall_id,
                issue_id=issue.id or 0,
                parent_id=c.id,
                author_id=authors[(i + 1) % len(authors)].id or 0,
                body=f"回复{i}",
            )
            for i, c in enumerate(top[-30:])
        )
        session.commit()


def test_issue_page_costs_the_same_queries_for_10_and_1000_comments(
    people: People, db: Database
) -> None:
    authors = [people.alice, people.bob, people.carol, people.chair]
    small = h.deliberating(db, people.world, people.chair, title="十条评论")
    large = h.deliberating(db, people.world, people.chair, title="一千条评论")
    _bulk_comments(db, small, authors, 10)
    _bulk_comments(db, large, authors, 1000)
    for who in ("chair", "alice"):
        client = people.clients[who]
        few = _queries(client, db, f"/halls/{people.hall_id}/issues/{small.id}")
        many = _queries(client, db, f"/halls/{people.hall_id}/issues/{large.id}")
        assert few == many, (who, few, many)
        assert many <= 25, many
    more = people.get("alice", f"/halls/{people.hall_id}/issues/{large.id}")
    assert "更多评论" in more.text


def _bulk_issues(db: Database, world: HallWorld, proposer: User, n: int) -> None:
    with db.session() as session:
        session.add_all(
            Issue(
                hall_id=world.hall.id or 0,
                title=f"批量议题{i}",
                description="批量",
                category=list(Category)[i % len(Category)],
                proposer_id=proposer.id or 0,
                search_text="批量 量议 议题",
            )
            for i in range(n)
        )
        session.commit()


def test_issue_list_costs_the_same_queries_for_10_and_300_issues(
    app: FastAPI, db: Database
) -> None:
    counts = []
    for n in (10, 300):
        world = make_hall(db)
        chair = make_chair(db, world)
        resident, _ = make_member(db, world, household_index=0, chair=chair)
        _bulk_issues(db, world, resident, n)
        client = _client(app, resident)
        hall = world.hall.id
        per_page = [
            _queries(client, db, f"/halls/{hall}/issues"),
            _queries(client, db, f"/halls/{hall}/issues?q=批量议题"),
            _queries(client, db, f"/halls/{hall}"),
        ]
        counts.append(per_page)
        client.__exit__(None, None, None)
    assert counts[0] == counts[1], counts
