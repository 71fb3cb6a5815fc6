"""The ballot box: phone votes queue on the event loop and one writer commits them together.

A request does not take a thread or a connection to vote: it puts its vote in the box and
waits on the event loop. One writer thread per app process takes every vote waiting (up to
`max_batch`), casts them in one transaction (app/voting/service/phone_votes.cast_votes) with one
durable commit, and answers each request with its own receipt or error only after that
commit has returned. While it writes, the next votes gather: under load a commit carries
many votes, alone a vote is written at once (no timer, no added wait).

If the batch's transaction fails on a constraint (a submission id retried at the same moment
through another process), its votes are cast again one transaction each, so that the failure
is answered to the vote that caused it only. Several app processes each have their box; their
writers take turns by the database (SQLite's BEGIN IMMEDIATE, PostgreSQL's row lock on the
ballot).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from sqlalchemy.exc import IntegrityError

from app.db import Database
from app.voting.service import Receipt
from app.voting.service.phone_votes import Outcome, PhoneVote, cast_votes

Waiting = tuple[PhoneVote, "asyncio.Future[Receipt]"]


@dataclass
class _Queue:
    waiting: list[Waiting] = field(default_factory=list)
    writing: bool = False
    task: asyncio.Task[None] | None = None


class BallotBox:
    def __init__(self, db: Database, *, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._writer: ThreadPoolExecutor | None = None  # made on the first vote
        # One queue per event loop: a server has one loop per process, a test client its own.
        self._queues: WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = WeakKeyDictionary()

    async def cast(self, vote: PhoneVote) -> Receipt:
        """The vote's receipt once it is durable; its error (a DomainError) otherwise."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[Receipt] = loop.create_future()
        queue.waiting.append((vote, future))
        if not queue.writing:
            queue.writing = True
            queue.task = loop.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _Queue) -> None:
        loop = asyncio.get_running_loop()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ballot-box")
        try:
            while queue.waiting:
                batch = queue.waiting[: self.max_batch]
                del queue.waiting[: self.max_batch]
                votes = [vote for vote, _ in batch]
                try:
                    outcomes = await loop.run_in_executor(self._writer, self._write, votes)
                except Exception as exc:  # the database refused the whole batch
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # the request went away; its vote may still count
                        continue
                    if isinstance(outcome, Receipt):
                        future.set_result(outcome)
                    else:
                        future.set_exception(outcome)
        finally:
            queue.writing = False

    def _write(self, votes: list[PhoneVote]) -> list[Outcome | Exception]:
        """In the writer thread: one transaction for the batch, or one per vote after a
        constraint failed (the failure is then answered to the vote that caused it)."""
        try:
            with self.db.session() as session:
                return list(cast_votes(session=session, votes=votes))
        except IntegrityError as exc:
            if len(votes) == 1:
                return [exc]
        return [outcome for vote in votes for outcome in self._write([vote])]

    def close(self) -> None:
        """Let the writer finish its batch (at shutdown); a later vote starts a new one."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)
