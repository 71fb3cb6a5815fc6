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
that waits longer than the pool timeout gets 503 with Retry-After. A quarter of the turns is
kept for pages (GET/HEAD): writes waiting for one row's lock never queue a reader behind them.
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


Held = list[asyncio.Semaphore]


def give(held: Held) -> None:
    """Give back a turn taken by `Turns.take` (a second call gives back nothing)."""
    while held:
        held.pop().release()


class Turns:
    """`capacity` turns, of which writers (unsafe methods) may hold all but `capacity // 4`:
    pages are never queued behind a burst of writes waiting for one row's lock."""

    def __init__(self, capacity: int, timeout: float) -> None:
        self.capacity = capacity
        self.writers = max(1, capacity - capacity // 4)
        self.timeout = timeout
        # Semaphores per event loop: a server has one loop per worker process, the test
        # client one per client.
        self._by_loop: WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Semaphore]
        ] = WeakKeyDictionary()

    def _semaphores(self) -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        pair = self._by_loop.get(loop)
        if pair is None:
            pair = asyncio.Semaphore(self.capacity), asyncio.Semaphore(self.writers)
            self._by_loop[loop] = pair
        return pair

    async def take(self, *, write: bool = False) -> Held:
        """Wait for a turn (503 `Busy` after the pool timeout); give it back with `give`."""
        every, writers = self._semaphores()
        if not write and not every.locked():  # the common case: a page, a free turn
            await every.acquire()
            return [every]
        held: Held = []
        wanted = (writers, every) if write else (every,)
        try:
            if not any(semaphore.locked() for semaphore in wanted):
                for semaphore in wanted:  # free turns: taken at once, no timer to set
                    await semaphore.acquire()
                    held.append(semaphore)
            else:
                async with asyncio.timeout(self.timeout):
                    for semaphore in wanted:
                        await semaphore.acquire()
                        held.append(semaphore)
        except BaseException as exc:  # a timeout, or the request cancelled while it waited
            give(held)
            if isinstance(exc, TimeoutError):
                raise Busy("busy") from None
            raise
        return held

    @asynccontextmanager
    async def turn(self, *, write: bool = False) -> AsyncIterator[None]:
        held = await self.take(write=write)
        try:
            yield
        finally:
            give(held)

    def size_thread_limiter(self) -> None:
        """Leave threads for the admitted requests (call on the event loop, at startup)."""
        limiter = to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, self.capacity + THREAD_MARGIN)
