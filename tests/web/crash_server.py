"""uvicorn serving the app, with each group commit held open for a moment (for the kill -9 test).

Used only by tests/web/test_group_commit_crash.py: every batch the ballot box writes has all
its statements executed, then writes the batch's size to $YST_CRASH_MARKER and waits
$YST_CRASH_HOLD seconds before its commit — a window in which the test kills the process
with SIGKILL, in the middle of a group commit.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

from app.voting import ballot_box
from app.voting.service import phone_votes

MARKER = Path(os.environ["YST_CRASH_MARKER"])
HOLD = float(os.environ.get("YST_CRASH_HOLD", "0.3"))


def held_cast_votes(*, session: Any, votes: list[phone_votes.PhoneVote]) -> Any:
    commit = session.commit

    def held_commit() -> None:
        MARKER.write_text(str(len(votes)), encoding="utf-8")
        time.sleep(HOLD)
        commit()

    session.commit = held_commit
    return phone_votes.cast_votes(session=session, votes=votes)


ballot_box.cast_votes = held_cast_votes  # type: ignore[assignment]

if __name__ == "__main__":
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
    )
