"""Use cases of 民提 and 民议.

Every public function owns its transaction, checks rights with issues.policies and the
stage with issues.lifecycle, and writes an audit event. `_advance_stage` is the only code
that assigns `Issue.stage`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.db import locked
from app.halls import queries as hall_queries
from app.halls.models import (
    Building,
    Entrance,
    Hall,
    Household,
    Membership,
)
from app.halls.policies import HallAccess
from app.issues import lifecycle, notices, photos, policies, schemas, search
from app.issues.lifecycle import Action, InvalidTransition, IssueFacts, Stage
from app.issues.models import (
    STANCE_COUNT_COLUMN,
    Comment,
    CommentReport,
    ConsultationOpinion,
    Cosign,
    Issue,
    IssuePhoto,
    Notification,
    Scope,
    Solution,
    Source,
    StageEvent,
    Stance,
)


def _require(allowed: bool, code: str = "not_allowed") -> None:
    if not allowed:
        raise NotAllowed(code)


def _load(session: Session, access: HallAccess, issue_id: int, *, lock: bool = False) -> Issue:
    """The hall's issue; `lock` holds its row (PostgreSQL) so the stage read stays true."""
    query = select(Issue).where(Issue.id == issue_id, Issue.hall_id == access.hall_id)
    issue = session.exec(locked(query) if lock else query).first()
    if issue is None:
        raise NotFound("not_found")
    return issue


def _action(issue: Issue, action: Action) -> None:
    try:
        lifecycle.require_action(issue.stage, action)
    except InvalidTransition as exc:
        raise Conflict(exc.reason.value) from None


def _hall(session: Session, hall_id: int) -> Hall:
    hall = session.get(Hall, hall_id)
    assert hall is not None
    return hall


def _facts(session: Session, issue: Issue, hall: Hall, **extra: object) -> IssueFacts:
    solutions = session.exec(
        select(func.count()).select_from(Solution).where(Solution.issue_id == issue.id)
    ).one()
    has_opinion = (
        session.exec(
            select(ConsultationOpinion.id).where(ConsultationOpinion.issue_id == issue.id).limit(1)
        ).first()
        is not None
    )
    values: dict[str, object] = {
        "now": clock.now(),
        "cosigns": issue.cosign_count,
        "cosign_threshold": hall.cosign_threshold,
        "has_opinion": has_opinion,
        "solutions": solutions,
    }
    values.update(extra)
    return IssueFacts(**values)  # type: ignore[arg-type]


_PROPOSING = frozenset({Stage.COLLECTING, Stage.UNDER_REVIEW})
_ANSWERED = frozenset({Stage.DELIBERATING, Stage.REJECTED, Stage.MERGED})


def _advance_stage(
    session: Session,
    *,
    issue: Issue,
    target: Stage,
    actor_id: int | None,
    facts: IssueFacts,
    note: str = "",
    also: Iterable[int] = (),
    told: Iterable[int] = (),
) -> None:
    """The one place an issue changes stage: guard, assign, timeline, audit, notify (no commit).

    The issue's followers (and `also`) hear of the move, but the actor and those `told` of
    it by a notice of the event itself (a ballot's result, a merge, a round of 民评)."""
    try:
        lifecycle.check_transition(issue.stage, target, facts)
    except InvalidTransition as exc:
        raise Conflict(exc.reason.value) from None
    before = issue.stage
    now = clock.now()
    issue.stage = target
    issue.stage_changed_at = now
    if before in _PROPOSING and target in _ANSWERED and issue.reviewed_at is None:
        issue.reviewed_at = now  # the chair answered the proposal: the hall's 响应率
    session.add(issue)
    session.add(
        StageEvent(
            hall_id=issue.hall_id,
            issue_id=issue.id or 0,
            from_stage=before,
            to_stage=target,
            actor_id=actor_id,
            note=note,
            at=now,
        )
    )
    audit.record(
        session,
        action="issues.advance_issue_stage",
        actor_id=actor_id,
        hall_id=issue.hall_id,
        subject_type="issue",
        subject_id=issue.id,
        data={"from": before.value, "to": target.value},
    )
    if target in notices.STAGE_NOTICES:
        _notify(
            session,
            issue,
            (followers_of(session, [issue.id or 0]) | set(also)) - set(told),
            kind=notices.stage_kind(target),
            exclude=actor_id,
        )


