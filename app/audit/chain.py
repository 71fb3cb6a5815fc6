"""Pure hash-chain rules for the audit trail (no web or ORM imports).

Each event's hash is sha256(prev_hash || canonical JSON of the event body). Changing,
inserting or deleting any event breaks every hash after it, so `verify` names the first
broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64


@dataclass(frozen=True)
class EventBody:
    height: int
    at: datetime
    hall_id: int | None
    actor_id: int | None
    action: str
    subject_type: str
    subject_id: int | None
    data: Mapping[str, object]

    def canonical(self) -> str:
        return json.dumps(
            {
                "height": self.height,
                "at": self.at.isoformat(timespec="microseconds"),
                "hall_id": self.hall_id,
                "actor_id": self.actor_id,
                "action": self.action,
                "subject_type": self.subject_type,
                "subject_id": self.subject_id,
                "data": self.data,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )


def link_hash(prev_hash: str, body: EventBody) -> str:
    return hashlib.sha256((prev_hash + body.canonical()).encode()).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    body: EventBody
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    head: str
    broken_height: int | None = None
    reason: str | None = None


def verify(events: Iterable[StoredEvent]) -> Verdict:
    """Walk the chain in height order; stop at the first event that does not link."""
    prev = GENESIS
    expected_height = 1
    checked = 0
    for ev in events:
        if ev.body.height != expected_height:
            return Verdict(False, checked, prev, ev.body.height, "gap")
        if ev.prev_hash != prev:
            return Verdict(False, checked, prev, ev.body.height, "prev_hash")
        if link_hash(prev, ev.body) != ev.hash:
            return Verdict(False, checked, prev, ev.body.height, "hash")
        prev = ev.hash
        expected_height += 1
        checked += 1
    return Verdict(True, checked, prev)
