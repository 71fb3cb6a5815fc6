"""Display names of stages, phases, categories, scopes, sources and stances (for translation)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from app.issues import notices
from app.issues.lifecycle import Phase, Stage, VoteState
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
    # Named without its vote (the list's stage filter, a move in the audit trail), 表决中
    # would claim a vote that may not have begun (issue #14): this is the stage a vote happens
    # in. Where the vote is known, stage_label says 等待居委会发起表决 or 表决中.
    Stage.DECIDING: N_("表决阶段"),
    Stage.PUBLICIZING: N_("公示中"),
    Stage.NOT_PASSED: N_("未通过"),
    Stage.IMPLEMENTING: N_("办理中"),
    Stage.EVALUATING: N_("评价中"),
    Stage.CLOSED: N_("已办结"),
}
# The history names the step taken where the stage's name would claim more: entering 民决 is
# not yet a vote (issue #14), which only begins when the chair opens a ballot.
HISTORY_LABELS = {
    Stage.DECIDING: N_("协商结束，进入民决"),
}
# 表决中 says more than the stage: a vote is only under way once a ballot is open
# (app.voting.queries.vote_states); until then the issue waits for the chair.
DECIDING_LABELS = {
    "open": N_("表决中"),
    "closed": N_("表决已截止，等待居委会决定下一步"),
    "waiting": N_("等待居委会发起表决"),
}
# The same, said to the chair, who is the 居委会.
DECIDING_LABELS_FOR_CHAIR = {
    "open": N_("表决中"),
    "closed": N_("表决已截止，请决定下一步"),
    "waiting": N_("待您发起表决"),
}


# The same in a few words, where there is room for no more: a half-width count on the hall
# page (at 390 px, 等待居委会发起表决 took two lines) and the list's filter by the vote.
VOTE_STATE_LABELS = {
    VoteState.WAITING: N_("待发起表决"),
    VoteState.OPEN: N_("表决中"),
    VoteState.CLOSED: N_("表决已截止"),
}
# To the chair, what the tile asks of her (the issue page's 待您发起表决 took three lines in
# English on a half-width tile).
VOTE_STATE_LABELS_FOR_CHAIR = {
    **VOTE_STATE_LABELS,
    VoteState.WAITING: N_("请您发起表决"),
}


def stage_label(stage: str, ballot_state: str | None, *, chair: bool = False) -> str:
    """The msgid of an issue's stage as shown: 表决中 split by its vote (DECIDING_LABELS)."""
    if stage == Stage.DECIDING:
        table = DECIDING_LABELS_FOR_CHAIR if chair else DECIDING_LABELS
        return table[ballot_state or "waiting"]
    return STAGE_LABELS[Stage(stage)]


def tile_label(stage: str, ballot_state: str | None, *, chair: bool = False) -> str:
    """The msgid of a count on the hall page: stage_label, 表决中 in its short words."""
    if stage == Stage.DECIDING:
        table = VOTE_STATE_LABELS_FOR_CHAIR if chair else VOTE_STATE_LABELS
        return table[VoteState(ballot_state or VoteState.WAITING)]
    return STAGE_LABELS[Stage(stage)]


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
    """The untranslated headline of a notification kind (app.issues.notices)."""
    return notices.notice_of(kind).label
