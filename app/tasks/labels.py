"""Words for 任务分工, marked for translation."""

from __future__ import annotations

from app.tasks.models import PartyType, TaskStatus
from app.web.i18n import N_

PARTY_LABELS = {
    PartyType.COMMITTEE: N_("居委会"),
    PartyType.PROPERTY: N_("物业"),
    PartyType.OWNERS_COMMITTEE: N_("业委会"),
    PartyType.VOLUNTEERS: N_("居民志愿者"),
    PartyType.STREET_OFFICE: N_("街道科室"),
    PartyType.DEPARTMENT: N_("职能部门"),
    PartyType.UNIT: N_("驻区单位"),
}
STATUS_LABELS = {
    TaskStatus.NOT_STARTED: N_("未开始"),
    TaskStatus.IN_PROGRESS: N_("进行中"),
    TaskStatus.BLOCKED: N_("受阻"),
    TaskStatus.DONE: N_("已完成"),
}
