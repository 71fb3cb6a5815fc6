"""吹哨报到 use cases on both databases: the windows copied when raised, the clocks (frozen)
for every urgency class, each transition and each refused one (409 with its code), the trail
and the audit events, and a race of two members pressing 报到 at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from app.audit.models import AuditEvent
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import Database
from app.escalations import queries, schemas, service
from app.escalations.deadlines import DEFAULTS, DeadlineState, EscalationStatus, StepKind, Urgency
from app.escalations.models import Escalation, EscalationStep, StreetDeadline
from app.issues.models import Notification
from app.jobs.registry import JOBS
from tests import escalation_helpers as eh
from tests import factories as f
from tests.implementation_helpers import frozen

T0 = datetime(2031, 3, 2, 1, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _row(db: Database, escalation_id: int) -> Escalation:
    with db.session(read_only=True) as s:
        row = s.get(Escalation, escalation_id)
        assert row is not None
        return row


def _steps(db: Database, escalation_id: int) -> list[StepKind]:
    with db.session(read_only=True) as s:
        rows = s.exec(
            select(EscalationStep.kind)
            .where(EscalationStep.escalation_id == escalation_id)
            .order_by(col(EscalationStep.id))
        ).all()
    return [StepKind(k) for k in rows]


def _audits(db: Database, escalation_id: int, hall_id: int | None) -> list[str]:
    """The escalation's audit actions. By hall too: SQLite may give a withdrawn (deleted)
    escalation's id to a later one, whose audit rows then share the subject id."""
    with db.session(read_only=True) as s:
        rows = s.exec(
            select(AuditEvent.action)
            .where(
                AuditEvent.subject_type == "escalation",
                AuditEvent.subject_id == escalation_id,
                AuditEvent.hall_id == hall_id,
            )
            .order_by(col(AuditEvent.id))
        ).all()
    return list(rows)


@pytest.mark.parametrize("urgency", list(Urgency))
def test_the_clocks_of_every_class_at_the_due_instant(db: Database, urgency: Urgency) -> None:
    """Raised at T0, dispatched at T0 + 1 min; 报到 exactly at its due instant is in time,
    办结 one second after its due instant is late; a second before, both are 即将到期."""
    st = eh.story(db)
    window = DEFAULTS[urgency]
    with frozen(T0):
        e = eh.raise_on(db, st.world, st.chair, st.issue, urgency=urgency)
    assert e.resolve_due_at == T0 + timedelta(minutes=window.resolve_minutes)
    assert (e.respond_minutes, e.resolve_minutes) == (
        window.respond_minutes,
        window.resolve_minutes,
    )
    dispatched_at = T0 + timedelta(minutes=1)
    with frozen(dispatched_at):
        e = eh.dispatch(db, st.world, st.admin, e, st.lead)
    respond_due = dispatched_at + timedelta(minutes=window.respond_minutes)
    assert e.respond_due_at == respond_due
    with frozen(respond_due - SECOND), db.session(read_only=True) as s:
        row = queries.get_listed(s, escalation_id=e.id or 0)
        assert row is not None
        assert row.respond is not None
        assert row.respond.state == DeadlineState.DUE_SOON
    with frozen(respond_due + SECOND), db.session(read_only=True) as s:
        row = queries.get_listed(s, escalation_id=e.id or 0)
        assert row is not None
        assert row.respond is not None
        assert row.respond.state == DeadlineState.OVERDUE
        assert row.respond.over == SECOND
    with frozen(respond_due):
        eh.acknowledge(db, st.lead_user, st.lead, e)
    resolve_due = e.resolve_due_at
    with frozen(resolve_due + SECOND), db.session() as s:
        service.resolve(
            session=s,
            access=eh.dept_access(db, st.lead_user, st.lead),
            actor=st.lead_user,
            escalation_id=e.id or 0,
            form=schemas.TextForm(text="已修复路面"),
        )
    with db.session(read_only=True) as s:
        row = queries.get_listed(s, escalation_id=e.id or 0)
        assert row is not None
        assert row.respond is not None
        assert row.respond.state == DeadlineState.MET  # at the due instant: in time
        assert row.resolve.state == DeadlineState.LATE
        assert row.resolve.over == SECOND
    assert _steps(db, e.id or 0) == [
        StepKind.RAISED,
        StepKind.DISPATCHED,
        StepKind.ACKNOWLEDGED,
        StepKind.RESOLVED,
    ]
    assert _audits(db, e.id or 0, st.world.hall.id) == [
        "escalations.raise_escalation",
        "escalations.dispatch",
        "escalations.acknowledge",
        "escalations.resolve",
    ]


