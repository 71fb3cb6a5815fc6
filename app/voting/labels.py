"""Display names for ballots (for translation), and the wording of a result's checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.voting import rules
from app.voting.models import BallotStatus, Channel, Duty, PaperResult, PaperStatus, VoterUnit
from app.voting.rules import RuleKind
from app.web.i18n import N_, gettext

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
# The options of a yes/no ballot, stored with it in Chinese (app.voting.service.drafting).
OPTION_LABELS = {"yes": N_("同意"), "no": N_("反对"), "abstain": N_("弃权")}


def option_label(code: str, label: str) -> str:
    """An option as shown: 同意 / 反对 / 弃权 in the reader's language, a 方案 as written."""
    return gettext(OPTION_LABELS[code]) if code in OPTION_LABELS else label


# The sentences rules.resolution_text stores with a 决议 (in Chinese: the record), read back.
_RESOLUTION_SENTENCES = (
    (re.compile(r"「(?P<title>.*)」经表决通过。", re.S), N_("「%(title)s」经表决通过。")),
    (re.compile(r"「(?P<title>.*)」经表决未通过。", re.S), N_("「%(title)s」经表决未通过。")),
    (re.compile(r"「(?P<title>.*)」未形成多数意见。", re.S), N_("「%(title)s」未形成多数意见。")),
    (
        re.compile(r"「(?P<title>.*)」经表决，(?P<label>.*) 得票最多。", re.S),
        N_("「%(title)s」经表决，%(label)s 得票最多。"),
    ),
)


def resolution_shown(text: str) -> str:
    """A 决议 (or a stage change noting it) in the reader's language: the sentence the server
    wrote when the ballot closed is stored in Chinese, as the record, and is said again here in
    the reader's language; a 协商一致 the chair typed is shown as written."""
    for pattern, msgid in _RESOLUTION_SENTENCES:
        if match := pattern.fullmatch(text or ""):
            return gettext(msgid) % match.groupdict()
    return text


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

# The labels of checks (app.voting.rules), for the catalog: a check is shown with its label
# translated.
CHECK_LABELS = (
    N_("参与表决专有部分面积"),
    N_("总面积"),
    N_("参与表决业主人数"),
    N_("业主总人数"),
    N_("同意的专有部分面积"),
    N_("参与表决面积"),
    N_("同意的业主人数"),
    N_("参与表决人数"),
    N_("同意的利害关系业主"),
    N_("利害关系业主总数"),
    N_("参与人数"),
    N_("应参与人数"),
    N_("实到人数"),
    N_("应到人数"),
    N_("同意人数"),
)


# Counted by 户: the same checks, named by households.
HOUSEHOLD_LABELS = {
    "实到人数": N_("实到户数"),
    "应到人数": N_("应到户数"),
    "同意人数": N_("同意户数"),
    "参与人数": N_("参与户数"),
    "应参与人数": N_("应参与户数"),
}


# How a part of a check's wording is shown (the macro `check_item` in
# voting/_checks.html): as it reads, an amount kept on one line, or the verdict in bold.
PLAIN, NOWRAP, VERDICT = "", "nowrap", "check-verdict"


@dataclass(frozen=True)
class CheckPart:
    style: str  # PLAIN, NOWRAP or VERDICT
    text: str


