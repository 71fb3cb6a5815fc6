"""The in-process scheduler: a daemon thread that ticks every YST_JOBS_INTERVAL_SECONDS.

Started by the app's lifespan (app/main.py) in each worker process; the leases make one of
them run each job per period (app/jobs/lease.py). It uses its own engine with one
connection, so it never takes a connection a request is counting on (app/web/turns.py), and
a tick runs in the thread, never on the event loop. stop() wakes it and waits for a tick in
progress to end (its transaction commits or rolls back whole either way).
"""

from __future__ import annotations

import logging
import threading

from app.db import Database, Pool
from app.jobs import runner

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, url: str, *, interval: float) -> None:
        self.url = url
        self.interval = interval
        self.token = runner.new_token()
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="yst-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        db = Database.connect(self.url, pool=Pool(size=1, overflow=0, timeout=30.0))
        try:
            while not self._stop.is_set():
                try:
                    for outcome in runner.run_once(db, token=self.token):
                        if outcome.status == "ran" and outcome.count:
                            log.info("job %s: %d done", outcome.job, outcome.count)
                except Exception:  # a database away for a moment: try again next tick
                    log.exception("job tick failed")
                self.ticks += 1
                self._stop.wait(self.interval)
        finally:
            db.dispose()
