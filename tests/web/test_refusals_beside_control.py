"""A refused action says why under the button that was pressed (issue #14, "Every action
answers"), on SQLite and PostgreSQL.

协商一致, 表决后处理, 开始投票, 截止投票, 结束协商, 取消会议, 改期, 开启民评, 结束民评,
开始会议 and 结束会议 have no field a state conflict belongs to: the ballot was already decided, settled,
opened or closed, 民议 already closed, the meeting already cancelled, a task still open, the
evaluation window not over, the meeting days away. Each
is provoked for real (the same action done once before through the service, or the state that
refuses it) and sent as the chair: with htmx (``HX-Request``) and as a plain form. Both answer
409 with the form that was sent, the reason in the alert under its submit button (which names
the alert in ``aria-describedby``), and what was typed still in the fields; no floating notice,
the page says it in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlmodel import select

from app.core import clock
from app.db import Database
from app.issues import service as issue_service
from app.voting import schemas as vote_schemas
from app.voting import service as vote_service
from app.voting.models import Resolution
from app.web.messages import message
from tests import escalation_helpers as esc
from tests import evaluation_helpers as eh
from tests import factories as f
from tests import meeting_helpers as mh
from tests.conftest import Client
from tests.implementation_helpers import implementing_issue
from tests.web import issue_helpers as ih
from tests.web import voting_helpers as vh


@dataclass
class Form:
    """One <form> of a page: its alerts (id → text), the submit button's aria-describedby,
    and the values its controls carry (textarea text, typed inputs, checked radios)."""

    action: str
    alerts: dict[str, str] = field(default_factory=dict)
    described_by: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    VOID = frozenset({"input", "br", "img", "hr", "meta", "link", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.alert: tuple[str, list[str]] | None = None
        self.textarea: tuple[str, list[str]] | None = None
        self.select = ""  # the name of the <select> being read (its selected option: its value)
        self.floating: list[str] = []  # the out-of-band notices (class flash-float)
        self.float_open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "flash-float" in a.get("class", "").split():
            self.float_open = True
            self.floating.append("")
        if tag == "form":
            self.form = Form(action=a.get("action", ""))
            self.forms.append(self.form)
            return
        if self.form is None:
            return
        if a.get("role") == "alert":
            self.alert = (a.get("id", ""), [])
        if tag == "button" and a.get("type", "submit") == "submit":
            self.form.described_by += a.get("aria-describedby", "").split()
        if tag == "textarea":
            self.textarea = (a.get("name", ""), [])
        if tag == "select":
            self.select = a.get("name", "")
        if tag == "option" and self.select and "selected" in a:
            self.form.values[self.select] = a.get("value", "")
        if tag == "input" and a.get("name") and a.get("type") != "hidden":
            if a.get("type") in {"radio", "checkbox"}:
                if "checked" in a:
                    self.form.values[a["name"]] = a.get("value", "")
            else:
                self.form.values[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.float_open = False
        if self.form is None:
            return
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = ""
        elif tag == "p" and self.alert is not None:
            key, text = self.alert
            self.form.alerts[key] = "".join(text).strip()
            self.alert = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            self.form.values[name] = "".join(text)
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.float_open:
            self.floating[-1] += data
        if self.alert is not None:
            self.alert[1].append(data)
        if self.textarea is not None:
            self.textarea[1].append(data)


def forms_of(html: str) -> tuple[list[Form], list[str]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms, parser.floating


def said_beside(response: Any, action: str, reason: str, typed: dict[str, str]) -> None:
    """The form posted to `action` is on the page, with `reason` in the alert its submit
    button names, and the values typed; no other form and no floating notice says it."""
    forms, floating = forms_of(response.text)
    mine = [form for form in forms if form.action == action]
    assert len(mine) == 1, [form.action for form in forms]
    form = mine[0]
    slot = [form.alerts[key] for key in form.described_by if key in form.alerts]
    assert slot == [reason], (form.alerts, form.described_by)
    for name, value in typed.items():
        assert form.values.get(name) == value, (name, form.values)
    others = [
        form.action for form in forms if form.action != action and reason in form.alerts.values()
    ]
    assert others == [], others
    assert reason not in floating


def said_once(response: Any, action: str, reason: str, typed: dict[str, str]) -> None:
    """A 409 that says `reason` under the pressed button of the form posted to `action`
    (said_beside), once on the page, and not in a floating notice."""
    assert response.status_code == 409, response.text[:500]
    said_beside(response, action, reason, typed)
    assert response.text.count(reason) == 1  # not at the top of the page as well
    assert 'hx-swap-oob="innerHTML:#flash"' not in response.text  # no floating notice


@dataclass
class Case:
    """A chair, an action already done once (`prepare` returns its url), what is sent again."""

    name: str
    prepare: Callable[[Database, f.HallWorld, Any], str]
    body: dict[str, Any]
    typed: dict[str, str]
    reason: str


def _consensus(db: Database, world: f.HallWorld, chair: Any) -> str:
    issue, _ = f.make_deciding_issue(db, world, chair)
    ballot = ih.publicize(db, world, chair, issue.id or 0)  # 协商一致 recorded: now in 公示
    return f"/halls/{world.hall.id}/ballots/{ballot.id}/consensus"


def _settle(db: Database, world: f.HallWorld, chair: Any) -> str:
    f.make_member(db, world, chair=chair)  # the roll: one resident, who does not vote
    issue, _ = f.make_deciding_issue(db, world, chair)
    ballot = ih.ballot(db, world, chair, issue.id or 0)
    ih.close_ballot(db, world, chair, ballot.id or 0)  # nobody voted: not passed
    with db.session() as session:
        vote_service.settle_failed(
            session=session,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
            form=vote_schemas.FailedOutcomeForm(outcome="not_passed"),
        )
    return f"/halls/{world.hall.id}/ballots/{ballot.id}/settle"


def _open_ballot(db: Database, world: f.HallWorld, chair: Any) -> str:
    f.make_member(db, world, chair=chair)
    issue, _ = f.make_deciding_issue(db, world, chair)
    ballot = ih.ballot(db, world, chair, issue.id or 0)  # opened already
    return f"/halls/{world.hall.id}/ballots/{ballot.id}/open"


def _close_ballot(db: Database, world: f.HallWorld, chair: Any) -> str:
    f.make_member(db, world, chair=chair)
    issue, _ = f.make_deciding_issue(db, world, chair)
    ballot = ih.ballot(db, world, chair, issue.id or 0)
    ih.close_ballot(db, world, chair, ballot.id or 0)  # closed already
    return f"/halls/{world.hall.id}/ballots/{ballot.id}/close"


def _close(db: Database, world: f.HallWorld, chair: Any) -> str:
    issue = f.make_deliberating_issue(db, world, chair)
    solution = ih.solution(db, world, chair, issue.id or 0)
    ih.close_deliberation(db, world, chair, issue.id or 0, solution.id or 0)  # now in 民决
    return f"/halls/{world.hall.id}/issues/{issue.id}/close"


def _cancel(db: Database, world: f.HallWorld, chair: Any) -> str:
    meeting = mh.cancel(db, world, chair, mh.schedule(db, world, chair))
    return f"/halls/{world.hall.id}/meetings/{meeting.id}/cancel"


def _open_round(db: Database, world: f.HallWorld, chair: Any) -> str:
    issue = implementing_issue(db, world, chair)
    eh.add_task(db, world, issue, chair, done=False)  # a task still being done
    return f"/halls/{world.hall.id}/issues/{issue.id}/evaluation/open"


def _close_round(db: Database, world: f.HallWorld, chair: Any) -> str:
    issue = implementing_issue(db, world, chair)
    eh.add_task(db, world, issue, chair)
    eh.open_round(db, world, chair, issue)  # its window runs for days yet
    return f"/halls/{world.hall.id}/issues/{issue.id}/evaluation/close"


def _reschedule(db: Database, world: f.HallWorld, chair: Any) -> str:
    meeting = mh.cancel(db, world, chair, mh.schedule(db, world, chair))
    return f"/halls/{world.hall.id}/meetings/{meeting.id}/reschedule"


def _start(db: Database, world: f.HallWorld, chair: Any) -> str:
    meeting = mh.schedule(db, world, chair)  # in four days: too early to start
    return f"/halls/{world.hall.id}/meetings/{meeting.id}/live/start"


def _end(db: Database, world: f.HallWorld, chair: Any) -> str:
    meeting = mh.cancel(db, world, chair, mh.schedule(db, world, chair))
    return f"/halls/{world.hall.id}/meetings/{meeting.id}/live/end"


CASES = [
    Case(
        "协商一致",
        _consensus,
        {"passed": "yes", "text": "同意加装电梯，费用按楼层分摊"},
        {"text": "同意加装电梯，费用按楼层分摊", "passed": "yes"},
        message("ballot_published"),
    ),
    Case(
        "表决后处理",
        _settle,
        {"outcome": "deliberate"},
        {"outcome": "deliberate"},
        message("ballot_published"),
    ),
    Case(
        "结束协商",
        _close,
        {"agreements": "同意加装", "disagreements": "费用分摊已解释"},
        {"agreements": "同意加装", "disagreements": "费用分摊已解释"},
        message("stage_action_not_allowed"),
    ),
    Case(
        "取消会议",
        _cancel,
        {"reason": "场地改作防汛物资仓库"},
        {"reason": "场地改作防汛物资仓库"},
        message("meeting_cancelled"),
    ),
    Case("开始投票", _open_ballot, {}, {}, message("ballot_open")),
    Case("截止投票", _close_ballot, {}, {}, message("ballot_closed")),
    Case(
        "改期",
        _reschedule,
        {"place": "3号楼活动室", "reason": "议事厅维修"},
        {"place": "3号楼活动室", "reason": "议事厅维修"},
        message("meeting_cancelled"),
    ),
    Case("开启民评", _open_round, {}, {}, message("tasks_open")),
    Case("结束民评", _close_round, {}, {}, message("evaluation_window_open")),
    Case("开始会议", _start, {}, {}, message("meeting_not_open_yet")),
    Case("结束会议", _end, {}, {}, message("meeting_cancelled")),
]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("case", CASES, ids=[c.prepare.__name__.strip("_") for c in CASES])
def test_a_refusal_is_said_under_the_button_pressed(
    db: Database, make_client: Any, case: Case, htmx: bool
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    action = case.prepare(db, world, chair)
    client: Client = make_client()
    client.login(chair.phone or "", f.PASSWORD)
    headers = {"X-CSRF-Token": client.csrf("/"), **({"HX-Request": "true"} if htmx else {})}
    response = client.post(action, data=case.body, headers=headers, follow_redirects=False)
    assert response.status_code == 409, response.text[:500]
    assert case.reason.strip()
    said_beside(response, action, case.reason, case.typed)


# --- the issue page's stage panel ------------------------------------------------------------
#
# 附议, 撤回附议, 撤回议题, 受理, 不予受理 and 合并 are refused when the issue moved on meanwhile
# (another chair reviewed it) or the resident already did it (in another tab). The panel comes
# back with the pressed form (even where the button would no longer be offered), the reason
# under its button, not at the top of the panel; without JS the whole page, 409.


@dataclass
class StageCase:
    """Who presses, on which issue (`prepare` returns the url and that person), what is sent."""

    name: str
    prepare: Callable[[Database, f.HallWorld, Any], tuple[str, Any]]
    body: dict[str, Any]
    typed: dict[str, str]
    reason: str


def _collecting(db: Database, world: f.HallWorld, chair: Any) -> tuple[Any, Any]:
    f.set_hall_rules(db, world, cosign_threshold=10)
    proposer, _ = f.make_member(db, world, chair=chair, household_index=0)
    neighbour, _ = f.make_member(db, world, chair=chair, household_index=1, name="邻居")
    return f.make_issue(db, world, proposer), (proposer, neighbour)


def _cosign(db: Database, world: f.HallWorld, chair: Any) -> tuple[str, Any]:
    issue, (_, neighbour) = _collecting(db, world, chair)
    ih.cosign(db, world, neighbour, issue.id or 0)  # in another tab, a moment ago
    return f"/halls/{world.hall.id}/issues/{issue.id}/cosign", neighbour


def _withdraw_cosign(db: Database, world: f.HallWorld, chair: Any) -> tuple[str, Any]:
    issue, (_, neighbour) = _collecting(db, world, chair)  # never co-signed
    return f"/halls/{world.hall.id}/issues/{issue.id}/cosign/withdraw", neighbour


def _withdraw(db: Database, world: f.HallWorld, chair: Any) -> tuple[str, Any]:
    issue, (proposer, _) = _collecting(db, world, chair)
    with db.session() as session:  # withdrawn already, in another tab
        issue_service.withdraw_issue(
            session=session,
            access=f.member_access(db, world, proposer),
            actor=proposer,
            issue_id=issue.id or 0,
        )
    return f"/halls/{world.hall.id}/issues/{issue.id}/withdraw", proposer


def _reviewed(db: Database, world: f.HallWorld, chair: Any, action: str) -> tuple[str, Any]:
    issue = ih.enter(db, world, chair, title="三号楼门禁坏了")
    ih.accept(db, world, chair, issue.id or 0)  # another chair accepted it meanwhile
    return f"/halls/{world.hall.id}/issues/{issue.id}/{action}", chair


def _merge_target(db: Database, world: f.HallWorld, chair: Any) -> int:
    return ih.deliberating(db, world, chair, title="三号楼门禁维修").id or 0


def _accept(db: Database, world: f.HallWorld, chair: Any) -> tuple[str, Any]:
    return _reviewed(db, world, chair, "accept")


def _reject(db: Database, world: f.HallWorld, chair: Any) -> tuple[str, Any]:
    return _reviewed(db, world, chair, "reject")


STAGE_CASES = [
    StageCase("附议", _cosign, {}, {}, message("already_cosigned")),
    StageCase("撤回附议", _withdraw_cosign, {}, {}, message("not_cosigned")),
    StageCase("撤回议题", _withdraw, {}, {}, message("stage_action_not_allowed")),
    StageCase(
        "受理",
        _accept,
        {"deliberation_days": "14"},
        {"deliberation_days": "14"},
        message("stage_transition_not_allowed"),
    ),
    StageCase(
        "不予受理",
        _reject,
        {"reason": "已由物业报修"},
        {"reason": "已由物业报修"},
        message("stage_action_not_allowed"),
    ),
]


def _post(make_client: Any, user: Any, action: str, body: dict[str, Any], htmx: bool) -> Any:
    client: Client = make_client()
    client.login(user.phone or "", f.PASSWORD)
    headers = {"X-CSRF-Token": client.csrf("/"), **({"HX-Request": "true"} if htmx else {})}
    return client.post(action, data=body, headers=headers, follow_redirects=False)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize(
    "case", STAGE_CASES, ids=[c.prepare.__name__.strip("_") for c in STAGE_CASES]
)
def test_a_stage_refusal_is_said_under_the_button_pressed(
    db: Database, make_client: Any, case: StageCase, htmx: bool
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    action, user = case.prepare(db, world, chair)
    response = _post(make_client, user, action, case.body, htmx)
    assert response.status_code == 409, response.text[:500]
    said_beside(response, action, case.reason, case.typed)
    assert response.text.count(case.reason) == 1  # not at the top of the panel as well


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_refused_merge_keeps_the_issue_chosen(db: Database, make_client: Any, htmx: bool) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    target = _merge_target(db, world, chair)
    action, user = _reviewed(db, world, chair, "merge")
    response = _post(make_client, user, action, {"target_id": str(target)}, htmx)
    assert response.status_code == 409, response.text[:500]
    reason = message("stage_action_not_allowed")
    said_beside(response, action, reason, {"target_id": str(target)})
    assert response.text.count(reason) == 1


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_field_error_on_the_stage_panel_is_still_422(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The other side: a bad value is said next to its field (422), not as a refusal."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    issue = ih.enter(db, world, chair)
    action = f"/halls/{world.hall.id}/issues/{issue.id}/accept"
    response = _post(make_client, chair, action, {"deliberation_days": "999"}, htmx)
    assert response.status_code == 422, response.text[:500]
    forms, _ = forms_of(response.text)
    (mine,) = [form for form in forms if form.action == action]
    assert mine.described_by == []
    assert mine.values["deliberation_days"] == "999"


# --- 吹哨报到 -----------------------------------------------------------------------------------
#
# 吹哨 on an issue not being implemented, 派单 once dispatched already (by another official),
# 报到 twice, 答复 / 协办 / 办结 before 报到: each page comes back with the form pressed (even
# where its button would no longer be offered), the reason under its button, what was typed.


def _raised(db: Database) -> tuple[esc.Story, Any]:
    story = esc.story(db)
    return story, esc.raise_on(db, story.world, story.chair, story.issue)


def _dispatched(db: Database) -> tuple[esc.Story, Any]:
    story, escalation = _raised(db)
    esc.dispatch(db, story.world, story.admin, escalation, story.lead)
    return story, escalation


def _on_department(story: esc.Story, escalation: Any, action: str) -> str:
    return f"/departments/{story.lead.id}/escalations/{escalation.id}/{action}"


def _raise(db: Database) -> tuple[str, Any, dict[str, Any]]:
    story = esc.story(db)
    issue = f.make_deliberating_issue(db, story.world, story.chair)  # in 民议: nothing to 吹哨 yet
    url = f"/halls/{story.world.hall.id}/issues/{issue.id}/escalations"
    body = {"category": "demand", "urgency": "general", "summary": "北门路面塌陷"}
    return url, story.chair, body


def _dispatch(db: Database) -> tuple[str, Any, dict[str, Any]]:
    story, escalation = _dispatched(db)  # another official dispatched it a moment ago
    url = f"/streets/{story.world.street.id}/escalations/{escalation.id}/dispatch"
    return url, story.admin, {"department_id": str(story.helper.id)}


def _acknowledge(db: Database) -> tuple[str, Any, dict[str, Any]]:
    story, escalation = _dispatched(db)
    esc.acknowledge(db, story.lead_user, story.lead, escalation)  # a colleague did, just now
    return _on_department(story, escalation, "acknowledge"), story.lead_user, {}


def _reply(db: Database) -> tuple[str, Any, dict[str, Any]]:
    story, escalation = _dispatched(db)  # not yet 报到
    url = _on_department(story, escalation, "replies")
    return url, story.lead_user, {"text": "已派人勘察路面"}


def _ask_help(db: Database) -> tuple[str, Any, dict[str, Any]]:
    story, escalation = _dispatched(db)
    url = _on_department(story, escalation, "helpers")
    return url, story.lead_user, {"department_id": str(story.helper.id), "text": "需要市政所配合"}


def _resolve(db: Database) -> tuple[str, Any, dict[str, Any]]:
    story, escalation = _dispatched(db)
    return _on_department(story, escalation, "resolve"), story.lead_user, {"text": "路面已修复"}


ESCALATION_CASES = [
    (_raise, {"summary": "北门路面塌陷"}, "stage_action_not_allowed"),
    (_dispatch, {"department_id": "helper"}, "escalation_already_dispatched"),
    (_acknowledge, {}, "escalation_acknowledged"),
    (_reply, {"text": "已派人勘察路面"}, "escalation_not_acknowledged"),
    (_ask_help, {"text": "需要市政所配合"}, "escalation_not_acknowledged"),
    (_resolve, {"text": "路面已修复"}, "escalation_not_acknowledged"),
]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize(
    ("prepare", "typed", "code"),
    ESCALATION_CASES,
    ids=[p.__name__.strip("_") for p, _, _ in ESCALATION_CASES],
)
def test_an_escalation_refusal_is_said_under_the_button_pressed(
    db: Database,
    make_client: Any,
    prepare: Callable[[Database], tuple[str, Any, dict[str, Any]]],
    typed: dict[str, str],
    code: str,
    htmx: bool,
) -> None:
    action, user, body = prepare(db)
    if typed.get("department_id") == "helper":  # the department chosen comes back selected
        typed = {"department_id": body["department_id"]}
    response = _post(make_client, user, action, body, htmx)
    assert response.status_code == 409, response.text[:500]
    reason = message(code)
    said_beside(response, action, reason, typed)
    assert response.text.count(reason) == 1


# --- 民办: 发布进展 on the task page -----------------------------------------------------------


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_refused_progress_report_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The page was open while 民评 began: the 进展 typed comes back with the reason (409)."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    issue = implementing_issue(db, world, chair)
    task = eh.add_task(db, world, issue, chair)
    eh.open_round(db, world, chair, issue)  # 评价中 now: no more 进展
    action = f"/halls/{world.hall.id}/issues/{issue.id}/tasks/{task.id}/updates"
    body = {"text": "灯已全部换好", "progress": "100", "status": "done"}
    response = _post(make_client, chair, action, body, htmx)
    assert response.status_code == 409, response.text[:500]
    reason = message("stage_action_not_allowed")
    said_beside(
        response, action, reason, {"text": "灯已全部换好", "progress": "100", "status": "done"}
    )
    assert response.text.count(reason) == 1


# --- 公示: 结束公示, 异议, 答复 ----------------------------------------------------------------


def _in_publicity(db: Database, world: f.HallWorld, chair: Any) -> Any:
    issue, _ = f.make_deciding_issue(db, world, chair)
    ih.publicize(db, world, chair, issue.id or 0)  # 公示 for 7 days from now
    return issue


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_ending_publicity_too_early_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    issue = _in_publicity(db, world, chair)
    action = f"/halls/{world.hall.id}/issues/{issue.id}/publicity/end"
    response = _post(make_client, chair, action, {}, htmx)
    assert response.status_code == 409, response.text[:500]
    reason = message("publicity_not_over")
    said_beside(response, action, reason, {})
    assert response.text.count(reason) == 1


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_an_objection_after_the_period_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The page was open as the 公示 ran out: the 异议 typed comes back with the reason."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair)
    issue = _in_publicity(db, world, chair)
    with db.session() as session:  # the period ran out a minute ago
        resolution = session.exec(select(Resolution).where(Resolution.issue_id == issue.id)).one()
        resolution.publicity_ends_at = clock.now() - timedelta(minutes=1)
        session.add(resolution)
        session.commit()
    action = f"/halls/{world.hall.id}/issues/{issue.id}/objections"
    response = _post(make_client, resident, action, {"body": "费用分摊不公平"}, htmx)
    assert response.status_code == 409, response.text[:500]
    reason = message("publicity_over")
    said_beside(response, action, reason, {"body": "费用分摊不公平"})
    assert response.text.count(reason) == 1


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_an_answer_given_twice_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """Another chair answered the 异议 meanwhile: the answer typed comes back in its form."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair)
    issue = _in_publicity(db, world, chair)
    objection_id = ih.objection(db, world, resident, issue.id or 0)
    with db.session() as session:
        vote_service.answer_objection(
            session=session,
            access=f.chair_access(db, world, chair),
            actor=chair,
            objection_id=objection_id,
            form=vote_schemas.AnswerForm(answer="分摊按楼层，已在会上说明", upheld=False),
        )
    action = f"/halls/{world.hall.id}/objections/{objection_id}/answer"
    body = {"answer": "按户均分摊", "upheld": "on"}
    response = _post(make_client, chair, action, body, htmx)
    assert response.status_code == 409, response.text[:500]
    reason = message("objection_answered")
    said_beside(response, action, reason, {"answer": "按户均分摊", "upheld": "on"})
    assert response.text.count(reason) == 1