@dataclass(frozen=True)
class CheckLine:
    id: str  # the check's stable id ("" for a stored line that could not be read)
    passed: bool
    text: str
    parts: tuple[CheckPart, ...]  # the same words, in parts for the template to mark up


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def check_parts(check: rules.Check, *, households: bool = False) -> tuple[CheckPart, ...]:
    """The words of check_line in parts, each plain text: the amounts (to keep on one line)
    and the verdict (to show in bold) apart from the rest, in the order the translation puts
    them."""

    def amount(n: int) -> str:
        if check.unit == rules.Unit.AREA:
            return rules.format_area(n)
        return (gettext("%(n)s 户") if households else gettext("%(n)s 人")) % {"n": n}

    if check.share.fraction == 1:
        rule = gettext("全体")
    elif check.share.inclusive:
        rule = gettext("%(threshold)s 及以上") % {"threshold": check.threshold}
    else:
        rule = gettext("超过 %(threshold)s") % {"threshold": check.threshold}
    if not check.passed:
        margin = gettext("差 %(amount)s") % {"amount": amount(-check.margin)}
        verdict = gettext("未达到")
    elif check.margin:
        margin = gettext("超出 %(amount)s") % {"amount": amount(check.margin)}
        verdict = gettext("达到")
    else:
        margin, verdict = "", gettext("恰好达到")

    def name(label: str) -> str:
        return gettext(HOUSEHOLD_LABELS.get(label, label) if households else label)

    values = {
        "label": CheckPart(PLAIN, name(check.label)),
        "value": CheckPart(NOWRAP, amount(check.value)),
        "base": CheckPart(PLAIN, name(check.base_label)),
        "whole": CheckPart(NOWRAP, amount(check.whole)),
        "percent": CheckPart(NOWRAP, rules.format_percent(check.shown_basis_points())),
        "needed": CheckPart(NOWRAP, f"≥ {amount(check.needed)}"),
        "rule": CheckPart(PLAIN, rule),
        "margin": CheckPart(NOWRAP, margin),
        "verdict": CheckPart(VERDICT, verdict),
    }
    if check.whole <= 0:
        text = gettext(
            "%(label)s %(value)s（%(base)s %(whole)s）；需 %(needed)s，%(margin)s，%(verdict)s"
        )
    elif margin:
        text = gettext(
            "%(label)s %(value)s，占%(base)s %(whole)s的 %(percent)s；需 %(needed)s（%(rule)s），%(margin)s，%(verdict)s"
        )
    else:
        text = gettext(
            "%(label)s %(value)s，占%(base)s %(whole)s的 %(percent)s；需 %(needed)s（%(rule)s），%(verdict)s"
        )
    parts: list[CheckPart] = []
    end = 0
    for found in _PLACEHOLDER.finditer(text):
        literal = text[end : found.start()]
        if found.group(1) is None:
            literal += "%"
        if literal:
            parts.append(CheckPart(PLAIN, literal))
        if found.group(1) is not None:
            parts.append(values[found.group(1)])
        end = found.end()
    if text[end:]:
        parts.append(CheckPart(PLAIN, text[end:]))
    merged: list[CheckPart] = []  # adjacent plain parts read as one
    for part in parts:
        if merged and part.style == PLAIN and merged[-1].style == PLAIN:
            merged[-1] = CheckPart(PLAIN, merged[-1].text + part.text)
        else:
            merged.append(part)
    return tuple(merged)


def check_line(check: rules.Check, *, households: bool = False) -> str:
    """One check in words a resident reads the right way: the value, its share of the base
    (never rounded across the threshold), what was needed in the same unit, by how much it was
    missed or met, and 达到 / 未达到. E.g. "同意的专有部分面积 224.99㎡，占参与表决面积
    300.00㎡的 74.99%；需 ≥ 225.00㎡（3/4 及以上），差 0.01㎡，未达到"."""
    return "".join(part.text for part in check_parts(check, households=households))


def check_lines(result: Mapping[str, Any] | None, voter_unit: str = "") -> list[CheckLine]:
    """The checks of a frozen result (app.voting.rules.result_data) in words; a stored line
    that cannot be read back is shown as it was frozen."""
    households = voter_unit == VoterUnit.HOUSEHOLD
    lines = []
    for data in (result or {}).get("checks") or ():
        check = rules.check_from_data(data)
        if check is None:
            raw = str(data)
            lines.append(CheckLine("", raw.endswith("✓"), raw, (CheckPart(PLAIN, raw),)))
        else:
            parts = check_parts(check, households=households)
            text = "".join(part.text for part in parts)
            lines.append(CheckLine(check.id, check.passed, text, parts))
    return lines
