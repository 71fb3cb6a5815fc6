"""Words for 民评, marked for translation."""

from __future__ import annotations

from app.evaluations.models import RoundOutcome, Satisfaction
from app.evaluations.rules import CHECK_BASE_LABEL, CHECK_LABEL
from app.voting import labels as voting_labels
from app.voting.labels import CheckLine
from app.voting.rules import Check
from app.web.i18n import N_

SATISFACTION_LABELS = {
    Satisfaction.SATISFIED: N_("满意"),
    Satisfaction.BASIC: N_("基本满意"),
    Satisfaction.DISSATISFIED: N_("不满意"),
}
RESOLVED_LABELS = {True: N_("已解决"), False: N_("未解决")}
OUTCOME_LABELS = {
    RoundOutcome.CLOSED: N_("已办结"),
    RoundOutcome.REOPENED: N_("满意度未达标，重新办理"),
}
# The reopen check's labels (app.evaluations.rules): the check's wording translates them.
CHECK_LABELS = (N_("不满意人数"), N_("有效评价人数"))
assert CHECK_LABELS == (CHECK_LABEL, CHECK_BASE_LABEL)


def check_line(check: Check) -> CheckLine:
    """The reopen check as the vote checks are shown: what was needed and the margin."""
    parts = voting_labels.check_parts(check)
    return CheckLine(check.id, check.passed, "".join(p.text for p in parts), parts)
