"""More refusals said under the button pressed (issue #14), on SQLite and PostgreSQL.

撤回吹哨 once the street has dispatched it, 认领 a task whose places are taken, 退出认领 a task
never claimed, 添加更正 to minutes not yet signed, 打印纸质票 after the close, and 确认 / 退回 a
paper entry another 监票人 decided a moment ago. Each is provoked for real and sent with htmx
(``HX-Request``) and as a plain form: both answer 409 with the form that was sent, the reason in
the alert under its button (named by the button's ``aria-describedby``), what was typed still
in the fields, no floating #flash notice; on the paper desk only the row pressed says it.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.db import Database
from app.escalations import deadlines
from app.escalations.models import EscalationStatus
from app.tasks.models import PartyType
from app.voting import service as vote_service
from app.web.messages import message
from tests import escalation_helpers as esc
from tests import factories as f
from tests import meeting_helpers as mh
from tests import task_helpers as th
from tests.conftest import Client
from tests.implementation_helpers import implementing_issue
from tests.web import issue_helpers as ih
from tests.web import voting_helpers as vh
from tests.web.test_refusals_beside_control import forms_of, said_once

HX = pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])


def _post(
    make_client: Any,
    user: Any,
    action: str,
    body: dict[str, Any],
    htmx: bool,
    referer: str | None = None,
) -> Any:
    client: Client = make_client()
    client.login(user.phone or "", f.PASSWORD)
    headers = {"X-CSRF-Token": client.csrf("/"), **({"HX-Request": "true"} if htmx else {})}
    if referer is not None:
        headers["Referer"] = f"http://testserver{referer}"
    return client.post(action, data=body, headers=headers, follow_redirects=False)


# --- 撤回吹哨 ------------------------------------------------------------------------------------


@HX
def test_withdrawing_a_dispatched_escalation_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The street dispatched it while the chair's issue page was open: the issue page again,
    the reason under that escalation's 撤回吹哨 (shown though no longer offered)."""
    story = esc.story(db)
    escalation = esc.raise_on(db, story.world, story.chair, story.issue)
    esc.dispatch(db, story.world, story.admin, escalation, story.lead)
    base = f"/halls/{story.world.hall.id}/issues/{story.issue.id}"
    action = f"{base}/escalations/{escalation.id}/withdraw"
    response = _post(make_client, story.chair, action, {}, htmx)
    code = deadlines.refusal(deadlines.Move.WITHDRAW, EscalationStatus.DISPATCHED)
    assert code is not None
    said_once(response, action, message(code), {})
    assert f'id="issue-{story.issue.id}-escalations"' in response.text  # the issue page's card


# --- 认领 / 退出认领 ------------------------------------------------------------------------------


def _volunteer_task(db: Database) -> tuple[f.HallWorld, Any, Any, Any, Any]:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair, name="张阿姨")
    issue = implementing_issue(db, world, chair)
    task = th.add_task(db, world, chair, issue, party_type=PartyType.VOLUNTEERS, volunteer_cap="1")
    other = th.add_task(db, world, chair, issue, party_type=PartyType.VOLUNTEERS, title="搬花盆")
    return world, chair, resident, issue, (task, other)


def _claim(db: Database, world: f.HallWorld, who: Any, issue: Any, task: Any) -> None:
    from app.tasks import service as task_service

    with db.session() as s:
        task_service.claim_task(
            session=s,
            access=f.member_access(db, world, who),
            actor=who,
            issue_id=issue.id or 0,
            task_id=task.id or 0,
        )


