"""Display names for ballots (for translation)."""

from __future__ import annotations

from app.voting.models import BallotStatus, Channel, Duty, PaperResult, PaperStatus, VoterUnit
from app.voting.rules import RuleKind
from app.web.i18n import N_

RULE_LABELS = {
    RuleKind.CONSENSUS: N_("协商一致（不投票，由主持人记录结果）"),
    RuleKind.COUNCIL_MAJORITY: N_("议事会表决"),
    RuleKind.RESIDENTS_MEETING: N_("居民会议（居委会组织法第九条）"),
    RuleKind.REPRESENTATIVES_MEETING: N_("居民代表会议"),
    RuleKind.OWNERS_ORDINARY: N_("业主共同决定·一般事项（民法典第278条）"),
    RuleKind.OWNERS_MAJOR: N_("业主共同决定·重大事项（筹集维修资金、改建重建、改变共有部分用途）"),
    RuleKind.INTERESTED_UNANIMOUS: N_("利害关系业主一致同意（民法典第279条 住改商）"),
    RuleKind.PLURALITY: N_("方案意向投票（不具约束力，得票最多者胜出）"),
}
RULE_EXPLAINED = {
    RuleKind.CONSENSUS: N_("不投票：协商达成一致后，由主持人记录结果。"),
    RuleKind.COUNCIL_MAJORITY: N_(
        "议事会成员出席达到法定比例方可表决；同意票超过出席人数的一半即通过。"
    ),
    RuleKind.RESIDENTS_MEETING: N_(
        "须过半数居民（或户代表）出席；同意票超过出席人数的一半即通过。"
    ),
    RuleKind.REPRESENTATIVES_MEETING: N_(
        "居民代表出席达到规定比例方可表决；同意票超过出席人数的一半即通过。"
    ),
    RuleKind.OWNERS_ORDINARY: N_(
        "须专有部分面积占三分之二以上、且人数占三分之二以上的业主参与表决；同意的面积和人数都须超过参与表决的一半。"
    ),
    RuleKind.OWNERS_MAJOR: N_(
        "须专有部分面积占三分之二以上、且人数占三分之二以上的业主参与表决；同意的面积和人数都须达到参与表决的四分之三以上。"
    ),
    RuleKind.INTERESTED_UNANIMOUS: N_("须全体有利害关系的业主一致同意。"),
    RuleKind.PLURALITY: N_(
        "参与人数须达到三分之二以上；得票最多的方案胜出，并列则未形成多数意见。"
    ),
}
UNIT_LABELS = {
    VoterUnit.PERSON: N_("按人投票"),
    VoterUnit.HOUSEHOLD: N_("按户投票（每户一票，本户任一已认证成员可投）"),
    VoterUnit.OWNER: N_("按业主投票（按人数和专有部分面积双重计算）"),
}
STATUS_LABELS = {
    BallotStatus.DRAFT: N_("草稿"),
    BallotStatus.OPEN: N_("投票中"),
    BallotStatus.CLOSED: N_("已截止"),
    BallotStatus.PUBLISHED: N_("已公布"),
}
CHANNEL_LABELS = {
    Channel.PHONE: N_("手机投票"),
    Channel.IN_PERSON: N_("现场表决"),
    Channel.PAPER: N_("纸质票"),
}
DUTY_LABELS = {Duty.COUNTER: N_("计票人"), Duty.SCRUTINEER: N_("监票人")}
PAPER_RESULT_LABELS = {
    PaperResult.VOTE: N_("有效票"),
    PaperResult.BLANK: N_("空白票"),
    PaperResult.INVALID: N_("无效票"),
}
PAPER_STATUS_LABELS = {
    PaperStatus.PENDING: N_("待监票人确认"),
    PaperStatus.CONFIRMED: N_("已确认"),
    PaperStatus.REJECTED: N_("已退回"),
}
LEDGER_LABELS = {
    "open": N_("开始投票"),
    "cast": N_("投票"),
    "recast": N_("改票"),
    "in_person": N_("现场表决"),
    "paper": N_("纸质票"),
    "void": N_("作废"),
    "close": N_("截止计票"),
}
