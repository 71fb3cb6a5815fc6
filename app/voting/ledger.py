"""The per-ballot hash chain, its receipts and its replay, as pure functions (SECURITY.md §8).

Each event is canonical JSON (sorted keys, UTF-8, no whitespace); its hash is
sha256(prev_hash ‖ body). A receipt is the first 12 base32 characters of the hash. Replaying
the chain gives the current vote of every voter reference, so anyone holding the chain and the
frozen roll can recount the result and compare it with the one frozen at close.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64
VOTE_KINDS = frozenset({"cast", "recast", "in_person", "paper"})


def canonical(data: Mapping[str, object]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_body(
    ballot_id: int | None, height: int, kind: str, at: datetime, data: Mapping[str, object]
) -> str:
    """An event's canonical body: its place on the chain, its kind and time, its data."""
    return canonical(
        {
            "ballot": ballot_id,
            "height": height,
            "kind": kind,
            "at": at.isoformat(timespec="microseconds"),
            **data,
        }
    )


def link_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def receipt_of(hash_hex: str) -> str:
    """12 base32 characters (60 bits): short enough to read aloud, unique-indexed anyway."""
    return base64.b32encode(bytes.fromhex(hash_hex)).decode()[:12]


def voter_ref(ref_key: str, voter_key: str) -> str:
    """A pseudonym for the public ledger: the board cannot be joined to the roll without
    the ballot's key."""
    return hmac.new(ref_key.encode(), voter_key.encode(), hashlib.sha256).hexdigest()[:32]


def roll_hash(entries: Iterable[tuple[str, int]]) -> str:
    """sha256 of the canonical sorted roll: (voter key, weight in 0.01 m²) pairs (VOTE-05)."""
    return hashlib.sha256(
        canonical({"roll": sorted([k, w] for k, w in entries)}).encode()
    ).hexdigest()


@dataclass(frozen=True)
class Stored:
    height: int
    kind: str
    body: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    head: str
    broken_height: int | None = None
    reason: str | None = None


def verify(events: Iterable[Stored]) -> Verdict:
    """Walk the chain in height order and name the first event that does not link."""
    prev, expected, checked = GENESIS, 1, 0
    for ev in events:
        if ev.height != expected:
            return Verdict(False, checked, prev, ev.height, "gap")
        if ev.prev_hash != prev:
            return Verdict(False, checked, prev, ev.height, "prev_hash")
        if link_hash(prev, ev.body) != ev.hash:
            return Verdict(False, checked, prev, ev.height, "hash")
        body = json.loads(ev.body)
        if body.get("kind") != ev.kind or body.get("height") != ev.height:
            return Verdict(False, checked, prev, ev.height, "body")
        prev, expected, checked = ev.hash, expected + 1, checked + 1
    return Verdict(True, checked, prev)


def replay(events: Sequence[Stored]) -> dict[str, str]:
    """The current choice of each voter reference: the latest vote event counts (whatever its
    channel); a void removes the vote it names."""
    current: dict[str, tuple[str, str]] = {}  # voter ref → (receipt, option code)
    for ev in events:
        body = json.loads(ev.body)
        if ev.kind in VOTE_KINDS:
            current[body["voter"]] = (receipt_of(ev.hash), body["option"])
        elif ev.kind == "void":
            held = current.get(body["voter"])
            if held is not None and held[0] == body["receipt"]:
                del current[body["voter"]]
    return {ref: option for ref, (_, option) in current.items()}