@HX
@pytest.mark.parametrize("sent_from", ["issue", "list", "task"])
def test_claiming_a_full_task_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool, sent_from: str
) -> None:
    """Its one place was taken a moment ago: the page it was sent from again (without JS),
    the volunteers' block (htmx), the reason under 我来认领 of that task only."""
    world, chair, resident, issue, (task, other) = _volunteer_task(db)
    _claim(db, world, resident, issue, task)
    base = f"/halls/{world.hall.id}/issues/{issue.id}"
    referer = {"issue": base, "list": f"{base}/tasks", "task": f"{base}/tasks/{task.id}"}
    action = f"{base}/tasks/{task.id}/claim"
    response = _post(make_client, chair, action, {}, htmx, referer=referer[sent_from])
    said_once(response, action, message("volunteers_full", cap=1), {})
    forms, _ = forms_of(response.text)
    if not htmx and sent_from != "task":  # the other task's 我来认领 is there, silent
        (mine,) = [form for form in forms if form.action == f"{base}/tasks/{other.id}/claim"]
        assert mine.alerts == {}
        assert mine.described_by == []
    if htmx:
        assert response.text.lstrip().startswith(f'<div class="task-volunteers" id="vol-{task.id}"')


@HX
def test_withdrawing_a_claim_never_made_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    world, chair, _, issue, (task, _) = _volunteer_task(db)
    base = f"/halls/{world.hall.id}/issues/{issue.id}"
    action = f"{base}/tasks/{task.id}/withdraw"
    response = _post(make_client, chair, action, {}, htmx, referer=f"{base}/tasks/{task.id}")
    said_once(response, action, message("not_claimed"), {})


# --- 添加更正 ------------------------------------------------------------------------------------


@HX
def test_a_correction_to_unsigned_minutes_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The minutes are not signed (their signatures cleared by an edit, or never given): the
    更正 typed comes back in its form, the reason under 添加更正, not at the top."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    meeting = mh.schedule(db, world, chair)
    action = f"/halls/{world.hall.id}/meetings/{meeting.id}/minutes/corrections"
    body = {"text": "第二位发言人应为张经理。"}
    response = _post(make_client, chair, action, body, htmx)
    said_once(response, action, message("minutes_not_signed"), body)


# --- 打印纸质票, 确认 / 退回 --------------------------------------------------------------------------


@HX
def test_issuing_papers_after_the_close_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    f.make_member(db, world, household_index=1, chair=chair)
    ballot = vh.open_ballot(db, world, chair)
    ih.close_ballot(db, world, chair, ballot.id or 0)  # closed while the desk was open
    action = f"/halls/{world.hall.id}/ballots/{ballot.id}/paper/issue"
    response = _post(make_client, chair, action, {}, htmx)
    said_once(response, action, message("ballot_closed"), {})


@HX
@pytest.mark.parametrize("button", ["confirm", "reject"])
def test_an_entry_decided_by_another_is_said_in_its_row_only(
    db: Database, make_client: Any, htmx: bool, button: str
) -> None:
    """Two readings wait; another 监票人 decided the first a moment ago. The chair's 确认 (or
    退回) on it: that row again, the reason under the button pressed, the other row silent."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    counter = f.make_member(db, world, household_index=1, chair=chair)[0]
    scrutineer = f.make_member(db, world, household_index=2, chair=chair)[0]
    ballot = vh.open_ballot(db, world, chair, counters=(counter,), scrutineers=(chair, scrutineer))
    vh.issue_papers(db, world, chair, ballot)
    (first, _), (second, _) = vh.papers(db, ballot)[:2]
    decided = vh.enter_paper(db, world, counter, ballot, first)
    waiting = vh.enter_paper(db, world, counter, ballot, second)
    with db.session() as s:
        vote_service.confirm_paper(
            session=s,
            access=f.member_access(db, world, scrutineer),
            actor=scrutineer,
            ballot_id=ballot.id or 0,
            entry_id=decided.id or 0,
            agree=True,
        )
    desk = f"/halls/{world.hall.id}/ballots/{ballot.id}/paper/entries"
    action = f"{desk}/{decided.id}/{button}"
    response = _post(make_client, chair, action, {}, htmx)
    said_once(response, action, message("paper_entry_decided"), {})
    forms, _ = forms_of(response.text)
    for verb in ("confirm", "reject"):
        (row,) = [form for form in forms if form.action == f"{desk}/{waiting.id}/{verb}"]
        assert row.alerts == {}  # the other row says nothing
        assert row.described_by == []
    mine = next(form for form in forms if form.action == action)
    assert mine.described_by == [f"e-paper-entry-{decided.id}"]