def test_the_streets_windows_are_copied_when_raised(db: Database) -> None:
    st = eh.story(db)
    access = eh.street_access(st.world, st.admin)
    with db.session() as s:
        service.set_deadline(
            session=s,
            access=access,
            actor=st.admin,
            form=schemas.DeadlineForm(
                urgency=Urgency.GENERAL,
                respond="45",
                respond_unit=schemas.Unit.MINUTES,
                resolve="3",
                resolve_unit=schemas.Unit.DAYS,
            ),
        )
    with frozen(T0):
        e = eh.raise_on(db, st.world, st.chair, st.issue, urgency=Urgency.GENERAL)
    assert (e.respond_minutes, e.resolve_minutes) == (45, 3 * 24 * 60)
    assert e.resolve_due_at == T0 + timedelta(days=3)
    # A later change of the settings does not move the old deadline.
    with db.session() as s:
        service.set_deadline(
            session=s,
            access=access,
            actor=st.admin,
            form=schemas.DeadlineForm(
                urgency=Urgency.GENERAL, respond="1", resolve="1", resolve_unit=schemas.Unit.DAYS
            ),
        )
    assert _row(db, e.id or 0).resolve_due_at == T0 + timedelta(days=3)
    with db.session(read_only=True) as s:
        count = s.exec(
            select(func.count())
            .select_from(StreetDeadline)
            .where(StreetDeadline.street_id == st.world.street.id)
        ).one()
    assert count == 1  # one row per class, updated


@pytest.mark.parametrize(
    ("respond", "resolve", "errors"),
    [
        ("0", "1", {"respond": "window_not_positive"}),
        ("2", "1", {"resolve": "resolve_before_respond"}),
        ("x", "1", {"respond": "integer_required"}),
        ("", "", {"respond": "required", "resolve": "required"}),
    ],
)
def test_refused_windows(db: Database, respond: str, resolve: str, errors: dict[str, str]) -> None:
    world = f.make_hall(db)
    admin = eh.street_admin(db, world)
    with pytest.raises(ValidationFailed) as caught, db.session() as s:
        service.set_deadline(
            session=s,
            access=eh.street_access(world, admin),
            actor=admin,
            form=schemas.DeadlineForm(
                urgency=Urgency.EMERGENCY,
                respond=respond,
                respond_unit=schemas.Unit.HOURS,
                resolve=resolve,
                resolve_unit=schemas.Unit.HOURS,
            ),
        )
    assert caught.value.errors == errors


