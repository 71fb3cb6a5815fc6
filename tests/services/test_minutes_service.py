"""会议纪要 use cases on SQLite and PostgreSQL: absences with reasons, the typed parts with their
version, the two signatures in either order freezing the document into the audit chain, 更正
after, concurrent signers and an edit racing a signature, and who may do what."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import col, select

from app.accounts.models import User
from app.audit import service as audit_service
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import Database
from app.halls import queries as hall_queries
from app.halls.policies import HallAccess
from app.meetings import minutes, minutes_queries, schemas, service
from app.meetings.models import Absence, Minutes, MinutesCorrection, MinutesStatus
from tests import factories as f
from tests import meeting_helpers as mh
from tests import minutes_helpers as minh


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


def _access(db: Database, held: minh.Held, user: User) -> HallAccess:
    return minh.access_of(db, held.world, user)


def edit(db: Database, held: minh.Held, user: User, **values: object) -> Minutes:
    with db.session() as session:
        return service.edit_minutes(
            session=session,
            access=_access(db, held, user),
            actor=user,
            meeting_id=held.meeting.id or 0,
            form=schemas.MinutesForm(**values),  # type: ignore[arg-type]
        )


def sign(db: Database, held: minh.Held, user: User, line: str) -> Minutes:
    with db.session() as session:
        return service.sign_minutes(
            session=session,
            access=_access(db, held, user),
            actor=user,
            meeting_id=held.meeting.id or 0,
            form=schemas.SignMinutesForm.model_validate({"line": line}),
        )


def absence(db: Database, held: minh.Held, user: User, member: User, reason: str) -> Absence:
    with db.session() as session:
        return service.record_absence(
            session=session,
            access=_access(db, held, user),
            actor=user,
            meeting_id=held.meeting.id or 0,
            form=schemas.AbsenceForm(
                membership_id=mh.membership(db, held.world, member).id, reason=reason
            ),
        )


def correct(db: Database, held: minh.Held, user: User, text: str) -> MinutesCorrection:
    with db.session() as session:
        return service.append_correction(
            session=session,
            access=_access(db, held, user),
            actor=user,
            meeting_id=held.meeting.id or 0,
            form=schemas.CorrectionForm(text=text),
        )


def row_of(db: Database, held: minh.Held) -> Minutes | None:
    with db.session(read_only=True) as session:
        return minutes_queries.get_minutes(session, held.meeting)


def events(db: Database, held: minh.Held, action: str) -> list[AuditEvent]:
    with db.session(read_only=True) as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(
                    AuditEvent.action == action,
                    AuditEvent.subject_type == "meeting",
                    AuditEvent.subject_id == held.meeting.id,
                )
                .order_by(col(AuditEvent.id))
            ).all()
        )


@pytest.mark.parametrize("first", ["chair", "recorder"])
def test_sign_off_in_either_order_freezes_and_hashes(db: Database, first: str) -> None:
    held = minh.held_meeting(db)
    absence(db, held, held.chair, held.recorder, "出差")
    officer = {"chair": held.chair, "recorder": held.recorder}
    second = "recorder" if first == "chair" else "chair"
    one = sign(db, held, officer[first], first)
    assert one.status == MinutesStatus.DRAFT
    assert one.body is None
    # the minutes row was made with the 决议 and its 公示 period offered
    assert "经表决通过" in one.resolutions
    assert "公示" in one.publicity
    assert sign(db, held, officer[first], first).version == one.version  # idempotent
    done = sign(db, held, officer[second], second)
    assert done.status == MinutesStatus.SIGNED
    assert done.locked_at is not None
    assert done.body is not None
    assert done.content_hash == minutes.digest(done.body)
    body = json.loads(done.body)
    assert body["signatures"]["chair"]["name"] == "王秀英"
    assert body["signatures"]["recorder"]["name"] == held.recorder.name
    assert [a["reason"] for a in body["absent"]] == ["出差"]  # the 应到 list frozen with it
    assert len(body["expected"]) == 3
    signed = events(db, held, "meetings.sign_minutes")
    assert len(signed) == 2
    assert signed[-1].id == done.audit_event_id
    assert json.loads(signed[-1].data)["content_hash"] == done.content_hash
    with db.session(read_only=True) as session:
        assert audit_service.verify_chain(session).ok


def test_an_edit_clears_both_signatures_and_bumps_the_version(db: Database) -> None:
    held = minh.held_meeting(db)
    first = edit(
        db,
        held,
        held.recorder,
        version=0,
        resolutions="1. 同意清理",
        tasks="清理 | 物业 | 12月20日",
    )
    assert first.version == 1
    sign(db, held, held.chair, "chair")
    again = edit(db, held, held.chair, version=1, resolutions="1. 同意周末清理")
    assert again.version == 2
    assert again.chair_signed_at is None
    assert again.recorder_signed_at is None
    assert json.loads(events(db, held, "meetings.edit_minutes")[-1].data)["signatures_cleared"]
    # an absence reason changes the document too
    sign(db, held, held.chair, "chair")
    absence(db, held, held.recorder, held.recorder, "请假")
    row = row_of(db, held)
    assert row is not None
    assert row.chair_signed_at is None


def test_a_stale_version_is_a_conflict_and_writes_nothing(db: Database) -> None:
    held = minh.held_meeting(db)
    edit(db, held, held.chair, version=0, notes="第一次")
    with pytest.raises(Conflict) as stale:
        edit(db, held, held.recorder, version=0, notes="我也在改")
    assert stale.value.code == "minutes_stale"
    row = row_of(db, held)
    assert row is not None
    assert row.notes == "第一次"
    assert row.version == 1


def test_locked_after_sign_off(db: Database) -> None:
    held = minh.held_meeting(db)
    sign(db, held, held.chair, "chair")
    done = sign(db, held, held.recorder, "recorder")
    for attempt in (
        lambda: edit(db, held, held.chair, version=done.version, notes="改"),
        lambda: absence(db, held, held.chair, held.recorder, "请假"),
    ):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "minutes_signed"
    row = row_of(db, held)
    assert row is not None
    assert row.body == done.body


def test_corrections_are_appended_hashed_and_audited(db: Database) -> None:
    held = minh.held_meeting(db)
    with pytest.raises(Conflict) as early:
        correct(db, held, held.chair, "太早")
    assert early.value.code == "minutes_not_signed"
    sign(db, held, held.recorder, "recorder")
    done = sign(db, held, held.chair, "chair")
    with pytest.raises(ValidationFailed) as long:
        correct(db, held, held.recorder, "长" * 1001)
    assert long.value.errors == {"text": "too_long"}
    first = correct(db, held, held.recorder, "第二项议题的发言人应为赵春梅。")
    second = correct(db, held, held.chair, "长" * 1000)  # the boundary: 1000 is allowed
    assert (first.position, second.position) == (1, 2)
    assert first.content_hash == minutes.correction_hash(
        minutes_hash=done.content_hash or "",
        position=1,
        text=first.text,
        at=first.made_at,
    )
    audited = events(db, held, "meetings.append_correction")
    assert [json.loads(e.data)["content_hash"] for e in audited] == [
        first.content_hash,
        second.content_hash,
    ]
    assert first.audit_event_id == audited[0].id
    row = row_of(db, held)
    assert row is not None
    assert row.body == done.body
    with db.session(read_only=True) as session:
        assert audit_service.verify_chain(session).ok


def test_signing_waits_for_the_meeting_and_not_when_cancelled(db: Database) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    meeting = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=4)))
    held = minh.Held(world, chair, chair, [], meeting)
    with pytest.raises(Conflict) as early:
        sign(db, held, chair, "chair")
    assert early.value.code == "minutes_before_meeting"
    clock.freeze(meeting.starts_at)  # the start time itself: allowed (both sides)
    with pytest.raises(Conflict) as no_recorder:
        sign(db, held, chair, "recorder")
    assert no_recorder.value.code == "minutes_no_recorder"
    assert sign(db, held, chair, "chair").chair_signed_at == meeting.starts_at
    clock.freeze(meeting.starts_at - timedelta(seconds=1))
    other = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=4)))
    with db.session() as session:
        service.cancel_meeting(
            session=session,
            access=minh.access_of(db, world, chair),
            actor=chair,
            meeting_id=other.id or 0,
            form=schemas.CancelForm(reason="改期"),
        )
    clock.freeze(other.starts_at + timedelta(hours=1))
    with pytest.raises(Conflict) as cancelled:
        sign(db, minh.Held(world, chair, chair, [], other), chair, "chair")
    assert cancelled.value.code == "meeting_cancelled"


def test_only_ones_own_line(db: Database) -> None:
    held = minh.held_meeting(db)
    with pytest.raises(NotFound):
        sign(db, held, held.recorder, "chair")  # the 记录人 signs the 记录人 line only
    with pytest.raises(NotFound):
        sign(db, held, held.chair, "recorder")
    with pytest.raises(ValidationFailed):
        sign(db, held, held.chair, "somebody")


def test_absence_reasons_upsert_for_the_absent_only(db: Database) -> None:
    held = minh.held_meeting(db)
    absence(db, held, held.chair, held.recorder, "请假")
    absence(db, held, held.chair, held.recorder, "出差")  # again: replaces it
    with db.session(read_only=True) as session:
        rows = session.exec(select(Absence).where(Absence.meeting_id == held.meeting.id)).all()
    assert [r.reason for r in rows] == ["出差"]
    with pytest.raises(ValidationFailed) as present:
        absence(db, held, held.chair, held.members[0], "请假")  # signed in: not absent
    assert present.value.errors == {"membership_id": "member_not_absent"}
    with pytest.raises(ValidationFailed) as long:
        absence(db, held, held.chair, held.recorder, "长" * 61)
    assert long.value.errors == {"reason": "too_long"}
    absence(db, held, held.chair, held.recorder, "长" * 60)


def test_access_matrix(db: Database) -> None:
    held = minh.held_meeting(db)
    other = f.make_hall(db)
    outsider, _ = f.make_member(db, other)
    resident, _ = f.make_member(db, held.world, household_index=3, chair=held.chair)
    nobody = f.make_user(db)
    street = HallAccess(user_id=nobody.id, hall_id=held.world.hall.id or 0, is_street_admin=True)
    with db.session() as session:
        foreign = hall_queries.hall_access(session, user=outsider, hall=other.hall)
    guest = HallAccess(user_id=nobody.id, hall_id=held.world.hall.id or 0)
    for access, actor in ((foreign, outsider), (street, nobody), (guest, nobody)):
        for run in (
            lambda s, a=access, u=actor: service.edit_minutes(
                session=s, access=a, actor=u, meeting_id=held.meeting.id or 0,
                form=schemas.MinutesForm(version=0),
            ),
            lambda s, a=access, u=actor: service.sign_minutes(
                session=s, access=a, actor=u, meeting_id=held.meeting.id or 0,
                form=schemas.SignMinutesForm(line="chair"),
            ),
        ):  # fmt: skip
            with db.session() as session, pytest.raises(NotFound):
                run(session)
    with pytest.raises(NotFound):  # a plain resident keeps no minutes
        edit(db, held, resident, version=0, notes="我来写")
    with pytest.raises(NotFound):
        absence(db, held, resident, held.recorder, "请假")
    assert row_of(db, held) is None


def _race(db: Database, calls: list[object]) -> list[object]:
    barrier = threading.Barrier(len(calls))

    def run(call: object) -> object:
        barrier.wait()
        try:
            return call()  # type: ignore[operator]
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_two_signers_at_once_both_sign_and_freeze_once(db: Database) -> None:
    held = minh.held_meeting(db)
    _race(
        db,
        [
            lambda: sign(db, held, held.chair, "chair"),
            lambda: sign(db, held, held.recorder, "recorder"),
        ],
    )
    row = row_of(db, held)
    assert row is not None
    assert row.status == MinutesStatus.SIGNED
    assert row.chair_signed_at is not None
    assert row.recorder_signed_at is not None
    frozen = [e for e in events(db, held, "meetings.sign_minutes") if "content_hash" in e.data]
    assert len(frozen) == 1
    assert json.loads(frozen[0].data)["content_hash"] == row.content_hash
    with db.session(read_only=True) as session:
        assert session.exec(select(Minutes).where(Minutes.meeting_id == held.meeting.id)).all()


@pytest.mark.parametrize("attempt", range(3))
def test_an_edit_and_a_signature_do_not_cross(db: Database, attempt: int) -> None:
    """The chair has signed; the recorder signs while the chair saves an edit: either the
    signature comes first (signed, the edit refused) or the edit does (signatures cleared,
    the recorder's alone on the edited text). Never a signed body beside an edited text."""
    held = minh.held_meeting(db)
    edit(db, held, held.chair, version=0, notes="原文")
    sign(db, held, held.chair, "chair")
    results = _race(
        db,
        [
            lambda: sign(db, held, held.recorder, "recorder"),
            lambda: edit(db, held, held.chair, version=1, notes=f"改后{attempt}"),
        ],
    )
    row = row_of(db, held)
    assert row is not None
    if row.status == MinutesStatus.SIGNED:
        assert results[1] == "minutes_signed"
        assert row.notes == "原文"
        assert json.loads(row.body or "")["notes"] == "原文"
    else:
        assert isinstance(results[0], Minutes)
        assert isinstance(results[1], Minutes)
        assert row.notes == f"改后{attempt}"
        assert row.version == 2
        assert row.chair_signed_at is None
        assert row.recorder_signed_at is not None
