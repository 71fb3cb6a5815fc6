"""The in-app notices (the bell): every kind the app writes, what it says, what the reader can
do about it and where, and the one function that writes them (issue #14).

`NOTICES` is the registry: a kind not in it cannot be written (`send` raises), so a new notice
needs its row here, with its headline, its action and where the action is; the notification
matrix test (tests/services/test_notification_matrix.py) covers every kind of it.

Who hears what is decided at each call site (the use case knows the people involved); the
common rules are here: the actor never hears of their own action, and each person hears of
an event once.

Where the action is (`Notice.target`):
- `issue`      the issue page (its stage panel: vote, object, co-sign, comment …);
- `tasks`      the issue's 任务分工 (report progress on one's task);
- `evaluation` the issue's 民评 page (answer the round);
- `meeting`    the meeting's page (`Notification.meeting_id`; a cancelled meeting's page says
               so); a notice written before the column existed: the hall's meeting list;
- `escalation` a notice to a department's members (it names no issue): the reader's 部门待办;
               one to the hall's side (it names the issue: the chairs, the street's
               officials): the street's 吹哨派单 for its officials, else the issue page's
               吹哨报到 card — not the reader's own department, where this escalation may not
               be;
- `street`     the street's 吹哨派单 for its officials, else the issue page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from sqlmodel import Session

from app.issues.lifecycle import Stage
from app.issues.models import Notification
from app.web.i18n import N_
from app.web.links import url

Target = Literal["issue", "tasks", "evaluation", "meeting", "escalation", "street"]


@dataclass(frozen=True)
class Notice:
    label: str  # the headline (untranslated msgid)
    action: str  # what the reader can do, the link's text (untranslated msgid)
    target: Target


# The stages an issue can move to (an issue starts collecting without a move) and what its
# followers are told of it; a merge is told by the `merged` notice instead, which links to
# the issue it went into.
STAGE_NOTICES: Mapping[Stage, Notice] = {
    Stage.UNDER_REVIEW: Notice(N_("议题附议人数已达到，等待居委会审核"), N_("查看议题"), "issue"),
    Stage.REJECTED: Notice(N_("议题未被受理"), N_("查看不予受理的理由"), "issue"),
    Stage.WITHDRAWN: Notice(N_("议题已被撤回"), N_("查看议题"), "issue"),
    Stage.DELIBERATING: Notice(N_("议题进入协商"), N_("去发表意见、提出方案"), "issue"),
    Stage.DECIDING: Notice(
        N_("协商结束，进入民决；有投票权的人会另收到投票通知"),
        N_("查看协商意见"),
        "issue",
    ),
    Stage.PUBLICIZING: Notice(N_("表决通过，正在公示"), N_("查看决议，公示期内可提异议"), "issue"),
    Stage.NOT_PASSED: Notice(N_("表决未通过，议题结束"), N_("查看表决结果"), "issue"),
    Stage.IMPLEMENTING: Notice(N_("议题进入办理"), N_("查看任务分工和进展"), "tasks"),
    Stage.EVALUATING: Notice(N_("办理完成，进入民评"), N_("查看办理结果"), "evaluation"),
    Stage.CLOSED: Notice(N_("议题已办结"), N_("查看评价结果"), "evaluation"),
}


def stage_kind(stage: Stage) -> str:
    """The kind of the notice of an issue's move to `stage`."""
    return f"stage:{stage.value}"


_OTHERS: dict[str, Notice] = {
    # 民提 · 民议 (app.issues.service)
    "review_needed": Notice(N_("有议题等待您审核"), N_("去审核"), "issue"),
    "reply": Notice(N_("有人回复了您的评论"), N_("查看回复"), "issue"),
    "merged": Notice(N_("您关注的议题已合并到此议题"), N_("查看合并后的议题"), "issue"),
    "comment_hidden": Notice(N_("您的评论已被居委会隐藏"), N_("查看原因"), "issue"),
    # 协商会议 (app.meetings.service)
    "meeting_scheduled": Notice(N_("会议通知"), N_("查看会议，加入手机日历"), "meeting"),
    "meeting_agenda": Notice(N_("您关注的议题列入会议议程"), N_("查看会议"), "meeting"),
    "meeting_rescheduled": Notice(N_("会议改期"), N_("查看新的时间地点"), "meeting"),
    "meeting_cancelled": Notice(N_("会议取消"), N_("查看会议"), "meeting"),
    # 民决 (app.voting.service)
    "ballot_open": Notice(N_("您有一项表决可以投票了"), N_("去投票"), "issue"),
    "ballot_reminder": Notice(N_("表决快截止了，您还没有投票"), N_("去投票"), "issue"),
    "ballot_passed": Notice(N_("表决已通过，进入公示"), N_("查看决议，公示期内可提异议"), "issue"),
    "ballot_failed": Notice(N_("表决未通过"), N_("查看表决结果"), "issue"),
    "ballot_settle": Notice(N_("表决未通过，请决定结束议题或退回民议"), N_("去处理"), "issue"),
    "consensus_settle": Notice(N_("未能协商一致，请决定结束议题或退回民议"), N_("去处理"), "issue"),
    "consensus_failed": Notice(
        N_("未能协商一致，等待居委会决定下一步"), N_("查看协商结果"), "issue"
    ),
    "objection": Notice(N_("有人对公示提出异议，请答复"), N_("去答复异议"), "issue"),
    "objection_answered": Notice(N_("您的异议已答复"), N_("查看答复"), "issue"),
    # 民办 (app.tasks.service)
    "task_assigned": Notice(N_("您负责一项办理任务"), N_("查看任务，报告进展"), "tasks"),
    "task_overdue": Notice(N_("有办理任务已逾期"), N_("查看任务分工"), "tasks"),
    # 吹哨报到 (app.escalations.service)
    "escalation_raised": Notice(N_("社区吹哨，等待派单"), N_("去派单"), "street"),
    "escalation_withdrawn": Notice(N_("社区撤回了吹哨，无需派单"), N_("查看吹哨派单"), "street"),
    "escalation_dispatched": Notice(N_("街道派单，请及时报到"), N_("去报到"), "escalation"),
    "escalation_acknowledged": Notice(N_("部门已报到"), N_("查看吹哨进展"), "escalation"),
    "escalation_replied": Notice(N_("部门答复了吹哨事项"), N_("查看答复"), "escalation"),
    "escalation_help_asked": Notice(N_("请求协办"), N_("查看协办事项"), "escalation"),
    "escalation_resolved": Notice(N_("吹哨事项已办结"), N_("查看办理结果"), "escalation"),
    "escalation_respond_overdue": Notice(
        N_("吹哨报到：报到已逾期"), N_("查看吹哨事项"), "escalation"
    ),
    "escalation_resolve_overdue": Notice(
        N_("吹哨报到：办结已逾期"), N_("查看吹哨事项"), "escalation"
    ),
    # 民评 (app.evaluations.service)
    "evaluation_open": Notice(N_("请您评价议题的办理结果"), N_("去评价"), "evaluation"),
    "evaluation_reopened": Notice(N_("满意度未达标，重新办理"), N_("查看评价结果"), "evaluation"),
}