def test_refused_transitions_say_why(db: Database) -> None:
    st = eh.story(db)
    e = eh.raise_on(db, st.world, st.chair, st.issue)
    lead = eh.dept_access(db, st.lead_user, st.lead)
    # Not dispatched yet: the department does not see it at all.
    with pytest.raises(NotFound), db.session() as s:
        service.acknowledge(session=s, access=lead, actor=st.lead_user, escalation_id=e.id or 0)
    eh.dispatch(db, st.world, st.admin, e, st.lead)
    with pytest.raises(Conflict) as caught, db.session() as s:
        service.dispatch(
            session=s,
            access=eh.street_access(st.world, st.admin),
            actor=st.admin,
            escalation_id=e.id or 0,
            form=schemas.DispatchForm(department_id=st.helper.id),
        )
    assert caught.value.code == "escalation_already_dispatched"
    for call in (service.reply, service.resolve):
        with pytest.raises(Conflict) as caught, db.session() as s:
            call(
                session=s,
                access=lead,
                actor=st.lead_user,
                escalation_id=e.id or 0,
                form=schemas.TextForm(text="进展"),
            )
        assert caught.value.code == "escalation_not_acknowledged"
    with pytest.raises(Conflict) as caught, db.session() as s:
        service.withdraw_escalation(
            session=s,
            access=f.chair_access(db, st.world, st.chair),
            actor=st.chair,
            issue_id=st.issue.id or 0,
            escalation_id=e.id or 0,
        )
    assert caught.value.code == "escalation_already_dispatched"
    eh.acknowledge(db, st.lead_user, st.lead, e)
    with pytest.raises(Conflict) as caught:
        eh.acknowledge(db, st.lead_user, st.lead, e)
    assert caught.value.code == "escalation_acknowledged"


def test_help_and_replies(db: Database) -> None:
    st = eh.story(db)
    e = eh.raise_on(db, st.world, st.chair, st.issue)
    eh.dispatch(db, st.world, st.admin, e, st.lead)
    eh.acknowledge(db, st.lead_user, st.lead, e)
    lead = eh.dept_access(db, st.lead_user, st.lead)
    helper = eh.dept_access(db, st.helper_user, st.helper)
    # Before being asked, the helper department does not see it.
    with pytest.raises(NotFound), db.session() as s:
        service.reply(
            session=s,
            access=helper,
            actor=st.helper_user,
            escalation_id=e.id or 0,
            form=schemas.TextForm(text="我们来看看"),
        )
    with db.session() as s:
        service.ask_help(
            session=s,
            access=lead,
            actor=st.lead_user,
            escalation_id=e.id or 0,
            form=schemas.HelpForm(department_id=st.helper.id, text="请市政所出人"),
        )
    with pytest.raises(Conflict) as caught, db.session() as s:
        service.ask_help(
            session=s,
            access=lead,
            actor=st.lead_user,
            escalation_id=e.id or 0,
            form=schemas.HelpForm(department_id=st.helper.id),
        )
    assert caught.value.code == "escalation_help_asked"
    with db.session() as s:
        service.reply(
            session=s,
            access=helper,
            actor=st.helper_user,
            escalation_id=e.id or 0,
            form=schemas.TextForm(text="已派人勘察"),
        )
    # A helper may reply, not resolve.
    with pytest.raises(NotFound), db.session() as s:
        service.resolve(
            session=s,
            access=helper,
            actor=st.helper_user,
            escalation_id=e.id or 0,
            form=schemas.TextForm(text="办结"),
        )
    with db.session(read_only=True) as s:
        inbox = queries.department_inbox(s, department_id=st.helper.id or 0)
    assert [(r.escalation.id, r.part) for r in inbox.rows] == [(e.id, "helper")]
    assert _steps(db, e.id or 0)[-2:] == [StepKind.HELP_ASKED, StepKind.REPLIED]


def test_raise_needs_the_issue_in_implementation_and_a_valid_work_order(db: Database) -> None:
    st = eh.story(db)
    with pytest.raises(ValidationFailed) as caught:
        eh.raise_on(db, st.world, st.chair, st.issue, work_order_no="工单-1")
    assert caught.value.errors == {"work_order_no": "work_order_invalid"}
    with pytest.raises(ValidationFailed):
        eh.raise_on(db, st.world, st.chair, st.issue, work_order_no="A" * 41)
    ok = eh.raise_on(db, st.world, st.chair, st.issue, work_order_no="A" * 40)
    assert ok.work_order_no == "A" * 40
    other, _ = f.make_deciding_issue(db, st.world, st.chair)
    with pytest.raises(Conflict) as refused:
        eh.raise_on(db, st.world, st.chair, other)
    assert refused.value.code == "stage_action_not_allowed"


