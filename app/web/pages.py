"""The shell's own endpoint: health. (Home is the halls' page, privacy and preferences the
accounts'.)"""

from __future__ import annotations

import functools
import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from app.db import Database
from app.web.forms import FormRoute

HEALTH_SECONDS = 1.0

router = APIRouter(tags=["pages"], route_class=FormRoute)


def _database_answers(db: Database) -> bool:
    try:
        with db.session(read_only=True) as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


@router.get("/healthz", name="healthz", tags=["health"])
async def healthz(request: Request) -> Response:
    """Up, and the database answered `SELECT 1` within the last second (a monitor polling
    it, or a load balancer, costs the database one query a second, not one each)."""
    db: Database = request.app.state.db  # read directly: a dependency costs more than this
    memo = db.memo("health", (), HEALTH_SECONDS)
    kept, ok = memo.get("db")
    if not kept:
        generation = memo.generation
        ok = await run_in_threadpool(_database_answers, db)
        memo.put("db", ok, generation=generation)
    if not ok:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return Response(_ok_body(db.write_engine.dialect.name), media_type="application/json")


@functools.cache
def _ok_body(backend: str) -> bytes:
    """The answer when all is well, encoded once per backend: it never changes."""
    return json.dumps({"status": "ok", "database": "ok", "backend": backend}).encode()
