"""Moderation answers where it was asked, and a comment says the stance it counts under (#14).

From the queue of reported comments (/halls/{id}/moderation) the chair hides a comment or
dismisses its reports and stays in the queue: without JS PRG back to the queue with the notice,
a missing reason is the queue again (422) with the message next to that row's reason field;
with htmx the row swaps itself. From the issue page the same actions keep answering on the
issue page. A comment posted without a stance counts as 中立: the form says so beforehand and
the notice afterwards (the API treats a missing stance the same way).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.db import Database
from app.issues.models import Comment, CommentReport, Issue
from app.web import flash
from tests.web import issue_helpers as h
from tests.web.test_action_notices import flash_of, status_texts
from tests.web.test_issue_pages import People


@pytest.fixture(scope="module")
def people(app: FastAPI, db: Database) -> Iterator[People]:
    p = People(app, db)
    yield p
    p.close()


def _reported(people: People, body: str) -> tuple[int, str]:
    """A comment by bob on a fresh issue in 协商, reported by carol: (its id, the issue's url)."""
    issue = h.deliberating(people.db, people.world, people.chair, title="举报测试" + body)
    url = f"/halls/{people.hall_id}/issues/{issue.id}"
    people.post("bob", url + "/comments", {"body": body, "stance": "oppose"})
    with people.db.session(read_only=True) as session:
        cid = session.exec(select(Comment.id).where(Comment.issue_id == issue.id)).one()
    assert cid is not None
    reported = people.post(
        "carol", f"/halls/{people.hall_id}/comments/{cid}/report", {"reason": "语气不好"}
    )
    assert reported.status_code == 303
    return cid, url


def _open_reports(people: People, cid: int) -> int:
    with people.db.session(read_only=True) as session:
        rows = session.exec(
            select(CommentReport).where(
                CommentReport.comment_id == cid,
                CommentReport.resolved_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
    return len(rows)


def _hidden(people: People, cid: int) -> bool:
    with people.db.session(read_only=True) as session:
        row = session.get(Comment, cid)
        assert row is not None
        return row.hidden_at is not None


def _row(html: str, cid: int) -> str:
    """The queue's row of one comment."""
    match = re.search(rf'<li class="card" id="report-{cid}">.*?</li>', html, re.S)
    assert match, f"no row report-{cid} in {html[:500]}"
    return match.group(0)


def _forget_flash(people: People, who: str) -> None:
    people.clients[who].cookies.delete(flash.COOKIE)


def test_hide_from_the_queue_without_js_stays_in_the_queue(people: People) -> None:
    cid, issue_url = _reported(people, "不该隐藏前的评论")
    queue = f"/halls/{people.hall_id}/moderation"
    hide = f"/halls/{people.hall_id}/comments/{cid}/hide"
    # The queue's form says where it comes from.
    page = people.get("chair", queue)
    assert 'name="origin" value="queue"' in _row(page.text, cid)
    # No reason: the queue again (not the issue page), the message next to that row's field.
    missing = people.post("chair", hide, {"reason": "  ", "origin": "queue"})
    assert missing.status_code == 422
    assert "<h1>评论举报</h1>" in missing.text
    assert f'id="issue-{issue_url.rsplit("/", 1)[1]}-comments"' not in missing.text
    row = _row(missing.text, cid)
    assert f'aria-describedby="e-reason-{cid}"' in row
    assert re.search(rf'id="e-reason-{cid}" role="alert">[^<]+<', row)
    assert not _hidden(people, cid)
    # With the reason: PRG back to the queue, with the notice; the row has left it.
    _forget_flash(people, "chair")
    done = people.post("chair", hide, {"reason": "人身攻击", "origin": "queue"})
    assert done.status_code == 303
    assert done.headers["location"] == queue
    said = flash_of(done)
    assert said == {"text": "评论已隐藏", "kind": "ok"}
    landed = people.get("chair", queue)
    assert "评论已隐藏" in status_texts(landed.text)
    assert f'id="report-{cid}"' not in landed.text
    assert _hidden(people, cid)
    assert _open_reports(people, cid) == 0


def test_hide_and_dismiss_from_the_queue_with_htmx_swap_the_row(people: People) -> None:
    cid, _ = _reported(people, "用htmx处理的评论")
    hide = f"/halls/{people.hall_id}/comments/{cid}/hide"
    missing = people.post("chair", hide, {"reason": "", "origin": "queue"}, hx=True)
    assert missing.status_code == 422
    assert "<html" not in missing.text
    assert missing.text.strip().startswith(f'<li class="card" id="report-{cid}">')
    assert re.search(rf'id="e-reason-{cid}" role="alert">[^<]+<', missing.text)
    done = people.post("chair", hide, {"reason": "广告", "origin": "queue"}, hx=True)
    assert done.status_code == 200
    assert "<html" not in done.text
    assert done.text.strip().startswith(f'<li class="card" id="report-{cid}">')
    assert status_texts(done.text) == ["评论已隐藏"]
    assert _hidden(people, cid)
    # 驳回举报 on another reported comment: reports resolved, the comment stays visible.
    other, _ = _reported(people, "被误举报的评论")
    restore = f"/halls/{people.hall_id}/comments/{other}/restore"
    kept = people.post("chair", restore, {"origin": "queue"}, hx=True)
    assert kept.status_code == 200
    assert kept.text.strip().startswith(f'<li class="card" id="report-{other}">')
    assert status_texts(kept.text) == ["已驳回举报，评论继续显示"]
    assert _open_reports(people, other) == 0
    assert not _hidden(people, other)


def test_dismiss_from_the_queue_without_js_returns_to_the_queue(people: People) -> None:
    cid, _ = _reported(people, "再一条被误举报的评论")
    queue = f"/halls/{people.hall_id}/moderation"
    _forget_flash(people, "chair")
    done = people.post(
        "chair", f"/halls/{people.hall_id}/comments/{cid}/restore", {"origin": "queue"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == queue
    assert flash_of(done) == {"text": "已驳回举报，评论继续显示", "kind": "ok"}
    assert "已驳回举报，评论继续显示" in status_texts(people.get("chair", queue).text)


def test_from_the_issue_page_moderation_answers_on_the_issue_page(people: People) -> None:
    cid, issue_url = _reported(people, "在议题页处理的评论")
    issue_id = issue_url.rsplit("/", 1)[1]
    hide = f"/halls/{people.hall_id}/comments/{cid}/hide"
    missing = people.post("chair", hide, {"reason": ""})
    assert missing.status_code == 422
    assert f'id="issue-{issue_id}-comments"' in missing.text
    # An origin the server does not know (a path, another site) is the issue page's answer:
    # the client never names where it is sent.
    for origin in ("", "/halls/1/moderation", "https://evil.example/", "QUEUE"):
        one, its_url = _reported(people, "来源" + origin)
        _forget_flash(people, "chair")
        response = people.post(
            "chair",
            f"/halls/{people.hall_id}/comments/{one}/hide",
            {"reason": "人身攻击", "origin": origin},
        )
        assert response.status_code == 303, origin
        assert response.headers["location"].startswith(its_url + "#"), origin
        assert flash_of(response) == {"text": "评论已隐藏", "kind": "ok"}
    assert people.post("chair", hide, {"reason": "人身攻击"}).status_code == 303
    restored = people.post("chair", f"/halls/{people.hall_id}/comments/{cid}/restore")
    assert restored.status_code == 303
    assert restored.headers["location"].startswith(issue_url)
    assert flash_of(restored) == {"text": "评论已恢复显示", "kind": "ok"}


# --- the stance ---------------------------------------------------------------------------------


def _stances(people: People, issue_id: int) -> dict[str, int]:
    with people.db.session(read_only=True) as session:
        row = session.get(Issue, issue_id)
        assert row is not None
        return {
            "support": row.support_count,
            "oppose": row.oppose_count,
            "neutral": row.neutral_count,
        }


def test_a_comment_without_a_stance_is_said_to_count_as_neutral(people: People) -> None:
    issue = h.deliberating(people.db, people.world, people.chair, title="不选态度的议题")
    url = f"/halls/{people.hall_id}/issues/{issue.id}"
    page = people.get("alice", url)
    form = re.search(r'<form class="comment-form".*?</form>', page.text, re.S)
    assert form
    # The form says it beforehand, and no stance is chosen for the resident.
    assert "不选态度即算作中立" in form.group(0)
    assert f'aria-describedby="stance-hint-{issue.id}"' in form.group(0)
    assert not re.search(r'name="stance"[^>]*checked', form.group(0))
    # Without JS: the notice names the stance it counted under.
    _forget_flash(people, "alice")
    plain = people.post("alice", url + "/comments", {"body": "我没选态度"})
    assert plain.status_code == 303
    assert flash_of(plain) == {"text": "评论已发布，态度：中立", "kind": "ok"}
    assert _stances(people, issue.id or 0)["neutral"] == 1
    # With htmx: in place; a chosen stance is named too.
    hx = people.post("bob", url + "/comments", {"body": "我反对", "stance": "oppose"}, hx=True)
    assert hx.status_code == 200
    assert "评论已发布，态度：反对" in status_texts(hx.text)
    hx = people.post("carol", url + "/comments", {"body": "也没选"}, hx=True)
    assert "评论已发布，态度：中立" in status_texts(hx.text)
    assert _stances(people, issue.id or 0) == {"support": 0, "oppose": 1, "neutral": 2}


def test_the_api_treats_a_missing_stance_as_the_page_does(people: People) -> None:
    issue = h.deliberating(people.db, people.world, people.chair, title="API不选态度")
    client = people.clients["alice"]
    token = client.get("/api/v1/me").json()["csrf_token"]
    api = f"/api/v1/halls/{people.hall_id}/issues/{issue.id}/comments"
    made: Any = client.post(api, headers={"X-CSRF-Token": token}, json={"body": "API 评论"})
    assert made.status_code == 201, made.text
    assert made.json()["stance"] == "neutral"
    bad = client.post(api, headers={"X-CSRF-Token": token}, json={"body": "x", "stance": "maybe"})
    assert bad.status_code == 422
    assert _stances(people, issue.id or 0)["neutral"] == 1


def test_a_row_dealt_with_by_someone_else_says_so_in_the_queue(people: People) -> None:
    """Two chairs with the queue open: one dismisses the reports; the other's hide (with no
    reason) finds the row gone, and the row says it was dealt with, not "None" (#14)."""
    cid, _ = _reported(people, "两人同时处理")
    queue_url = f"/halls/{people.hall_id}/comments/{cid}"
    dismissed = people.post("chair", queue_url + "/restore", {"origin": "queue"}, hx=True)
    assert dismissed.status_code == 200
    late = people.post("chair", queue_url + "/hide", {"origin": "queue", "reason": ""}, hx=True)
    assert late.status_code == 422
    assert f'id="report-{cid}"' in late.text
    assert "这条举报已由其他人处理，已不在队列中" in late.text
    assert "None" not in late.text
