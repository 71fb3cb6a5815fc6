"""Words for meetings, marked for translation."""

from __future__ import annotations

from typing import Any

from app.meetings import rules
from app.meetings.models import GuestKind, MeetingStatus, SignInHow, SpeakerStatus
from app.meetings.rules import MeetingKind
from app.voting import labels as voting_labels
from app.voting.labels import CheckLine
from app.voting.rules import check_data
from app.web.i18n import N_

KIND_LABELS = {
    MeetingKind.COUNCIL: N_("议事会"),
    MeetingKind.RESIDENTS: N_("居民会议"),
    MeetingKind.REPRESENTATIVES: N_("居民代表会议"),
    MeetingKind.FORUM: N_("恳谈会"),
    MeetingKind.HEARING: N_("听证会"),
}
KIND_EXPLAINED = {
    MeetingKind.COUNCIL: N_("应到：议事会成员；到会达到本社区规定的比例（默认三分之二）方可举行"),
    MeetingKind.RESIDENTS: N_("应到：本社区已认证的居民；过半数出席方可举行，可委托出席"),
    MeetingKind.REPRESENTATIVES: N_(
        "应到：居民代表；到会达到本社区规定的比例（默认三分之二）方可举行"
    ),
    MeetingKind.FORUM: N_("协商恳谈，不表决、不计法定人数；应到为受邀成员"),
    MeetingKind.HEARING: N_("民主听证，不表决、不计法定人数；应到为受邀成员"),
}
STATUS_LABELS = {
    MeetingStatus.SCHEDULED: N_("已通知"),
    MeetingStatus.CANCELLED: N_("已取消"),
    MeetingStatus.HELD: N_("已召开"),
}
GUEST_LABELS = {
    GuestKind.PROPERTY: N_("物业"),
    GuestKind.OWNERS_COMMITTEE: N_("业委会"),
    GuestKind.UNIT: N_("驻区单位"),
    GuestKind.DEPARTMENT: N_("街道部门"),
    GuestKind.DEPUTY: N_("人大代表政协委员"),
}
# Who the notice is addressed to and who is 应到, by kind (the printed notice and 签到表).
EXPECTED_LABELS = {
    MeetingKind.COUNCIL: N_("议事会成员"),
    MeetingKind.RESIDENTS: N_("本社区居民"),
    MeetingKind.REPRESENTATIVES: N_("居民代表"),
    MeetingKind.FORUM: N_("受邀人员"),
    MeetingKind.HEARING: N_("受邀人员"),
}
HOW_LABELS = {SignInHow.SELF_QR: N_("扫码签到"), SignInHow.BY_CHAIR: N_("代为签到")}


def quorum_lines(answer: rules.Attendance) -> list[CheckLine]:
    """The quorum as the vote checks are shown (app.voting.labels): what was needed, margin."""
    if answer.check is None:
        return []
    data: dict[str, Any] = {"checks": [check_data(answer.check)]}
    return voting_labels.check_lines(data)


# --- the meeting as it is held (live mode) ------------------------------------------------------

SPEAKER_STATUS_LABELS = {
    SpeakerStatus.WAITING: N_("排队中"),
    SpeakerStatus.SPEAKING: N_("正在发言"),
    SpeakerStatus.DONE: N_("已发言"),
    SpeakerStatus.WITHDRAWN: N_("已撤回"),
}
