"""Display names of roles, relations and statuses, marked for translation."""

from __future__ import annotations

from app.halls.models import Hall, MembershipStatus, Relation, Role
from app.web.i18n import N_, gettext

ROLE_LABELS = {
    Role.RESIDENT: N_("居民"),
    Role.RESIDENT_REP: N_("居民代表"),
    Role.COUNCIL: N_("议事会成员"),
    Role.CHAIR: N_("主持人"),
    Role.RECORDER: N_("记录员"),
    Role.PROPERTY_REP: N_("物业代表"),
    Role.OWNERS_COMMITTEE_REP: N_("业委会代表"),
    Role.UNIT_REP: N_("驻区单位代表"),
    Role.DEPARTMENT_REP: N_("职能部门代表"),
    Role.OBSERVER: N_("列席代表（人大代表/政协委员）"),
}
RELATION_LABELS = {
    Relation.OWNER: N_("业主"),
    Relation.TENANT: N_("租户"),
    Relation.FAMILY: N_("家庭成员"),
    Relation.NONE: N_("无房屋关联"),
}
STATUS_LABELS = {
    MembershipStatus.PENDING: N_("待审核"),
    MembershipStatus.VERIFIED: N_("已认证"),
    MembershipStatus.REJECTED: N_("未通过"),
}


def issuer_record(hall: Hall) -> str:
    """青年湖社区议事厅 → 青年湖社区居民委员会: who issues what the hall prints (the 居委会), in
    Chinese whoever asks: the form frozen into a signed document (the minutes' hash covers it)."""
    name = hall.name.strip().removesuffix("议事厅").strip()
    return name + ("居民委员会" if name.endswith("社区") else "社区居民委员会")


def issuer_shown(record: str) -> str:
    """An issuer as `issuer_record` wrote it, in the reader's language."""
    if record.endswith("社区居民委员会"):
        return gettext("%(name)s社区居民委员会") % {"name": record.removesuffix("社区居民委员会")}
    return record


def issuer_of(hall: Hall) -> str:
    """Who issues what the hall prints, in the reader's language (青年湖社区居民委员会)."""
    return issuer_shown(issuer_record(hall))
