"""Words for 吹哨报到, marked for translation."""

from __future__ import annotations

from datetime import timedelta

from app.escalations.deadlines import (
    DEFAULTS,
    DeadlineState,
    EscalationStatus,
    StepKind,
    Urgency,
)
from app.escalations.models import WhistleCategory
from app.escalations.policies import Part
from app.web.i18n import N_, gettext

URGENCY_LABELS = {
    Urgency.EMERGENCY: N_("紧急"),
    Urgency.UTILITIES: N_("水电气热"),
    Urgency.GENERAL: N_("一般"),
    Urgency.COMPLEX: N_("复杂疑难"),
}
URGENCY_EXPLAINED = {
    Urgency.EMERGENCY: N_("突发事件，危及生命财产安全"),
    Urgency.UTILITIES: N_("停水停电、供气供暖等及时性诉求"),
    Urgency.GENERAL: N_("一般诉求"),
    Urgency.COMPLEX: N_("涉及多个部门、需要协调的复杂疑难诉求"),
}
CATEGORY_LABELS = {
    WhistleCategory.DEMAND: N_("群众诉求"),
    WhistleCategory.KEY_WORK: N_("重点工作"),
    WhistleCategory.ENFORCEMENT: N_("综合执法"),
    WhistleCategory.EMERGENCY: N_("应急处置"),
}
STATUS_LABELS = {
    EscalationStatus.RAISED: N_("已吹哨，待派单"),
    EscalationStatus.DISPATCHED: N_("已派单，待报到"),
    EscalationStatus.ACKNOWLEDGED: N_("已报到，办理中"),
    EscalationStatus.RESOLVED: N_("已办结"),
}
STEP_LABELS = {
    StepKind.RAISED: N_("吹哨"),
    StepKind.DISPATCHED: N_("派单"),
    StepKind.ACKNOWLEDGED: N_("报到"),
    StepKind.REPLIED: N_("答复"),
    StepKind.HELP_ASKED: N_("请求协办"),
    StepKind.RESOLVED: N_("办结"),
    StepKind.WITHDRAWN: N_("撤回"),
}
STATE_LABELS = {
    DeadlineState.NOT_DUE: N_("未到期"),
    DeadlineState.DUE_SOON: N_("即将到期"),
    DeadlineState.OVERDUE: N_("已逾期"),
    DeadlineState.MET: N_("按时"),
    DeadlineState.LATE: N_("超时"),
}
PART_LABELS = {Part.LEAD: N_("承办"), Part.HELPER: N_("协办")}
FILTER_LABELS = {
    "open": N_("未办结"),
    "raised": N_("待派单"),
    "dispatched": N_("待报到"),
    "acknowledged": N_("办理中"),
    "resolved": N_("已办结"),
    "overdue": N_("已逾期"),
    "all": N_("全部"),
}
UNIT_LABELS = {"minutes": N_("分钟"), "hours": N_("小时"), "days": N_("天")}


def span(minutes: int) -> str:
    """A window or a delay in the largest whole unit: 30 分钟, 2 小时, 7 天, 1 天 3 小时."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(gettext("%(n)s 天") % {"n": days})
    if hours:
        parts.append(gettext("%(n)s 小时") % {"n": hours})
    if mins or not parts:
        parts.append(gettext("%(n)s 分钟") % {"n": mins})
    return " ".join(parts)


def delta(value: timedelta | None) -> str:
    """How long over or left, to the minute (a part-minute counts as a whole one)."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    return span(-(-seconds // 60))


def as_typed(minutes: int) -> tuple[int, str]:
    """A window as the form shows it: in days, hours or minutes, whichever divides it."""
    if minutes % (24 * 60) == 0:
        return minutes // (24 * 60), "days"
    if minutes % 60 == 0:
        return minutes // 60, "hours"
    return minutes, "minutes"


DEFAULT_WINDOWS = DEFAULTS