def test_withdraw_before_dispatch(db: Database) -> None:
    st = eh.story(db)
    e = eh.raise_on(db, st.world, st.chair, st.issue)
    with db.session() as s:
        service.withdraw_escalation(
            session=s,
            access=f.chair_access(db, st.world, st.chair),
            actor=st.chair,
            issue_id=st.issue.id or 0,
            escalation_id=e.id or 0,
        )
    with db.session(read_only=True) as s:
        assert s.get(Escalation, e.id) is None
    assert _audits(db, e.id or 0, st.world.hall.id) == [
        "escalations.raise_escalation",
        "escalations.withdraw_escalation",
    ]


def test_two_members_acknowledging_at_once_record_one(db: Database) -> None:
    st = eh.story(db)
    second = f.make_user(db, name="城管科张干事")
    with db.session() as s:
        service.add_department_member(
            session=s,
            access=eh.street_access(st.world, st.admin),
            actor=st.admin,
            department_id=st.lead.id or 0,
            form=schemas.MemberForm(phone=second.phone or ""),
        )
    e = eh.raise_on(db, st.world, st.chair, st.issue)
    eh.dispatch(db, st.world, st.admin, e, st.lead)
    people = [st.lead_user, second] * 2
    accesses = [eh.dept_access(db, u, st.lead) for u in people]
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []
    lock = threading.Lock()

    def press(i: int) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                service.acknowledge(
                    session=s, access=accesses[i], actor=people[i], escalation_id=e.id or 0
                )
            result = "ok"
        except Conflict as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["escalation_acknowledged"] * 3 + ["ok"]
    assert _steps(db, e.id or 0).count(StepKind.ACKNOWLEDGED) == 1
    assert _row(db, e.id or 0).status == EscalationStatus.ACKNOWLEDGED


def test_the_overdue_job_notifies_once_each(db: Database) -> None:
    """Strictly after the due instant, once per deadline: the department's members, the
    street's officials, the chair who blew the whistle and the hall's other chairs. (Other
    tests' escalations share the database: counted by this one's own unique summary.)"""
    st = eh.story(db)
    vice = f.make_chair(db, st.world, name="副主任")
    summary = f.unique("停水抢修")
    with frozen(T0):
        e = eh.raise_on(
            db, st.world, st.chair, st.issue, urgency=Urgency.EMERGENCY, summary=summary
        )
        eh.dispatch(db, st.world, st.admin, e, st.lead)
    job = JOBS["escalations.overdue"]

    def run(at: datetime) -> Escalation:
        with db.session() as s:
            job.run(s, at)
            s.commit()
        return _row(db, e.id or 0)

    def notified(kind: str) -> list[int]:
        with db.session(read_only=True) as s:
            rows = s.exec(
                select(Notification.user_id).where(
                    Notification.kind == kind, Notification.text == summary
                )
            ).all()
        return sorted(rows)

    respond_due = T0 + timedelta(minutes=30)
    resolve_due = T0 + timedelta(hours=2)
    row = run(respond_due)  # at the due instant: not yet overdue
    assert row.respond_overdue_notified_at is None
    assert notified("escalation_respond_overdue") == []
    row = run(respond_due + SECOND)
    assert row.respond_overdue_notified_at == respond_due + SECOND
    assert row.resolve_overdue_notified_at is None
    expected = sorted([st.lead_user.id or 0, st.admin.id or 0, st.chair.id or 0, vice.id or 0])
    assert notified("escalation_respond_overdue") == expected
    run(respond_due + timedelta(minutes=5))
    assert notified("escalation_respond_overdue") == expected  # once
    row = run(resolve_due)
    assert row.resolve_overdue_notified_at is None
    row = run(resolve_due + SECOND)
    assert row.resolve_overdue_notified_at == resolve_due + SECOND
    run(resolve_due + timedelta(hours=1))
    assert notified("escalation_resolve_overdue") == expected
    assert row.respond_overdue_notified_at == respond_due + SECOND