# --- 会议纪要: 签署 ---------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_signing_minutes_too_early_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """A 主持人 who signs before the meeting (a stale page): the reason under their line's
    button, the 签署 form shown again though it is not offered yet, nowhere else."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    meeting = mh.schedule(db, world, chair)  # in four days
    action = f"/halls/{world.hall.id}/meetings/{meeting.id}/minutes/sign"
    response = _post(make_client, chair, action, {"line": "chair"}, htmx)
    assert response.status_code == 409, response.text[:500]
    reason = message("minutes_before_meeting")
    said_beside(response, action, reason, {})
    assert response.text.count(reason) == 1


# --- 纸质票录入 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_paper_entered_after_the_close_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The 计票人's desk was open when the chair closed the vote: the code and the choice
    typed come back with the reason under 录入 (409)."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    counter = f.make_member(db, world, household_index=1, chair=chair)[0]
    ballot = vh.open_ballot(db, world, chair, counters=(counter,), scrutineers=(chair,))
    vh.issue_papers(db, world, chair, ballot)
    code = vh.papers(db, ballot)[0][0]
    ih.close_ballot(db, world, chair, ballot.id or 0)
    action = f"/halls/{world.hall.id}/ballots/{ballot.id}/paper/entries"
    body = {"code": code, "result": "vote", "option": "yes", "submission_id": vh.sid()}
    response = _post(make_client, counter, action, body, htmx)
    assert response.status_code == 409, response.text[:500]
    reason = message("ballot_closed")
    said_beside(response, action, reason, {"code": code, "result": "vote", "option": "yes"})
    assert response.text.count(reason) == 1
