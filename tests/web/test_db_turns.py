"""The database pool from settings, and requests taking turns for it (app/web/turns.py), on
SQLite and PostgreSQL: a request that cannot get a connection in time is answered 503 with
Retry-After, never a 30 s hang and a 500."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.config import Settings
from app.main import create_app
from app.web.turns import Busy, Turns
from tests.conftest import ORIGIN, SECRET, Client

HOLD_SECONDS = 1.0


def test_the_pool_is_sized_from_the_settings(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YST_DB_POOL_SIZE", "3")
    monkeypatch.setenv("YST_DB_MAX_OVERFLOW", "2")
    monkeypatch.setenv("YST_DB_POOL_TIMEOUT", "1.5")
    settings = Settings(environment="test", database_url=database_url, secret_key=SECRET)
    app = create_app(settings)
    try:
        for engine in (app.state.db.write_engine, app.state.db.read_engine):
            assert engine.pool.size() == 3
            assert engine.pool._max_overflow == 2
            assert engine.pool._timeout == 1.5
        assert app.state.turns.capacity == 5
        assert app.state.turns.timeout == 1.5
    finally:
        app.state.db.dispose()


@pytest.fixture
def tiny(database_url: str) -> Iterator[tuple[FastAPI, Client]]:
    """An app with one connection and a 0.3 s timeout, and two routes of the test's own: one
    that keeps its turn for a second, one whose pool checkout times out."""
    settings = Settings(
        environment="test",
        database_url=database_url,
        secret_key=SECRET,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout=0.3,
    )
    app = create_app(settings)

    @app.get("/test-only/hold")
    async def hold() -> dict[str, bool]:
        await asyncio.sleep(HOLD_SECONDS)
        return {"held": True}

    @app.get("/api/v1/test-only/pool-timeout")
    def pool_timeout() -> None:
        raise PoolTimeout("QueuePool limit of size 1 overflow 0 reached")

    with Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN}) as client:
        yield app, client


def test_a_request_that_waits_longer_than_the_pool_timeout_gets_503_with_retry_after(
    tiny: tuple[FastAPI, Client],
) -> None:
    _, client = tiny
    held: list[int] = []
    holder = threading.Thread(target=lambda: held.append(client.get("/test-only/hold").status_code))
    holder.start()
    try:
        # The holder has the only turn for a second; this page waits 0.3 s and gives up.
        for _ in range(50):
            page = client.get("/")
            if page.status_code == 503:
                break
        assert page.status_code == 503
        assert page.headers["retry-after"] == "2"
        assert "现在使用的人很多，请稍等几秒再试" in page.text
    finally:
        holder.join()
    assert held == [200]
    assert client.get("/").status_code == 200  # the turn came back


def test_a_pool_timeout_is_a_503_with_retry_after_not_a_500(tiny: tuple[FastAPI, Client]) -> None:
    _, client = tiny
    answer = client.get("/api/v1/test-only/pool-timeout")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    assert answer.json()["error"] == "busy"


def test_writers_leave_a_quarter_of_the_turns_to_readers() -> None:
    async def scenario() -> tuple[bool, bool]:
        turns = Turns(capacity=4, timeout=0.1)
        assert turns.writers == 3
        async with turns.turn(write=True), turns.turn(write=True), turns.turn(write=True):
            try:
                async with turns.turn(write=True):
                    fourth_writer = True
            except Busy:
                fourth_writer = False
            async with turns.turn():
                reader = True
        return fourth_writer, reader

    # In a thread of its own: a browser test's Playwright may keep an event loop running in
    # this one for the rest of the session, and asyncio.run refuses to nest.
    outcome: list[tuple[bool, bool]] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(scenario())))
    runner.start()
    runner.join()
    assert outcome == [(False, True)]


def test_a_writer_cancelled_while_it_waits_gives_back_the_turn_it_held() -> None:
    """A writer that took a writer's turn and was cancelled waiting for a free connection (a
    client gone, a shutdown) must not keep that writer's turn for the life of the process."""

    async def scenario() -> int:
        turns = Turns(capacity=4, timeout=5.0)
        async with turns.turn(), turns.turn(), turns.turn(), turns.turn():  # every turn taken
            waiting = asyncio.create_task(_enter(turns))
            await asyncio.sleep(0.05)  # it holds a writer's turn and waits for a connection
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
        entered = 0
        stack = contextlib.AsyncExitStack()
        async with stack:
            for _ in range(turns.writers):  # all writers' turns are free again
                await asyncio.wait_for(stack.enter_async_context(turns.turn(write=True)), 0.5)
                entered += 1
        return entered

    outcome: list[int] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(scenario())))
    runner.start()
    runner.join()
    assert outcome == [3]


async def _enter(turns: Turns) -> None:
    async with turns.turn(write=True):
        pass
