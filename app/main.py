"""The application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.accounts import api as accounts_api
from app.accounts import deps as accounts_deps
from app.accounts import routes as accounts_routes
from app.audit import routes as audit_routes
from app.config import Settings, get_settings
from app.db import Database, Pool
from app.escalations import api as escalations_api
from app.escalations import routes as escalations_routes
from app.evaluations import api as evaluations_api
from app.evaluations import routes as evaluations_routes
from app.halls import api as halls_api
from app.halls import labels as hall_labels
from app.halls import policies as hall_policies
from app.halls import routes as halls_routes
from app.issues import api as issues_api
from app.issues import queries as issue_queries
from app.issues import routes as issues_routes
from app.jobs.scheduler import Scheduler
from app.meetings import api as meetings_api
from app.meetings import live_routes as meeting_live_routes
from app.meetings import minutes_routes as meeting_minutes_routes
from app.meetings import print_routes as meeting_print_routes
from app.meetings import routes as meetings_routes
from app.rates import api as rates_api
from app.rates import routes as rates_routes
from app.tasks import api as tasks_api
from app.tasks import routes as tasks_routes
from app.voting import api as voting_api
from app.voting import paper_routes as voting_paper_routes
from app.voting import publicity_routes
from app.voting import routes as voting_routes
from app.voting.ballot_box import BallotBox
from app.web import errors, links, pages, pdf, shell
from app.web.middleware import BodyLimit, SecurityHeaders
from app.web.routing import GuardedRoute
from app.web.templating import STATIC_DIR
from app.web.turns import Turns


def _register_shell() -> None:
    """What the domains show on every page (the shell knows no domain: app/web/shell.py)."""
    shell.register_globals(
        role_labels=hall_labels.ROLE_LABELS,
        relation_labels=hall_labels.RELATION_LABELS,
        status_labels=hall_labels.STATUS_LABELS,
        # The masking rule itself: pages and the JSON API cannot disagree on who sees a phone.
        can_see_contact=hall_policies.can_see_contact,
    )


_register_shell()


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.turns.size_thread_limiter()
        if settings.environment != "test":  # tests make many apps; their PDFs are few
            # Then the start-up heap (modules, templates, the PDF fonts and stylesheets, some
            # 100,000s of objects) leaves the collector's scans: a full collection walked it
            # every ~15 pages, 250–330 ms each (bench/signin.py), now it walks a request's.
            pdf.prewarm_in_background(then=gc.freeze)
        scheduler = None
        if settings.jobs_interval > 0:
            scheduler = Scheduler(app.state.db.url, interval=settings.jobs_interval)
            scheduler.start()
        app.state.jobs = scheduler
        yield
        if scheduler is not None:
            scheduler.stop()
        app.state.ballot_box.close()
        if database is None:
            app.state.db.dispose()

    docs = not settings.is_production
    app = FastAPI(
        title="议事厅 API",
        version="1",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.router.route_class = GuardedRoute  # a route added to the app itself is guarded too
    app.state.settings = settings
    shell.register_bell(app, issue_queries.count_unread, tables=issue_queries.UNREAD_TABLES)
    shell.register_identify(app, accounts_deps.identify)
    # Engines are created here, per app, never at import time (no connection crosses a fork).
    app.state.db = database or Database.connect(
        settings.database_url,
        pool=Pool(
            size=settings.db_pool_size,
            overflow=settings.db_max_overflow,
            timeout=settings.db_pool_timeout,
        ),
    )
    app.state.ballot_box = BallotBox(app.state.db)
    app.state.turns = Turns(capacity=app.state.db.pool.capacity, timeout=settings.db_pool_timeout)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # A request is matched against the routes in order: health (polled) and the API (votes
    # come in bursts) first, rather than after every page's path.
    app.include_router(pages.router, include_in_schema=False)
    app.include_router(accounts_api.router)
    app.include_router(halls_api.router)
    app.include_router(issues_api.router)
    app.include_router(voting_api.router)
    app.include_router(meetings_api.router)
    app.include_router(escalations_api.router)
    app.include_router(evaluations_api.router)
    app.include_router(tasks_api.router)
    app.include_router(rates_api.router)
    # Pages answer HTML (and htmx fragments), redirects and form errors: they are not the API,
    # so the OpenAPI document leaves them out; it describes /api/v1 only.
    for page_router in (
        accounts_routes.router,
        halls_routes.router,
        issues_routes.router,
        voting_routes.router,
        voting_paper_routes.router,
        publicity_routes.router,
        meetings_routes.router,
        meeting_print_routes.router,
        meeting_minutes_routes.router,
        meeting_live_routes.router,
        evaluations_routes.router,
        tasks_routes.router,
        rates_routes.router,
        audit_routes.router,
        escalations_routes.router,
    ):
        app.include_router(page_router, include_in_schema=False)
    unguarded = [
        r.path for r in app.routes if isinstance(r, APIRoute) and not isinstance(r, GuardedRoute)
    ]
    if unguarded:  # every route runs behind the shell's guard (app/web/routing.py)
        raise RuntimeError(f"routes without the guard: {unguarded}")
    links.register(app.routes)  # url(name, **params) in routes and templates
    errors.install(app)
    # Six photos of up to 5 MB each, plus the form around them (FILE-02).
    app.add_middleware(BodyLimit, max_bytes=settings.upload_max_bytes * 7)
    app.add_middleware(SecurityHeaders, hsts=settings.https)
    return app