def _notify(
    session: Session,
    issue: Issue,
    user_ids: Iterable[int],
    *,
    kind: str,
    exclude: int | None = None,
    text: str | None = None,
) -> set[int]:
    return notices.send(
        session,
        hall_id=issue.hall_id,
        user_ids=user_ids,
        kind=kind,
        text=text or issue.title,
        issue_id=issue.id,
        actor_id=exclude,
    )


# --- 民提 -----------------------------------------------------------------------------------


def _check_proposal(
    session: Session, access: HallAccess, form: schemas.ProposeForm
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := schemas.text_problem(form.title, maximum=schemas.TITLE_MAX):
        errors["title"] = problem
    if problem := schemas.text_problem(form.description, maximum=schemas.BODY_MAX):
        errors["description"] = problem
    if form.category is None:
        errors["category"] = "required"
    if problem := schemas.text_problem(form.location, maximum=100, required=False):
        errors["location"] = problem
    if form.scope == Scope.BUILDING:
        ok = (
            form.scope_building_id is not None
            and session.exec(
                select(Building.id).where(
                    Building.id == form.scope_building_id, Building.hall_id == access.hall_id
                )
            ).first()
        )
        if not ok:
            errors["scope_building_id"] = "required"
    elif form.scope == Scope.ENTRANCE:
        ok = (
            form.scope_entrance_id is not None
            and session.exec(
                select(Entrance.id).where(
                    Entrance.id == form.scope_entrance_id, Entrance.hall_id == access.hall_id
                )
            ).first()
        )
        if not ok:
            errors["scope_entrance_id"] = "required"
    return errors


def _create_issue(
    session: Session,
    *,
    access: HallAccess,
    actor: User,
    form: schemas.ProposeForm,
    uploads: Sequence[bytes],
    stage: Stage,
    source: Source,
    work_order_no: str | None,
) -> Issue:
    errors = _check_proposal(session, access, form)
    if len(uploads) > schemas.MAX_PHOTOS:
        errors["photos"] = "too_many_photos"
    encoded: list[photos.Photo] = []
    for raw in uploads:
        try:
            encoded.append(photos.reencode(raw))
        except photos.PhotoRejected as exc:
            errors["photos"] = exc.code
            break
    if errors:
        raise ValidationFailed(errors)
    assert form.category is not None
    hall = _hall(session, access.hall_id)
    now = clock.now()
    issue = Issue(
        hall_id=access.hall_id,
        title=form.title.strip(),
        description=form.description.strip(),
        category=form.category,
        scope=form.scope,
        scope_building_id=form.scope_building_id if form.scope == Scope.BUILDING else None,
        scope_entrance_id=form.scope_entrance_id if form.scope == Scope.ENTRANCE else None,
        location=form.location.strip(),
        stage=stage,
        proposer_id=actor.id or 0,
        source=source,
        work_order_no=work_order_no,
        entered_by_id=actor.id if source != Source.RESIDENT else None,
        created_at=now,
        stage_changed_at=now,
        review_due_at=now + timedelta(days=hall.review_sla_days)
        if stage == Stage.UNDER_REVIEW
        else None,
        search_text=search.index_text(form.title, form.description, form.location),
    )
    session.add(issue)
    session.flush()
    for photo in encoded:
        session.add(
            IssuePhoto(
                hall_id=issue.hall_id,
                issue_id=issue.id or 0,
                content_type=photo.content_type,
                data=photo.data,
                width=photo.width,
                height=photo.height,
            )
        )
    session.add(
        StageEvent(
            hall_id=issue.hall_id,
            issue_id=issue.id or 0,
            from_stage=None,
            to_stage=stage,
            actor_id=actor.id,
            at=now,
        )
    )
    return issue


def propose_issue(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    form: schemas.ProposeForm,
    uploads: Sequence[bytes] = (),
) -> Issue:
    """A verified member proposes an issue; it starts collecting co-signatures.

    Rules:
    - title ≤ 60 characters, description ≤ 5,000, a category from DOMAIN.md §7.2;
    - the scope (whole hall, one building, one entrance) decides who may co-sign;
    - up to 6 photos (JPEG / PNG / WebP ≤ 5 MB), re-encoded without EXIF or GPS.

    Raises: NotAllowed, ValidationFailed (per field).
    """
    _require(policies.can_propose(access))
    issue = _create_issue(
        session,
        access=access,
        actor=actor,
        form=form,
        uploads=uploads,
        stage=Stage.COLLECTING,
        source=Source.RESIDENT,
        work_order_no=None,
    )
    audit.record(
        session,
        action="issues.propose_issue",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="issue",
        subject_id=issue.id,
        data={"category": issue.category.value, "photos": len(uploads)},
    )
    session.commit()
    return issue


def enter_issue_on_behalf(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    form: schemas.OnBehalfIssueForm,
    uploads: Sequence[bytes] = (),
) -> Issue:
    """The chair enters an issue from paper, a phone call or a 12345 work order.

    Rules: the source is recorded (and the 工单号 for 12345); it goes straight to review,
    since the chair has received it through an official channel; the hall's other chairs are
    told it waits for review, as when a resident's proposal reaches it; audited.
    Raises: NotAllowed, ValidationFailed.
    """
    _require(policies.can_review(access))
    work_order = form.work_order_no.strip()
    if form.source == Source.HOTLINE and not work_order:
        raise ValidationFailed({"work_order_no": "required"})
    if len(work_order) > 40:
        raise ValidationFailed({"work_order_no": "too_long"})
    issue = _create_issue(
        session,
        access=access,
        actor=actor,
        form=form,
        uploads=uploads,
        stage=Stage.UNDER_REVIEW,
        source=form.source,
        work_order_no=work_order or None,
    )
    audit.record(
        session,
        action="issues.enter_issue_on_behalf",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="issue",
        subject_id=issue.id,
        data={"source": form.source.value, "work_order_no": work_order or None},
    )
    notify_chairs(session, issue, kind="review_needed", exclude=actor.id)
    session.commit()
    return issue


def _in_scope(session: Session, issue: Issue, access: HallAccess) -> bool:
    if issue.scope == Scope.HALL:
        return True
    row = session.exec(
        select(Household.entrance_id, Entrance.building_id)
        .join(Membership, col(Membership.household_id) == Household.id)
        .join(Entrance, col(Entrance.id) == Household.entrance_id)
        .where(Membership.id == access.membership_id, Membership.hall_id == issue.hall_id)
    ).first()
    if row is None:
        return False
    entrance_id, building_id = row
    if issue.scope == Scope.BUILDING:
        return building_id == issue.scope_building_id
    return entrance_id == issue.scope_entrance_id


def _review_if_threshold_reached(
    session: Session, issue: Issue, *, by: int | None, told: frozenset[int] = frozenset()
) -> None:
    """A collecting issue at the hall's co-sign threshold goes to 待审核; the chairs are told,
    and the followers but the one (`by`) whose co-signature or merge took it there, and those
    (`told`) who hear of it otherwise (a merge's followers get its `merged` notice)."""
    hall = _hall(session, issue.hall_id)
    if issue.stage != Stage.COLLECTING or issue.cosign_count < hall.cosign_threshold:
        return
    chairs = hall_queries.chair_ids(session, hall_id=issue.hall_id)
    _advance_stage(
        session,
        issue=issue,
        target=Stage.UNDER_REVIEW,
        actor_id=None,
        facts=_facts(session, issue, hall),
        note="cosign_threshold_reached",
        told=chairs | told | ({by} if by is not None else set()),  # a co-signing chair: once
    )
    issue.review_due_at = clock.now() + timedelta(days=hall.review_sla_days)
    _notify(session, issue, chairs, kind="review_needed")


def cosign_issue(*, session: Session, access: HallAccess, actor: User, issue_id: int) -> Issue:
    """附议: a member in scope supports a proposal; at the threshold it goes to review.

    Rules:
    - only while collecting; one co-signature per person (a database unique constraint);
    - only members whose household is in the issue's scope; not the proposer;
    - reaching the hall's threshold moves the issue to 待审核 at once and tells the chair.

    Raises: NotAllowed, NotFound, Conflict("stage_action_not_allowed" | "already_cosigned").
    """
    _require(access.is_verified)
    # Locked: a co-signer who waited for the one that reached the threshold sees 待审核.
    issue = _load(session, access, issue_id, lock=True)
    _action(issue, Action.COSIGN)
    if issue.proposer_id == actor.id:
        raise Conflict("own_issue")
    if not _in_scope(session, issue, access):
        raise NotAllowed("out_of_scope")
    session.add(Cosign(hall_id=issue.hall_id, issue_id=issue.id or 0, user_id=actor.id or 0))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("already_cosigned") from None
    # Counted in SQL, not read-modify-write, so concurrent co-signers never lose an increment.
    session.exec(
        update(Issue).where(col(Issue.id) == issue.id).values(cosign_count=Issue.cosign_count + 1)
    )
    session.refresh(issue)
    audit.record(
        session,
        action="issues.cosign_issue",
        actor_id=actor.id,
        hall_id=issue.hall_id,
        subject_type="issue",
        subject_id=issue.id,
        data={"count": issue.cosign_count},
    )
    _review_if_threshold_reached(session, issue, by=actor.id)
    session.commit()
    return issue


def withdraw_cosign(*, session: Session, access: HallAccess, actor: User, issue_id: int) -> Issue:
    """Take a co-signature back, while the issue is still collecting.

    Raises: NotFound, Conflict("stage_action_not_allowed" | "not_cosigned").
    """
    issue = _load(session, access, issue_id, lock=True)
    _action(issue, Action.WITHDRAW_COSIGN)
    result = session.exec(
        delete(Cosign).where(col(Cosign.issue_id) == issue.id, col(Cosign.user_id) == actor.id)
    )
    if result.rowcount != 1:
        session.rollback()
        raise Conflict("not_cosigned")
    session.exec(
        update(Issue).where(col(Issue.id) == issue.id).values(cosign_count=Issue.cosign_count - 1)
    )
    session.refresh(issue)
    audit.record(
        session,
        action="issues.withdraw_cosign",
        actor_id=actor.id,
        hall_id=issue.hall_id,
        subject_type="issue",
        subject_id=issue.id,
        data={"count": issue.cosign_count},
    )
    session.commit()
    return issue


def withdraw_issue(*, session: Session, access: HallAccess, actor: User, issue_id: int) -> Issue:
    """The proposer takes their proposal back (while collecting or awaiting review).

    Raises: NotFound, NotAllowed (not the proposer), Conflict (stage).
    """
    issue = _load(session, access, issue_id)
    _require(issue.proposer_id == actor.id)
    _action(issue, Action.WITHDRAW)
    _advance_stage(
        session,
        issue=issue,
        target=Stage.WITHDRAWN,
        actor_id=actor.id,
        facts=_facts(session, issue, _hall(session, issue.hall_id)),
    )
    session.commit()
    return issue


def accept_issue(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.AcceptForm
) -> Issue:
    """The chair accepts (受理) an issue into 民议, optionally with a deliberation deadline.

    Raises: NotAllowed, NotFound, ValidationFailed({"deliberation_days": …}), Conflict (stage).
    """
    _require(policies.can_review(access))
    issue = _load(session, access, issue_id)
    days_raw = form.deliberation_days.strip()
    days: int | None = None
    if days_raw:
        try:
            days = int(days_raw)
        except ValueError:
            raise ValidationFailed({"deliberation_days": "integer_required"}) from None
        if not 1 <= days <= 180:
            raise ValidationFailed({"deliberation_days": "out_of_range"})
    _advance_stage(
        session,
        issue=issue,
        target=Stage.DELIBERATING,
        actor_id=actor.id,
        facts=_facts(session, issue, _hall(session, issue.hall_id)),
    )
    issue.deliberation_deadline = clock.now() + timedelta(days=days) if days else None
    session.commit()
    return issue


def reject_issue(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.ReasonForm
) -> Issue:
    """The chair declines (不予受理) an issue with a reason the proposer and co-signers see.

    Raises: NotAllowed, NotFound, ValidationFailed({"reason": …}), Conflict (stage).
    """
    _require(policies.can_review(access))
    if problem := schemas.text_problem(form.reason, maximum=schemas.REASON_MAX):
        raise ValidationFailed({"reason": problem})
    issue = _load(session, access, issue_id)
    _action(issue, Action.REVIEW)
    _advance_stage(
        session,
        issue=issue,
        target=Stage.REJECTED,
        actor_id=actor.id,
        facts=_facts(session, issue, _hall(session, issue.hall_id), reason_given=True),
        note=form.reason.strip(),
    )
    session.commit()
    return issue


def merge_issue(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.MergeForm
) -> Issue:
    """The chair merges a duplicate into another open issue of the hall.

    Rules: the target is another issue of the same hall in a stage that takes a merge
    (lifecycle.MERGE_TARGETS: not one that has ended); co-signers are carried over (once each; the target's proposer is not added), and
    if that brings a collecting target to the threshold it goes to review; everyone who
    followed the duplicate is told where it went.
    Raises: NotAllowed, NotFound, ValidationFailed({"target_id": …}), Conflict (stage).
    """
    _require(policies.can_review(access))
    issue = _load(session, access, issue_id)
    _action(issue, Action.REVIEW)
    target = (
        session.exec(
            select(Issue).where(Issue.id == form.target_id, Issue.hall_id == access.hall_id)
        ).first()
        if form.target_id
        else None
    )
    # The rule list_merge_targets offers by: the hall's others that still take a merge.
    if target is None or target.id == issue.id or target.stage not in lifecycle.MERGE_TARGETS:
        raise ValidationFailed({"target_id": "merge_target_invalid"})
    followers = followers_of(session, [issue.id or 0])
    _advance_stage(
        session,
        issue=issue,
        target=Stage.MERGED,
        actor_id=actor.id,
        facts=_facts(session, issue, _hall(session, issue.hall_id), merge_target_id=target.id),
        note=str(target.id),
    )
    issue.merged_into_id = target.id
    already = set(session.exec(select(Cosign.user_id).where(Cosign.issue_id == target.id)).all())
    carried = sorted(
        set(session.exec(select(Cosign.user_id).where(Cosign.issue_id == issue.id)).all())
        - already
        - {target.proposer_id}
    )
    for user_id in carried:
        session.add(Cosign(hall_id=target.hall_id, issue_id=target.id or 0, user_id=user_id))
    session.flush()
    session.exec(
        update(Issue)
        .where(col(Issue.id) == target.id)
        .values(cosign_count=Issue.cosign_count + len(carried))
    )
    session.refresh(target)
    # The carried co-signatures count like any others: the threshold sends it to review.
    _review_if_threshold_reached(session, target, by=actor.id, told=frozenset(followers))
    # No stage notice for a merge: this one tells the followers, with the link to where it went.
    _notify(session, target, followers, kind="merged", exclude=actor.id)
    audit.record(
        session,
        action="issues.merge_issue",
        actor_id=actor.id,
        hall_id=issue.hall_id,
        subject_type="issue",
        subject_id=issue.id,
        data={"into": target.id, "carried": len(carried)},
    )
    session.commit()
    return issue


# --- 民议 -----------------------------------------------------------------------------------


def _stance_count(stance: Stance, delta: int) -> dict[str, object]:
    """UPDATE values moving the issue's count of visible `stance` comments by `delta` (in SQL)."""
    column = STANCE_COUNT_COLUMN[stance]
    return {column: getattr(Issue, column) + delta}


def add_comment(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.CommentForm
) -> Comment:
    """A member comments with a stance (支持 / 反对 / 建议 / 中立), or replies to a comment.

    Rules: replies go one level deep (a reply to a reply attaches to its parent);
    the author replied to and the author of the thread's top comment are told of the reply.
    Raises: NotAllowed, NotFound, ValidationFailed({"body": …}), Conflict (stage).
    """
    _require(policies.can_take_part(access))
    if problem := schemas.text_problem(form.body, maximum=schemas.COMMENT_MAX):
        raise ValidationFailed({"body": problem})
    issue = _load(session, access, issue_id)
    _action(issue, Action.COMMENT)
    parent: Comment | None = None
    answered: set[int] = set()  # the author replied to, and the author of the thread
    if form.parent_id is not None:
        parent = session.exec(
            select(Comment).where(Comment.id == form.parent_id, Comment.issue_id == issue.id)
        ).first()
        if parent is None:
            raise ValidationFailed({"parent_id": "comment_unknown"})
        answered.add(parent.author_id)
        if parent.parent_id is not None:
            parent = session.get(Comment, parent.parent_id)
            assert parent is not None
            answered.add(parent.author_id)
    comment = Comment(
        hall_id=issue.hall_id,
        issue_id=issue.id or 0,
        parent_id=parent.id if parent else None,
        author_id=actor.id or 0,
        stance=form.stance,
        body=form.body.strip(),
    )
    session.add(comment)
    # A reply answers a comment and takes no stance of its own: it counts as a comment, not
    # as 中立 (issue #14); the stance counts are the visible top comments'.
    stance = _stance_count(form.stance, 1) if parent is None else {}
    session.exec(
        update(Issue)
        .where(col(Issue.id) == issue.id)
        .values(comment_count=Issue.comment_count + 1, **stance)
    )
    session.flush()
    if answered:
        _notify(session, issue, answered, kind="reply", exclude=actor.id)
    audit.record(
        session,
        action="issues.add_comment",
        actor_id=actor.id,
        hall_id=issue.hall_id,
        subject_type="comment",
        subject_id=comment.id,
        data={"issue": issue.id, "stance": form.stance.value},
    )
    session.commit()
    return comment


def _comment(
    session: Session, access: HallAccess, comment_id: int, *, lock: bool = False
) -> Comment:
    """The hall's comment; `lock` holds its row (PostgreSQL) so hidden-or-not stays true."""
    query = select(Comment).where(Comment.id == comment_id, Comment.hall_id == access.hall_id)
    comment = session.exec(locked(query) if lock else query).first()
    if comment is None:
        raise NotFound("not_found")
    return comment


def edit_comment(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    comment_id: int,
    form: schemas.EditCommentForm,
) -> Comment:
    """The author corrects their comment within 10 minutes; it is then marked 已编辑.

    Raises: NotFound, NotAllowed("edit_window_over"), ValidationFailed.
    """
    comment = _comment(session, access, comment_id)
    if not policies.can_edit_comment(
        access, author_id=comment.author_id, created_at=comment.created_at, now=clock.now()
    ):
        raise NotAllowed("edit_window_over")
    if problem := schemas.text_problem(form.body, maximum=schemas.COMMENT_MAX):
        raise ValidationFailed({"body": problem})
    comment.body = form.body.strip()
    comment.edited_at = clock.now()
    audit.record(
        session,
        action="issues.edit_comment",
        actor_id=actor.id,
        hall_id=comment.hall_id,
        subject_type="comment",
        subject_id=comment.id,
    )
    session.commit()
    return comment


def report_comment(
    *, session: Session, access: HallAccess, actor: User, comment_id: int, form: schemas.ReasonForm
) -> CommentReport:
    """Any member reports a comment to the chair's moderation queue, with a reason.

    Raises: NotFound, ValidationFailed, Conflict("already_reported").
    """
    _require(policies.can_take_part(access))
    if problem := schemas.text_problem(form.reason, maximum=schemas.REASON_MAX):
        raise ValidationFailed({"reason": problem})
    comment = _comment(session, access, comment_id)
    report = CommentReport(
        hall_id=comment.hall_id,
        comment_id=comment.id or 0,
        reporter_id=actor.id or 0,
        reason=form.reason.strip(),
    )
    session.add(report)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("already_reported") from None
    audit.record(
        session,
        action="issues.report_comment",
        actor_id=actor.id,
        hall_id=comment.hall_id,
        subject_type="comment",
        subject_id=comment.id,
    )
    session.commit()
    return report


def _moderate(
    session: Session, comment: Comment, *, actor: User, reason: str | None, action: str
) -> None:
    """Hide (with a reason) or show a comment; either way its open reports are resolved.

    Hiding a visible top comment or showing a hidden one moves the issue's stance count with it
    (a reply is in no stance count).
    """
    now = clock.now()
    hide = reason is not None
    if comment.parent_id is None and hide == (comment.hidden_at is None):
        session.exec(
            update(Issue)
            .where(col(Issue.id) == comment.issue_id)
            .values(**_stance_count(comment.stance, -1 if hide else 1))
        )
    comment.hidden_at = now if reason is not None else None
    comment.hidden_reason = reason
    comment.hidden_by_id = actor.id if reason is not None else None
    session.exec(
        update(CommentReport)
        .where(
            col(CommentReport.comment_id) == comment.id, col(CommentReport.resolved_at).is_(None)
        )
        .values(resolved_at=now)
    )
    audit.record(
        session,
        action=action,
        actor_id=actor.id,
        hall_id=comment.hall_id,
        subject_type="comment",
        subject_id=comment.id,
        data={"reason": reason} if reason is not None else None,
    )


def hide_comment(
    *, session: Session, access: HallAccess, actor: User, comment_id: int, form: schemas.ReasonForm
) -> Comment:
    """The chair hides a comment; it shows as 已隐藏 with the reason. Open reports are resolved.

    Raises: NotAllowed, NotFound, ValidationFailed({"reason": …}).
    """
    _require(policies.can_review(access))
    if problem := schemas.text_problem(form.reason, maximum=schemas.REASON_MAX):
        raise ValidationFailed({"reason": problem})
    comment = _comment(session, access, comment_id, lock=True)
    reason = form.reason.strip()
    # Hidden already for this reason (a second tap, a double submit): its author heard of it.
    told_already = comment.hidden_at is not None and comment.hidden_reason == reason
    _moderate(session, comment, actor=actor, reason=reason, action="issues.hide_comment")
    issue = session.get(Issue, comment.issue_id)
    assert issue is not None
    if not told_already:  # its author is told why (the page shows the reason in its place)
        _notify(
            session,
            issue,
            {comment.author_id},
            kind="comment_hidden",
            exclude=actor.id,
            text=f"{issue.title}：{reason}",
        )
    session.commit()
    return comment


def restore_comment(
    *, session: Session, access: HallAccess, actor: User, comment_id: int
) -> Comment:
    """The chair shows a hidden comment again, or dismisses the reports on a visible one."""
    _require(policies.can_review(access))
    comment = _comment(session, access, comment_id, lock=True)
    _moderate(session, comment, actor=actor, reason=None, action="issues.restore_comment")
    session.commit()
    return comment


def add_solution(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.SolutionForm
) -> Solution:
    """A member or the chair proposes a 方案 (title, description, optional estimated cost).

    Raises: NotAllowed, NotFound, ValidationFailed, Conflict (stage).
    """
    _require(policies.can_take_part(access))
    errors: dict[str, str] = {}
    if problem := schemas.text_problem(form.title, maximum=schemas.TITLE_MAX):
        errors["title"] = problem
    if problem := schemas.text_problem(form.description, maximum=schemas.BODY_MAX):
        errors["description"] = problem
    cost: int | None = None
    if form.estimated_cost.strip():
        cost = schemas.parse_yuan(form.estimated_cost)
        if cost is None:
            errors["estimated_cost"] = "amount_invalid"
    if errors:
        raise ValidationFailed(errors)
    issue = _load(session, access, issue_id)
    _action(issue, Action.ADD_SOLUTION)
    solution = Solution(
        hall_id=issue.hall_id,
        issue_id=issue.id or 0,
        author_id=actor.id or 0,
        title=form.title.strip(),
        description=form.description.strip(),
        estimated_cost_fen=cost,
    )
    session.add(solution)
    session.flush()
    audit.record(
        session,
        action="issues.add_solution",
        actor_id=actor.id,
        hall_id=issue.hall_id,
        subject_type="solution",
        subject_id=solution.id,
        data={"issue": issue.id, "cost_fen": cost},
    )
    session.commit()
    return solution


def close_deliberation(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.CloseForm
) -> Issue:
    """The chair closes 民议 with a 协商意见 and picks the 方案 that go to the decision.

    Rules: points of agreement, and points of disagreement with how they were answered, are
    both required; at least one 方案 of this issue must be chosen; the issue moves to 民决.
    Raises: NotAllowed, NotFound, ValidationFailed, Conflict (stage).
    """
    _require(policies.can_review(access))
    errors: dict[str, str] = {}
    if problem := schemas.text_problem(form.agreements, maximum=schemas.BODY_MAX):
        errors["agreements"] = problem
    if problem := schemas.text_problem(form.disagreements, maximum=schemas.BODY_MAX):
        errors["disagreements"] = problem
    issue = _load(session, access, issue_id)
    _action(issue, Action.CLOSE_DELIBERATION)
    solutions = session.exec(select(Solution).where(Solution.issue_id == issue.id)).all()
    picked = set(form.solution_ids or [])
    if not any(solution.id in picked for solution in solutions):
        errors["solution_ids"] = "solution_required"
    if errors:
        raise ValidationFailed(errors)
    # The 方案 that go to this round's decision are those chosen now, not an earlier round's.
    for solution in solutions:
        solution.selected = solution.id in picked
    session.add(
        ConsultationOpinion(
            issue_id=issue.id or 0,
            hall_id=issue.hall_id,
            agreements=form.agreements.strip(),
            disagreements=form.disagreements.strip(),
            author_id=actor.id or 0,
        )
    )
    session.flush()
    _advance_stage(
        session,
        issue=issue,
        target=Stage.DECIDING,
        actor_id=actor.id,
        facts=_facts(session, issue, _hall(session, issue.hall_id)),
    )
    session.commit()
    return issue


def mark_notifications_read(*, session: Session, user: User, hall_id: int | None = None) -> int:
    """Mark the person's notifications read (not audited: it changes nothing of anyone else's)."""
    query = update(Notification).where(
        col(Notification.user_id) == user.id, col(Notification.read_at).is_(None)
    )
    if hall_id is not None:
        query = query.where(col(Notification.hall_id) == hall_id)
    count = session.exec(query.values(read_at=clock.now())).rowcount
    session.commit()
    return int(count)


# --- hooks for 民决 (app.voting.service owns those transactions) --------------------------------


def advance_for_decision(
    session: Session,
    *,
    issue: Issue,
    target: Stage,
    actor_id: int | None,
    note: str = "",
    facts: Mapping[str, object],
    also: Iterable[int] = (),
    told: Iterable[int] = (),
) -> None:
    """Move an issue on after a decision, 公示 or 异议, and in 民办 · 民评 when its tasks are
    done or an evaluation round closes (no commit: the caller's transaction). The stage
    notice goes to the followers and `also`, but not to those `told` of the event already."""
    _advance_stage(
        session,
        issue=issue,
        target=target,
        actor_id=actor_id,
        facts=_facts(session, issue, _hall(session, issue.hall_id), **facts),
        note=note,
        also=also,
        told=told,
    )


def notify_chairs(
    session: Session,
    issue: Issue,
    *,
    kind: str,
    text: str | None = None,
    exclude: int | None = None,
) -> set[int]:
    """Notices to the hall's chairs about the issue, but `exclude` (the actor); who got one."""
    return _notify(
        session,
        issue,
        hall_queries.chair_ids(session, hall_id=issue.hall_id),
        kind=kind,
        text=text,
        exclude=exclude,
    )


def notify_users(
    session: Session,
    issue: Issue,
    user_ids: Iterable[int],
    *,
    kind: str,
    text: str | None = None,
    exclude: int | None = None,
) -> set[int]:
    """Notices to these people about the issue, but `exclude` (the actor); who got one.
    `text` (default: the issue's title) is what the notice names, e.g. a ballot's title."""
    return _notify(session, issue, user_ids, kind=kind, text=text, exclude=exclude)


def followers_of(session: Session, issue_ids: Iterable[int]) -> set[int]:
    """Who follows these issues: their proposers, co-signers and commenters, in one statement
    however many issues (a meeting's agenda)."""
    ids = list(issue_ids)
    rows = session.execute(
        sa.union(
            select(Issue.proposer_id).where(col(Issue.id).in_(ids)),
            select(Cosign.user_id).where(col(Cosign.issue_id).in_(ids)),
            select(Comment.author_id).where(col(Comment.issue_id).in_(ids)),
        )
    ).all()
    return {row[0] for row in rows}
