"""Display names of stages, phases, categories, scopes, sources and stances (for translation)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from app.issues.lifecycle import Phase, Stage
from app.issues.models import Category, Scope, Source, Stance
from app.web.i18n import N_, get_locale, gettext

K = TypeVar("K")

PHASE_LABELS = {
    Phase.PROPOSE: N_("民提"),
    Phase.DELIBERATE: N_("民议"),
    Phase.DECIDE: N_("民决"),
    Phase.IMPLEMENT: N_("民办"),
    Phase.EVALUATE: N_("民评"),
}
STAGE_LABELS = {
    Stage.COLLECTING: N_("征集中"),
    Stage.UNDER_REVIEW: N_("待审核"),
    Stage.REJECTED: N_("不予受理"),
    Stage.MERGED: N_("已合并"),
    Stage.WITHDRAWN: N_("已撤回"),
    Stage.DELIBERATING: N_("协商中"),
    Stage.DECIDING: N_("表决中"),
    Stage.PUBLICIZING: N_("公示中"),
    Stage.NOT_PASSED: N_("未通过"),
    Stage.IMPLEMENTING: N_("办理中"),
    Stage.EVALUATING: N_("评价中"),
    Stage.CLOSED: N_("已办结"),
}
CATEGORY_LABELS = {
    Category.PARKING: N_("停车管理"),
    Category.EBIKE: N_("电动自行车充电"),
    Category.ELEVATOR: N_("加装电梯 / 电梯更新"),
    Category.PROPERTY: N_("物业服务"),
    Category.SANITATION: N_("环境卫生 / 垃圾分类"),
    Category.GREENING: N_("绿化与公共空间"),
    Category.HEATING: N_("供暖 / 水电气"),
    Category.ELDERLY: N_("养老助老"),
    Category.SAFETY: N_("安全隐患"),
    Category.BUILDING: N_("房屋与设施维修"),
    Category.PETS: N_("文明养犬"),
    Category.NEIGHBOURHOOD: N_("邻里纠纷"),
    Category.ILLEGAL_BUILD: N_("违法建设 / 开墙打洞"),
    Category.CONVENTION: N_("居民公约 / 自治章程"),
    Category.OTHER: N_("其他"),
}
SCOPE_LABELS = {
    Scope.HALL: N_("全社区"),
    Scope.BUILDING: N_("一栋楼"),
    Scope.ENTRANCE: N_("一个单元"),
}
SOURCE_LABELS = {
    Source.RESIDENT: N_("居民提出"),
    Source.PAPER: N_("纸质意见"),
    Source.PHONE: N_("电话反映"),
    Source.HOTLINE: N_("12345 工单"),
}
STANCE_LABELS = {
    Stance.SUPPORT: N_("支持"),
    Stance.OPPOSE: N_("反对"),
    Stance.SUGGEST: N_("建议"),
    Stance.NEUTRAL: N_("中立"),
}
NOTIFICATION_LABELS = {
    "review_needed": N_("有议题等待您审核"),
    "reply": N_("有人回复了您的评论"),
    "merged": N_("议题已合并"),
    "meeting_scheduled": N_("会议通知"),
    "meeting_cancelled": N_("会议取消"),
    "meeting_rescheduled": N_("会议改期"),
    "ballot_open": N_("您有一项表决可以投票了"),
    "ballot_reminder": N_("表决快截止了，您还没有投票"),
    "ballot_passed": N_("您参加的表决已通过"),
    "ballot_failed": N_("您参加的表决未通过"),
    # 吹哨报到 (app.escalations.service)
    "escalation_raised": N_("社区吹哨，等待派单"),
    "escalation_dispatched": N_("街道派单，请及时报到"),
    "escalation_help_asked": N_("请求协办"),
    "escalation_resolved": N_("吹哨事项已办结"),
    "escalation_respond_overdue": N_("吹哨报到：报到已逾期"),
    "escalation_resolve_overdue": N_("吹哨报到：办结已逾期"),
    "evaluation_open": N_("请您评价议题的办理结果"),
    "evaluation_reopened": N_("满意度未达标，重新办理"),
    "task_overdue": N_("有办理任务已逾期"),
}


def translated(labels: Mapping[K, str]) -> Mapping[K, str]:
    """The labels in the current request's language: for a page that shows one per row, so
    that each is translated once per page rather than once per row; kept per table and
    language (the tables are this module's constants, never changed), read-only."""
    key = (id(labels), get_locale())
    found = _TRANSLATED.get(key)
    if found is None or found[0] is not labels:  # the table itself is kept: its id stays its
        table = MappingProxyType({k: gettext(text) for k, text in labels.items()})
        found = _TRANSLATED[key] = (labels, table)
    return found[1]


_TRANSLATED: dict[tuple[int, str], tuple[Mapping[Any, str], Mapping[Any, str]]] = {}


def notification_label(kind: str) -> str:
    """The untranslated msgid for a notification kind (stage changes share one per stage)."""
    if kind.startswith("stage:"):
        try:
            return STAGE_ANNOUNCE[Stage(kind.removeprefix("stage:"))]
        except ValueError:
            return N_("议题有新进展")
    return NOTIFICATION_LABELS.get(kind, N_("议题有新进展"))


STAGE_ANNOUNCE = {
    Stage.COLLECTING: N_("议题开始征集附议"),
    Stage.UNDER_REVIEW: N_("议题附议人数已达到，等待居委会审核"),
    Stage.REJECTED: N_("议题未被受理"),
    Stage.MERGED: N_("议题已合并到其他议题"),
    Stage.WITHDRAWN: N_("议题已被撤回"),
    Stage.DELIBERATING: N_("议题已受理，进入协商"),
    Stage.DECIDING: N_("协商结束，进入民决；有投票权的人会另收到投票通知"),
    Stage.PUBLICIZING: N_("表决通过，正在公示"),
    Stage.NOT_PASSED: N_("表决未通过"),
    Stage.IMPLEMENTING: N_("议题进入办理"),
    Stage.EVALUATING: N_("办理完成，请评价"),
    Stage.CLOSED: N_("议题已办结"),
}
