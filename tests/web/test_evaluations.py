"""民评 over HTTP, on SQLite and PostgreSQL: the page and the answer form, the chair's open and
close, the paper desk, the printed form and the 结果公示 PDF (read back with pypdf), the API,
the issue page's card, and a fixed number of statements for 1 and 30 answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select

from app.accounts.models import User
from app.db import Database
from app.evaluations import service
from app.evaluations.models import EvaluationRound
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from tests import evaluation_helpers as eh
from tests import factories as f
from tests import print_helpers as ph
from tests.conftest import Client
from tests.implementation_helpers import frozen, implementing_issue
from tests.web.test_hall_pages import count_statements

HX = {"HX-Request": "true"}


@dataclass
class Scene:
    world: f.HallWorld
    chair: User
    resident: User
    issue: Issue
    round: EvaluationRound | None

    @property
    def url(self) -> str:
        return f"/halls/{self.world.hall.id}/issues/{self.issue.id}/evaluation"


def scene(db: Database, *, opened: bool = True) -> Scene:
    world = f.make_hall(db, buildings=1, entrances=2, rooms=3)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair, name="周评价")
    issue = implementing_issue(db, world, chair)
    eh.add_task(db, world, issue, chair)
    row = eh.open_round(db, world, chair, issue) if opened else None
    return Scene(world, chair, resident, issue, row)


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def test_a_resident_answers_on_the_phone(db: Database, make_client: Callable[[], Client]) -> None:
    s = scene(db)
    c = login(make_client, s.resident)
    page = c.get(s.url)
    assert page.status_code == 200
    assert "请您评价" in page.text
    missing = c.post_form(s.url + "/answer", {"resolved": "yes"}, token_from=s.url)
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert "请选择满意、基本满意或不满意" in missing.text  # type: ignore[attr-defined]
    done = c.post_form(
        s.url + "/answer",
        {"satisfaction": "basic", "resolved": "yes", "comment": "灯亮了"},
        token_from=s.url,
        follow_redirects=False,
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    after = c.get(s.url).text
    assert 'data-mine="basic"' in after
    assert "修改我的评价" in after
    assert "已有 1 人评价" in after  # the running counts are hidden from residents
    assert 'data-figure="valid"' not in after
    again = c.post(
        s.url + "/answer",
        data={"csrf_token": c.csrf(s.url), "satisfaction": "dissatisfied", "resolved": "no"},
        headers=HX,
    )
    assert again.status_code == 409
    assert "您已经评价过本轮民评" in again.text
    changed = c.post_form(
        s.url + "/answer/change",
        {"satisfaction": "dissatisfied", "resolved": "no"},
        token_from=s.url,
        follow_redirects=False,
    )
    assert changed.status_code == 303  # type: ignore[attr-defined]
    row = eh.round_of(db, s.round.id or 0) if s.round else None
    assert row is not None
    assert (row.answers, row.basic, row.dissatisfied) == (1, 0, 1)
    chair_view = login(make_client, s.chair).get(s.url).text
    assert 'data-figure="dissatisfied">1<' in chair_view  # the chair sees the counts
    assert "灯亮了" not in chair_view  # the comment was changed to none


def test_the_chair_opens_and_closes(db: Database, make_client: Callable[[], Client]) -> None:
    s = scene(db, opened=False)
    c = login(make_client, s.chair)
    issue_page = c.get(f"/halls/{s.world.hall.id}/issues/{s.issue.id}").text
    assert "民评 · 办理结果评价" in issue_page  # the card offers to open it
    eh.add_task(db, s.world, s.issue, s.chair, done=False)
    refused = c.post_form(s.url + "/open", token_from=s.url, follow_redirects=False)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert 'id="e-manage" role="alert">还有未完成的办理任务<' in refused.text  # type: ignore[attr-defined]
    eh.finish_tasks(db, s.issue)
    opened = c.post_form(s.url + "/open", token_from=s.url, follow_redirects=False)
    assert opened.status_code == 303  # type: ignore[attr-defined]
    with db.session(read_only=True) as r:
        issue = r.get(Issue, s.issue.id)
        assert issue is not None
        assert issue.stage == Stage.EVALUATING
        row = r.exec(select(EvaluationRound).where(EvaluationRound.issue_id == s.issue.id)).one()
    eh.answer_many(db, s.world, s.issue, ["satisfied", "basic", "dissatisfied"])
    early = c.post(s.url + "/close", data={"csrf_token": c.csrf(s.url)}, headers=HX)
    assert early.status_code == 409
    assert "评价期还没有结束" in early.text
    with frozen(row.ends_at + timedelta(seconds=1)):  # a new sign-in: the old one has expired
        later = login(make_client, s.chair)
        closed = later.post_form(s.url + "/close", token_from=s.url, follow_redirects=False)
        assert closed.status_code == 303  # type: ignore[attr-defined]
    page = login(make_client, s.resident).get(s.url).text
    assert 'data-outcome="closed"' in page
    assert 'data-figure="valid">3<' in page
    assert "19/30 = 0.6333" in page  # (1 + 9/10 × 1) / 3
    assert "1/3 = 0.3333" in page
    assert 'data-check="dissatisfied_heads"' in page
    assert "差 1 人" in page  # 2 不满意 would have reopened it
    card = c.get(f"/halls/{s.world.hall.id}/issues/{s.issue.id}").text
    assert "已办结" in card


def test_paper_entry_by_the_recorder(db: Database, make_client: Callable[[], Client]) -> None:
    s = scene(db)
    paper_url = s.url + "/paper"
    _, membership = eh.quick_member(db, s.world, household_index=2, name="吴纸质")
    assert login(make_client, s.resident).get(paper_url).status_code == 404
    c = login(make_client, s.chair)
    found = c.get(paper_url, params={"q": "吴纸"})
    assert found.status_code == 200
    assert "吴纸质" in found.text
    assert "周评价" not in found.text
    nobody = c.post_form(paper_url, {"satisfaction": "satisfied"}, token_from=paper_url)
    assert nobody.status_code == 422  # type: ignore[attr-defined]
    assert "请选择要录入的居民" in nobody.text  # type: ignore[attr-defined]
    entered = c.post_form(
        paper_url,
        {"membership_id": str(membership.id), "satisfaction": "", "resolved": "yes"},
        token_from=paper_url,
        follow_redirects=False,
    )
    assert entered.status_code == 303  # type: ignore[attr-defined]
    assert s.round is not None
    row = eh.round_of(db, s.round.id or 0)
    assert (row.answers, row.valid) == (1, 0)
    assert "（已评价）" in c.get(paper_url, params={"q": "吴纸"}).text
    form = c.get(s.url + "/form")
    assert form.status_code == 200
    assert "办理结果评价表" in form.text
    text = "".join(ph.page_texts(c.get(s.url + "/form.pdf").content))
    assert "基本满意" in text
    assert "吴纸质" not in text


def test_the_result_pdf(db: Database, make_client: Callable[[], Client]) -> None:
    s = scene(db)
    assert s.round is not None
    c = login(make_client, s.resident)
    assert c.get(s.url + "/result").status_code == 404  # nothing closed yet
    eh.answer(db, s.world, s.resident, s.issue, "dissatisfied", resolved="no", comment="还是很暗")
    eh.answer_many(db, s.world, s.issue, ["satisfied", "basic", "basic", "dissatisfied"])
    with frozen(s.round.ends_at), db.session() as w:
        assert service.close_due_rounds(session=w, now=s.round.ends_at)
        w.commit()
    response = c.get(s.url + "/result.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = "".join(ph.page_texts(response.content)).replace(" ", "").replace("\n", "")
    assert s.issue.title.replace(" ", "") in text
    for needed in ("办理结果评价的公示", "有效评价", "14/25=0.5600", "2/5=0.4000", "盖章处"):
        assert needed in text, needed
    assert "满意度未达标，重新办理" in text
    assert "更换楼道灯" in text  # the task done
    assert "还是很暗" not in text  # no comments
    assert "周评价" not in text  # no names


def test_the_api(db: Database, make_client: Callable[[], Client]) -> None:
    s = scene(db, opened=False)
    base = f"/api/v1/halls/{s.world.hall.id}/issues/{s.issue.id}/evaluations"
    resident = login(make_client, s.resident)
    resident.headers["X-CSRF-Token"] = resident.get("/api/v1/me").json()["csrf_token"]
    assert resident.post(base + "/rounds").status_code == 404
    chair = login(make_client, s.chair)
    chair.headers["X-CSRF-Token"] = chair.get("/api/v1/me").json()["csrf_token"]
    opened = chair.post(base + "/rounds")
    assert opened.status_code == 201, opened.text
    assert opened.json()["rounds"][0]["number"] == 1
    bad = resident.post(base, json={"satisfaction": "great", "resolved": "yes"})
    assert bad.status_code == 422
    answered = resident.post(base, json={"satisfaction": "satisfied", "resolved": "yes"})
    assert answered.status_code == 201, answered.text
    body = answered.json()
    assert body["my_answer"]["satisfaction"] == "satisfied"
    assert body["rounds"][0]["summary"] is None  # hidden from residents while open
    assert body["rounds"][0]["answers"] == 1
    assert (
        resident.post(base, json={"satisfaction": "satisfied", "resolved": "yes"}).status_code
        == 409
    )
    summary = chair.get(base).json()["rounds"][0]["summary"]
    assert summary["valid"] == 1
    assert summary["satisfaction_rate"] == {"numerator": 1, "denominator": 1, "value": "1.0000"}
    assert summary["dissatisfied_share"] == {"numerator": 0, "denominator": 1, "value": "0.0000"}
    assert summary["reopen"] is False
    assert summary["check"]["id"] == "dissatisfied_heads"
    for key in ("basically_satisfied", "dissatisfied", "resolved_yes", "resolved_no", "satisfied"):
        assert key in summary


def test_the_page_reads_the_same_statements_for_1_and_30_answers(
    db: Database, make_client: Callable[[], Client]
) -> None:
    counts = []
    for size in (1, 30):
        s = scene(db)
        eh.answer_many(db, s.world, s.issue, (["satisfied", "dissatisfied", "basic"] * 10)[:size])
        for who in (s.chair, s.resident):
            c = login(make_client, who)
            assert c.get(s.url).status_code == 200  # warm-up
            with count_statements(db) as statements:
                page = c.get(s.url)
            assert page.status_code == 200
            counts.append(len(statements))
    assert counts[:2] == counts[2:], counts