NOTICES: Mapping[str, Notice] = MappingProxyType(
    {stage_kind(stage): notice for stage, notice in STAGE_NOTICES.items()} | _OTHERS
)
UNKNOWN = Notice(N_("议题有新进展"), N_("查看"), "issue")


# The reader is in more than one department of the hall's street (see link).
SEVERAL = 0


def link(
    notification: Notification, *, department_id: int | None, street_id: int | None
) -> str | None:
    """The page where the reader of `notification` does what it asks: `department_id` is the
    reader's department in the hall's street (if any; SEVERAL: their home page, which lists
    each department's 部门待办), `street_id` the hall's street if the reader is one of its
    officials. A 吹哨 notice that names its issue was written to the hall's side: a chair who
    is also in a department of the street is sent to the issue, not to that department."""
    target = notice_of(notification.kind).target
    hall_id, issue_id = notification.hall_id, notification.issue_id
    if target == "meeting":
        if notification.meeting_id is None:  # written before notices named their meeting
            return url("meetings.list", hall_id=hall_id)
        return url("meetings.detail", hall_id=hall_id, meeting_id=notification.meeting_id)
    if target == "escalation" and issue_id is None:  # to a department's members
        if department_id == SEVERAL:
            return url("home")
        if department_id is not None:
            return url("escalations.department_inbox", department_id=department_id)
    if target in {"escalation", "street"} and street_id is not None:
        return url("escalations.street_inbox", street_id=street_id)
    if issue_id is None:
        return None
    if target == "tasks":
        return url("tasks.list", hall_id=hall_id, issue_id=issue_id)
    if target == "evaluation":
        return url("evaluations.page", hall_id=hall_id, issue_id=issue_id)
    page = url("issues.detail", hall_id=hall_id, issue_id=issue_id)
    if target in {"escalation", "street"}:  # the chairs follow it on the issue page's 吹哨报到 card
        return f"{page}#{ESCALATIONS_CARD.format(issue_id=issue_id)}"
    return page


# The id of the issue page's 吹哨报到 card (escalations/_issue_card.html).
ESCALATIONS_CARD = "issue-{issue_id}-escalations"


def notice_of(kind: str) -> Notice:
    """The kind's notice (a kind written by an older version and since retired: a plain one)."""
    return NOTICES.get(kind, UNKNOWN)


class UnknownNotice(ValueError):
    """A kind with no row in NOTICES: add the row (headline, action, target)."""


def send(
    session: Session,
    *,
    hall_id: int,
    user_ids: Iterable[int | None],
    kind: str,
    text: str,
    issue_id: int | None = None,
    meeting_id: int | None = None,
    actor_id: int | None = None,
) -> set[int]:
    """Write one notice of `kind` to each of `user_ids` but the actor (no commit); who got it."""
    if kind not in NOTICES:
        raise UnknownNotice(kind)
    if NOTICES[kind].target in {"issue", "tasks", "evaluation"} and issue_id is None:
        raise UnknownNotice(f"{kind} needs its issue")
    if NOTICES[kind].target == "meeting" and meeting_id is None:
        raise UnknownNotice(f"{kind} needs its meeting")
    readers = {uid for uid in user_ids if uid is not None}
    if actor_id is not None:
        readers.discard(actor_id)
    for user_id in sorted(readers):
        session.add(
            Notification(
                hall_id=hall_id,
                user_id=user_id,
                issue_id=issue_id,
                meeting_id=meeting_id,
                kind=kind,
                text=text[:200],
            )
        )
    return readers
