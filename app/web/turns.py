"""Requests take turns for the database: at most as many at once as the pool has connections.

A request's sync dependencies and its route run as separate hops to the worker thread pool,
and the request's session keeps its connection between hops. When more requests wait in the
pool's checkout (each blocking a worker thread) than there are threads, the requests holding
the connections cannot get a thread to finish on, and everybody waits for the pool timeout:
120 concurrent votes took 94 s, with 81 requests answered 500 (SQLAlchemy's 30 s timeout).

So a request takes its turn on the event loop, where waiting costs neither a thread nor a
connection, before its first query (an app-level dependency, app/web/deps.py), and gives it
back when its route returns. A request holds one connection at a time (its own session, which
the bell count reads through too), so every admitted request finds a connection, and, as the
thread limiter is larger than the pool (raised at startup if it is not), a thread. A request
that waits longer than the pool timeout gets 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakKeyDictionary

from anyio import to_thread

from app.core.errors import DomainError

THREAD_MARGIN = 10  # threads beyond the turns: static files, streams' polls, the rest
RETRY_AFTER_SECONDS = 2


class Busy(DomainError):
    """Every connection was in use for longer than the pool timeout: try again shortly."""

    status_code = 503


class Turns:
    def __init__(self, capacity: int, timeout: float) -> None:
        self.capacity = capacity
        self.timeout = timeout
        # One semaphore per event loop: a server has one per worker process, the test client
        # one per client.
        self._by_loop: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            WeakKeyDictionary()
        )

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._by_loop.get(loop)
        if semaphore is None:
            semaphore = self._by_loop[loop] = asyncio.Semaphore(self.capacity)
        return semaphore

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        semaphore = self._semaphore()
        try:
            await asyncio.wait_for(semaphore.acquire(), self.timeout)
        except TimeoutError:
            raise Busy("busy") from None
        try:
            yield
        finally:
            semaphore.release()

    def size_thread_limiter(self) -> None:
        """Leave threads for the admitted requests (call on the event loop, at startup)."""
        limiter = to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, self.capacity + THREAD_MARGIN)
