"""The issue list (/halls/1/issues): filters, search, the next page; the similar-title hint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from sqlmodel import Session

from app.core import fields
from app.halls import queries as hall_queries
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import labels, policies, queries
from app.issues.lifecycle import Stage, VoteState
from app.issues.models import Category, Issue
from app.issues.routes.common import page_router
from app.voting import queries as voting_queries
from app.web import fragments
from app.web.deps import SessionDep
from app.web.htmx import is_partial, render
from app.web.i18n import _
from app.web.links import url

router = page_router()


def _filters(
    stage: str, category: str, building_id: str, q: str, vote: str
) -> queries.IssueFilters:
    """The list's filters from the query string; a value it does not know is ignored, as is
    the vote (表决中's progress) beside another stage than 表决中."""
    chosen = Stage(stage) if stage in Stage.__members__.values() else None
    by_vote = vote in VoteState.__members__.values() and chosen in (None, Stage.DECIDING)
    return queries.IssueFilters(
        stage=chosen,
        category=Category(category) if category in Category.__members__.values() else None,
        building_id=fields.parse_id(building_id),
        q=q[:100],
        vote=VoteState(vote) if by_vote else None,
    )


def _list_url(hall_id: int, f: queries.IssueFilters, **changed: object) -> str:
    """The list with the filters `f`, some of them `changed` (a next page's `before`)."""
    params = {
        "stage": f.stage or "",
        "category": f.category or "",
        "building_id": f.building_id or "",
        "q": f.q,
        "vote": f.vote or "",
        **changed,
    }
    return f"{url('issues.list', hall_id=hall_id)}?{urlencode(params)}"


# What the results read: a write to any of these empties the kept results (app/web/fragments).
RESULT_TABLES = ("issue", "user", "building", "hall", "ballot")


def deciding_names(session: Session, hall_id: int, issues: Sequence[Issue]) -> dict[int, str]:
    """The translated stage of those of `issues` in 表决中, by id (one query): 表决中 only once
    a ballot is open; before that, 等待居委会发起表决 (the same for everyone, as the list is)."""
    states = voting_queries.vote_states(session, hall_id=hall_id, issues=issues)
    return {
        i.id or 0: _(labels.stage_label(Stage.DECIDING, states.get(i.id or 0)))
        for i in issues
        if i.stage == Stage.DECIDING
    }


def _results(
    session: Session, hall: Hall, f: queries.IssueFilters, before: int | None
) -> dict[str, Any]:
    """The results part (issues/_results.html): the same for every member of the hall."""
    hall_id = hall.id or 0
    rows = queries.list_issues(
        session, hall_id=hall_id, filters=f, before=before, limit=queries.ISSUE_PAGE + 1
    )
    page = rows[: queries.ISSUE_PAGE]
    more = len(rows) > queries.ISSUE_PAGE
    return {
        "hall": hall,
        "rows": page,
        "deciding_names": deciding_names(session, hall_id, [r.issue for r in page]),
        "next_url": _list_url(hall_id, f, before=page[-1].issue.id or 0) if more else None,
        # Which of 表决中 is shown, in words, and the list without that filter.
        "vote_name": _(labels.VOTE_STATE_LABELS[f.vote]) if f.vote else None,
        "all_votes_url": _list_url(hall_id, f, vote="") if f.vote else None,
        # Translated once here, not once per row.
        "stage_names": labels.translated(labels.STAGE_LABELS),
        "category_names": labels.translated(labels.CATEGORY_LABELS),
        "counts_text": _("附议 %(n)s · 评论 %(c)s"),
    }


def _list_context(
    request: Request,
    session: Session | None,
    hall: Hall,
    access: HallAccess,
    f: queries.IssueFilters,
    before: int | None,
) -> dict[str, Any]:
    def read(s: Session) -> dict[str, Any]:
        return _results(s, hall, f, before)

    if f.q:  # a search: read for this reader alone (too many distinct texts to keep)
        results = read(fragments.needs(session))
        results_html = None
    else:
        key = (hall.id, f, before)
        results_html = fragments.shared(
            request, session, "issues/_results.html", tables=RESULT_TABLES, key=key, context=read
        )
        results = {}
    return {
        **results,
        "hall": hall,
        "access": access,
        "filters": f,
        "results_html": results_html,
        "can_propose": policies.can_propose(access),
        "can_review": policies.can_review(access),
        "stage_names": labels.translated(labels.STAGE_LABELS),
        "category_names": labels.translated(labels.CATEGORY_LABELS),
    }


@router.get("/halls/{hall_id}/issues", name="issues.list")
async def list_page(
    request: Request,
    hall: HallDep,
    access: AccessDep,
    stage: fields.Text = "",
    category: fields.Text = "",
    building_id: fields.Text = "",
    q: Annotated[fields.Text, Query(max_length=200)] = "",
    before: Annotated[fields.Id | None, Query()] = None,
    vote: fields.Text = "",
) -> Response:
    f = _filters(stage, category, building_id, q, vote)
    return await fragments.answer(request, _list, hall, access, f, before)


def _list(
    request: Request,
    session: Session | None,
    hall: Hall,
    access: HallAccess,
    f: queries.IssueFilters,
    before: int | None,
) -> Response:
    """The list (or its results, for htmx); without a session only if all of it is kept."""
    context = _list_context(request, session, hall, access, f, before)
    context |= fragments.bell(request, session)
    if is_partial(request):
        return render(request, "issues/_results_slot.html", context)
    context["filters_html"] = fragments.shared(
        request,
        session,
        "issues/_filters.html",
        tables=("building",),
        key=(hall.id, f),
        context=lambda s: _filter_context(s, hall, f),
    )
    return render(request, "issues/list.html", context)


def _filter_context(session: Session, hall: Hall, f: queries.IssueFilters) -> dict[str, Any]:
    """The search and filters (issues/_filters.html), with the hall's buildings."""
    buildings = hall_queries.list_buildings(session, hall_id=hall.id or 0)
    return {
        "hall": hall,
        "filters": f,
        "buildings": [(b.id or 0, b.name) for b in buildings],
        "stages": list(Stage),
        "votes": list(VoteState),
        "vote_names": labels.translated(labels.VOTE_STATE_LABELS),
        "categories": list(Category),
        "stage_names": labels.translated(labels.STAGE_LABELS),
        "category_names": labels.translated(labels.CATEGORY_LABELS),
    }


@router.get("/halls/{hall_id}/issues/similar", name="issues.similar")
def similar(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    title: Annotated[fields.Text, Query(max_length=200)] = "",
) -> Response:
    rows = queries.list_similar(session, hall_id=access.hall_id, title=title)
    names = deciding_names(session, access.hall_id, [r.issue for r in rows])
    context = {"hall": hall, "similar": rows, "deciding_names": names}
    return render(request, "issues/_similar.html", context)
