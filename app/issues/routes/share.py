"""Sharing an issue (issue #14): its link and QR on the public origin, and an A5 slip for the
notice board, so a proposer can ask the neighbours to co-sign (or to join in) beyond the app.
Anyone who can see the hall may share its issues; the link opens the issue page (a neighbour
not yet in the app logs in or joins first)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from sqlmodel import Session

from app.config import Settings
from app.core import clock
from app.halls.deps import HallDep
from app.halls.labels import issuer_of
from app.halls.models import Hall
from app.issues import labels
from app.issues.deps import IssueDep
from app.issues.models import Issue
from app.issues.routes.common import page_router
from app.voting import queries as voting_queries
from app.web import pdf, qr
from app.web.deps import SessionDep, SettingsDep
from app.web.htmx import render
from app.web.i18n import _
from app.web.links import print_context, public_url, url

router = page_router()

SUMMARY_CHARS = 120  # the slip shows the start of 具体情况


def share_url(request: Request, settings: Settings, issue: Issue) -> str:
    """The issue page's address on the public origin: what is printed and scanned."""
    path = url("issues.detail", hall_id=issue.hall_id, issue_id=issue.id)
    return public_url(request, settings, path)


def _slip(
    request: Request, session: Session, settings: Settings, hall: Hall, issue: Issue
) -> dict[str, Any]:
    link = share_url(request, settings, issue)
    text = issue.description.strip()
    return {
        "hall": hall,
        "issue": issue,
        "stage_text": stage_text(session, issue),
        "link": link,
        "qr": qr.path(link),
        "summary": text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "…",
        "issuer": issuer_of(hall),
        "today": clock.now(),
        "pdf_url": url("issues.share_pdf", hall_id=hall.id, issue_id=issue.id),
        **print_context(request, settings),
    }


def stage_text(session: Session, issue: Issue) -> str:
    """The msgid of the issue's stage as a neighbour reads it: 表决中 only once a ballot is
    open (labels.stage_label), one query for an issue in 表决中."""
    states = voting_queries.vote_states(session, hall_id=issue.hall_id, issues=[issue])
    return labels.stage_label(issue.stage, states.get(issue.id or 0))


@router.get("/halls/{hall_id}/issues/{issue_id}/share", name="issues.share")
def share_slip(
    request: Request, session: SessionDep, settings: SettingsDep, hall: HallDep, issue: IssueDep
) -> Response:
    """The A5 slip: the title, the start of the description, the QR and the link."""
    context = _slip(request, session, settings, hall, issue)
    return render(request, "issues/share_print.html", context)


@router.get("/halls/{hall_id}/issues/{issue_id}/share.pdf", name="issues.share_pdf")
def share_pdf(
    request: Request, session: SessionDep, settings: SettingsDep, hall: HallDep, issue: IssueDep
) -> Response:
    name = _("议题-%(title)s.pdf") % {"title": issue.title}
    context = _slip(request, session, settings, hall, issue)
    return pdf.document(request, "issues/share_print.html", context, filename=name)


@router.get("/halls/{hall_id}/issues/{issue_id}/share.png", name="issues.share_qr")
def share_qr(request: Request, settings: SettingsDep, issue: IssueDep) -> Response:
    """The QR alone, for the share box on the issue page (and to save and send)."""
    return Response(qr.png(share_url(request, settings, issue)), media_type="image/png")
