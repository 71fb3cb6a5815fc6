"""On the chair's live page a refused row control says why under the button pressed, in its
own row (issue #14), on SQLite and PostgreSQL.

设为当前 (an agenda row), 请发言 / ↑ / ↓ / 移出 (a speaker's row in the queue), 开始表决 /
结束表决 (a ballot of the current item) are each refused for real: the meeting has ended, the
speaker left the queue or spoke already, the ballot was opened or closed already, the meeting
is below its quorum. Sent as the chair with htmx (``HX-Request``) and as a plain form, each
answers 409 with the live page: the reason in the alert under that row's button (its
``aria-describedby``), not under another row's, not at the top of the page, no #flash notice
out of band. The pressed row is shown even when the speaker is no longer in the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.meetings import minutes_queries, queries, schemas, service
from app.meetings.models import Meeting, Speaker
from app.voting.models import Ballot
from app.web.messages import message
from tests import factories as f
from tests import live_helpers as lh
from tests import minutes_helpers as minh
from tests.conftest import Client
from tests.web import issue_helpers as ih
from tests.web.test_refusals_beside_control import forms_of, said_beside


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


@dataclass
class Pressed:
    """What the chair sends again (url, body), the slot under its button, the reason."""

    action: str
    body: dict[str, str]
    slot: str
    reason: str


def _world(db: Database, n: int = 3) -> tuple[f.HallWorld, User, list[User]]:
    world = f.make_hall(db, buildings=1, entrances=2, rooms=20)
    chair = f.make_chair(db, world)
    return world, chair, lh.members(db, world, chair, n)


def _live(world: f.HallWorld, meeting: Meeting) -> str:
    return f"/halls/{world.hall.id}/meetings/{meeting.id}/live"


def _queue(db: Database) -> tuple[f.HallWorld, User, Meeting, list[Speaker]]:
    """A meeting under way with three members in the queue."""
    world, chair, people = _world(db)
    meeting = lh.started(db, world, chair)
    speakers = [lh.signed_in_hand(db, world, chair, meeting, person) for person in people]
    return world, chair, meeting, speakers


def _withdrawn(db: Database) -> tuple[f.HallWorld, User, Meeting, Speaker]:
    """The middle one of three took their hand down a moment ago (on their phone)."""
    world, chair, meeting, speakers = _queue(db)
    gone = speakers[1]
    lh.call(db, world, chair, service.withdraw, meeting_id=meeting.id, speaker_id=gone.id)
    return world, chair, meeting, gone


def _floor_withdrawn(db: Database) -> tuple[User, Pressed]:
    world, chair, meeting, gone = _withdrawn(db)
    action = f"{_live(world, meeting)}/speakers/{gone.id}/floor"
    return chair, Pressed(action, {}, f"e-floor-{gone.id}", message("speaker_not_waiting"))


def _up_withdrawn(db: Database) -> tuple[User, Pressed]:
    world, chair, meeting, gone = _withdrawn(db)
    action = f"{_live(world, meeting)}/speakers/{gone.id}/move"
    return chair, Pressed(
        action, {"direction": "up"}, f"e-up-{gone.id}", message("speaker_not_waiting")
    )


def _down_ended(db: Database) -> tuple[User, Pressed]:
    world, chair, meeting, speakers = _queue(db)
    lh.call(db, world, chair, service.end_meeting, meeting_id=meeting.id)  # 散会, just now
    first = speakers[0]
    action = f"{_live(world, meeting)}/speakers/{first.id}/move"
    return chair, Pressed(
        action, {"direction": "down"}, f"e-down-{first.id}", message("meeting_held")
    )


def _withdraw_spoken(db: Database) -> tuple[User, Pressed]:
    world, chair, meeting, speakers = _queue(db)
    first, second = speakers[0], speakers[1]
    for speaker in (first, second):  # the first spoke, the second has the floor now
        lh.call(db, world, chair, service.give_floor, meeting_id=meeting.id, speaker_id=speaker.id)
    action = f"{_live(world, meeting)}/speakers/{first.id}/withdraw"
    return chair, Pressed(action, {}, f"e-withdraw-{first.id}", message("speaker_not_waiting"))


def _current_ended(db: Database) -> tuple[User, Pressed]:
    world, chair, _ = _world(db, 1)
    meeting = lh.started(db, world, chair, free_items=["楼道堆物清理", "停车管理"])
    with db.session(read_only=True) as session:
        items = [row.item.id for row in queries.agenda(session, meeting)]
    lh.call(db, world, chair, service.end_meeting, meeting_id=meeting.id)
    action = f"{_live(world, meeting)}/current-item"
    body = {"item_id": str(items[1])}
    return chair, Pressed(action, body, f"e-item-{items[1]}", message("meeting_held"))


def _ballot_here(db: Database, *, opened: bool, sign_in: bool = True) -> tuple[Any, ...]:
    """A meeting under way whose current item is an issue with a ballot held at the meeting
    (the members signed in, so it has its quorum, unless `sign_in` is false)."""
    world, chair, people = _world(db)
    issue, _ = f.make_deciding_issue(db, world, chair, solutions=1)
    meeting = lh.started(db, world, chair, issue_ids=[issue.id], free_items=[])
    ballot = ih.ballot(db, world, chair, issue.id or 0, opened=False)
    with db.session() as session:
        row = session.get(Ballot, ballot.id)
        assert row is not None
        row.meeting_id = meeting.id
        session.add(row)
        session.commit()
        item = queries.agenda(session, meeting)[0].item.id
    form = schemas.CurrentItemForm(item_id=item)
    lh.call(db, world, chair, service.set_current_item, meeting_id=meeting.id, form=form)
    if sign_in:
        for person in people:
            lh.signed_in_hand(db, world, chair, meeting, person)
    if opened:
        lh.call(db, world, chair, service.open_ballot, meeting_id=meeting.id, ballot_id=ballot.id)
    return world, chair, meeting, ballot


def _open_again(db: Database) -> tuple[User, Pressed]:
    world, chair, meeting, ballot = _ballot_here(db, opened=True)  # opened in another tab
    action = f"{_live(world, meeting)}/ballots/{ballot.id}/open"
    return chair, Pressed(action, {}, f"e-open-{ballot.id}", message("ballot_open"))


def _open_below_quorum(db: Database) -> tuple[User, Pressed]:
    world, chair, meeting, ballot = _ballot_here(db, opened=False, sign_in=False)
    action = f"{_live(world, meeting)}/ballots/{ballot.id}/open"
    reason = message("meeting_quorum_not_met", expected=3, present=0, needed=2, short=2)
    return chair, Pressed(action, {}, f"e-open-{ballot.id}", reason)


def _close_again(db: Database) -> tuple[User, Pressed]:
    world, chair, meeting, ballot = _ballot_here(db, opened=True)
    ih.close_ballot(db, world, chair, ballot.id or 0)  # closed in another tab
    action = f"{_live(world, meeting)}/ballots/{ballot.id}/close"
    return chair, Pressed(action, {}, f"e-close-{ballot.id}", message("ballot_closed"))


CASES: list[Callable[[Database], tuple[User, Pressed]]] = [
    _current_ended,
    _floor_withdrawn,
    _up_withdrawn,
    _down_ended,
    _withdraw_spoken,
    _open_again,
    _open_below_quorum,
    _close_again,
]


def _post(make_client: Any, user: User, pressed: Pressed, htmx: bool) -> Any:
    client: Client = make_client()
    client.login(user.phone or "", f.PASSWORD)
    headers = {"X-CSRF-Token": client.csrf("/"), **({"HX-Request": "true"} if htmx else {})}
    return client.post(pressed.action, data=pressed.body, headers=headers, follow_redirects=False)


def said_under(response: Any, pressed: Pressed) -> None:
    """One form names the slot in its button's aria-describedby: the one posted to the action,
    with the reason in that slot; no other form, no notice at the top or out of band, says it."""
    forms, floating = forms_of(response.text)
    named = [form for form in forms if pressed.slot in form.described_by]
    assert [form.action for form in named] == [pressed.action], [f.action for f in forms]
    assert named[0].alerts == {pressed.slot: pressed.reason}, named[0].alerts
    others = [form.action for form in forms if form is not named[0] and form.alerts]
    assert others == [], others
    assert floating == []
    assert 'hx-swap-oob="innerHTML:#flash"' not in response.text
    assert response.text.count(pressed.reason) == 1  # only under the button
    assert f'id="{pressed.slot}"' in response.text


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_a_live_row_refusal_is_said_under_its_button(
    db: Database, make_client: Any, case: Callable[[Database], tuple[User, Pressed]], htmx: bool
) -> None:
    chair, pressed = case(db)
    response = _post(make_client, chair, pressed, htmx)
    assert response.status_code == 409, response.text[:500]
    assert pressed.reason.strip()
    said_under(response, pressed)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_the_other_rows_keep_their_buttons_without_an_alert(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The queue is still offered as it is: the two waiting rows with their buttons, the
    speaker who left shown once more only with the button pressed."""
    world, chair, meeting, gone = _withdrawn(db)
    base = _live(world, meeting)
    pressed = Pressed(
        f"{base}/speakers/{gone.id}/floor", {}, f"e-floor-{gone.id}", message("speaker_not_waiting")
    )
    response = _post(make_client, chair, pressed, htmx)
    assert response.status_code == 409
    forms, _ = forms_of(response.text)
    with db.session(read_only=True) as session:
        waiting = session.exec(
            select(Speaker.id).where(Speaker.meeting_id == meeting.id, Speaker.status == "waiting")
        ).all()
    assert len(waiting) == 2
    for speaker_id in waiting:
        floor = [form for form in forms if form.action == f"{base}/speakers/{speaker_id}/floor"]
        assert len(floor) == 1
        assert floor[0].alerts == {}
        assert floor[0].described_by == []
    gone_forms = [form.action for form in forms if f"/speakers/{gone.id}/" in form.action]
    assert gone_forms == [pressed.action]  # not 移出 or ↑ for the one who left
    assert f'data-speaker="{gone.id}" class="refused"' in response.text
    # the queue's next refresh (which replaces the reason) waits 30 s, not the usual 5 s
    assert 'hx-trigger="every 30s"' in response.text
    assert 'hx-trigger="every 5s"' not in response.text


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_field_error_on_the_live_page_is_still_422(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """An unknown agenda item is a bad value (422), said under the agenda, not as a refusal."""
    world, chair, _ = _world(db, 1)
    meeting = lh.started(db, world, chair)
    pressed = Pressed(f"{_live(world, meeting)}/current-item", {"item_id": "999999"}, "", "")
    response = _post(make_client, chair, pressed, htmx)
    assert response.status_code == 422, response.text[:500]
    assert 'id="e-item_id"' in response.text
    forms, _ = forms_of(response.text)
    assert all(form.described_by == [] for form in forms)


# --- 记录缺席原因 (the minutes page) -------------------------------------------------------------
#
# The officers' absence form is refused once both have signed (in another tab, a moment ago):
# the form comes back although a signed page no longer offers it, the member chosen and the
# reason typed kept, the reason under 记录缺席原因, not at the top of the page.


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_refused_absence_reason_is_said_under_its_button_and_kept(
    db: Database, make_client: Any, htmx: bool
) -> None:
    held = minh.held_meeting(db)
    with db.session(read_only=True) as session:
        absent = minutes_queries.absence_choices(session, held.meeting)[0][0]
    for user, line in ((held.chair, "chair"), (held.recorder, "recorder")):
        lh.call(
            db,
            held.world,
            user,
            service.sign_minutes,
            meeting_id=held.meeting.id,
            form=schemas.SignMinutesForm(line=line),
        )
    action = f"/halls/{held.world.hall.id}/meetings/{held.meeting.id}/minutes/absences"
    typed = {"membership_id": str(absent), "reason": "出差在外地"}
    reason = message("minutes_signed")
    pressed = Pressed(action, typed, "e-absence", reason)
    response = _post(make_client, held.chair, pressed, htmx)
    assert response.status_code == 409, response.text[:500]
    said_beside(response, action, reason, typed)
    assert response.text.count(reason) == 1  # not at the top of the page as well
    assert 'hx-swap-oob="innerHTML:#flash"' not in response.text


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_an_absence_without_a_reason_is_still_422(
    db: Database, make_client: Any, htmx: bool
) -> None:
    held = minh.held_meeting(db)
    with db.session(read_only=True) as session:
        absent = minutes_queries.absence_choices(session, held.meeting)[0][0]
    action = f"/halls/{held.world.hall.id}/meetings/{held.meeting.id}/minutes/absences"
    pressed = Pressed(action, {"membership_id": str(absent), "reason": " "}, "", "")
    response = _post(make_client, held.chair, pressed, htmx)
    assert response.status_code == 422, response.text[:500]
    forms, _ = forms_of(response.text)
    (mine,) = [form for form in forms if form.action == action]
    assert mine.described_by == []
    assert "e-reason" in mine.alerts
    assert mine.values["membership_id"] == str(absent)
