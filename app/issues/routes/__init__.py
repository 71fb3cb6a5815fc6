"""Issue pages, one module per thing a person does (find the module from the page you see):

- `listing`       the issue list, its search and the similar-title hint (/halls/1/issues)
- `proposing`     提议: propose an issue, the chair enters one on a resident's behalf, withdraw it
- `queues`        the chair's queues: issues to review, comments reported
- `issue_page`    the issue page itself (/halls/1/issues/2), its photos, and how an action on it
                  answers (the stage panel, the comments, the solutions, as partial or page)
- `cosigning`     附议 and taking it back
- `review`        the chair's review: accept, reject, merge
- `comments`      comments and replies, correcting one's own, reporting one
- `moderation`    hiding a comment and showing it again
- `solutions`     adding a solution
- `deliberation`  closing 民议: the 协商意见 and the solutions that go to the vote
- `notifications` the bell's page
- `share`         分享: the issue's link and QR on the public origin, the A5 slip
"""

from __future__ import annotations

from fastapi import APIRouter

from app.issues import labels
from app.issues.routes import (
    comments,
    cosigning,
    deliberation,
    issue_page,
    listing,
    moderation,
    notifications,
    proposing,
    queues,
    review,
    share,
    solutions,
)
from app.web.templating import env

env.globals.update(
    stage_labels=labels.STAGE_LABELS,
    history_labels=labels.HISTORY_LABELS,
    phase_labels=labels.PHASE_LABELS,
    category_labels=labels.CATEGORY_LABELS,
    scope_labels=labels.SCOPE_LABELS,
    source_labels=labels.SOURCE_LABELS,
    stance_labels=labels.STANCE_LABELS,
    notification_label=labels.notification_label,
)
env.filters["yuan"] = lambda fen: "" if fen is None else f"{fen // 100}.{fen % 100:02d}"

router = APIRouter()
# In this order: /issues/new, /issues/enter and /issues/similar before /issues/{issue_id}.
for module in (
    listing,
    proposing,
    queues,
    issue_page,
    cosigning,
    review,
    comments,
    moderation,
    solutions,
    deliberation,
    notifications,
    share,
):
    router.include_router(module.router)
