"""app/audit/chain.py on its own: canonical JSON, link hashes and the verifier (no database)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.audit import chain
from app.audit.chain import GENESIS, EventBody, StoredEvent, link_hash, verify

AT = datetime(2026, 11, 25, 8, 30, 15, 123456, tzinfo=UTC)


def body(height: int = 1, **changes: Any) -> EventBody:
    base = EventBody(
        height=height,
        at=AT,
        hall_id=7,
        actor_id=42,
        action="halls.verify_member",
        subject_type="membership",
        subject_id=99,
        data={"reason": "房号不对", "household_id": 3},
    )
    return dataclasses.replace(base, **changes)


def build(bodies: list[EventBody]) -> list[StoredEvent]:
    events, prev = [], GENESIS
    for b in bodies:
        h = link_hash(prev, b)
        events.append(StoredEvent(body=b, prev_hash=prev, hash=h))
        prev = h
    return events


def a_chain(n: int) -> list[StoredEvent]:
    return build(
        [
            body(i, subject_id=i, data={"i": i}, at=AT + timedelta(seconds=i))
            for i in range(1, n + 1)
        ]
    )


# ---------------------------------------------------------------------------------------------
# Canonical JSON


def test_canonical_json_is_sorted_compact_and_keeps_chinese() -> None:
    assert body().canonical() == (
        '{"action":"halls.verify_member","actor_id":42,"at":"2026-11-25T08:30:15.123456+00:00",'
        '"data":{"household_id":3,"reason":"房号不对"},"hall_id":7,"height":1,'
        '"subject_id":99,"subject_type":"membership"}'
    )


def test_the_link_hash_is_pinned() -> None:
    """A stored chain must verify forever: any change to the format breaks this on purpose."""
    expected = hashlib.sha256((GENESIS + body().canonical()).encode()).hexdigest()
    assert link_hash(GENESIS, body()) == expected
    assert link_hash(GENESIS, body()) == (
        "279338f2f5179f93cc4ed1fa07cd0b032271a73f0e30e9a0b3dc012750624891"
    )


def test_canonical_json_does_not_depend_on_the_order_of_data_keys() -> None:
    one = body(data={"a": 1, "b": [1, 2], "c": {"y": 1, "x": 2}})
    two = body(data={"c": {"x": 2, "y": 1}, "b": [1, 2], "a": 1})
    assert one.canonical() == two.canonical()
    assert link_hash(GENESIS, one) == link_hash(GENESIS, two)


def test_times_always_carry_microseconds() -> None:
    whole_second = body(at=AT.replace(microsecond=0))
    assert '"at":"2026-11-25T08:30:15.000000+00:00"' in whole_second.canonical()


def test_the_same_instant_in_another_zone_is_another_event() -> None:
    """The stored form is UTC; a local-time copy would not verify, which is intended."""
    beijing = AT.astimezone(timezone(timedelta(hours=8)))
    assert beijing == AT
    assert link_hash(GENESIS, body(at=beijing)) != link_hash(GENESIS, body())


# ---------------------------------------------------------------------------------------------
# Any change to any field changes the hash

CHANGES: list[tuple[str, Any]] = [
    ("height", 2),
    ("at", AT + timedelta(microseconds=1)),
    ("hall_id", 8),
    ("hall_id", None),
    ("actor_id", 43),
    ("actor_id", None),
    ("action", "halls.reject_member"),
    ("subject_type", "hall"),
    ("subject_id", 100),
    ("subject_id", None),
    ("data", {"reason": "房号不对", "household_id": 4}),
    ("data", {"reason": "房号不对"}),
    ("data", {"reason": "房号不对", "household_id": "3"}),
    ("data", {}),
]


@pytest.mark.parametrize(("field", "value"), CHANGES, ids=[f"{f}={v!r}" for f, v in CHANGES])
def test_changing_any_field_changes_the_hash(field: str, value: Any) -> None:
    changed = dataclasses.replace(body(), **{field: value})
    assert changed != body()
    assert link_hash(GENESIS, changed) != link_hash(GENESIS, body())


def test_the_previous_hash_is_part_of_the_link() -> None:
    assert link_hash(GENESIS, body()) != link_hash("f" * 64, body())


@given(
    st.dictionaries(
        st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8), st.none()), max_size=5
    ),
    st.text(min_size=1, max_size=8),
)
def test_adding_a_data_key_changes_the_hash(data: dict[str, object], key: str) -> None:
    extra = {**data, key + "_x": 0} if key + "_x" not in data else {**data, key + "_y": 0}
    assert link_hash(GENESIS, body(data=data)) != link_hash(GENESIS, body(data=extra))


# ---------------------------------------------------------------------------------------------
# The verifier


def test_an_empty_chain_is_intact_and_its_head_is_genesis() -> None:
    assert verify([]) == chain.Verdict(True, 0, GENESIS)


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    events = a_chain(5)
    assert verify(events) == chain.Verdict(True, 5, events[-1].hash)


def test_an_edited_event_is_named_with_reason_hash() -> None:
    events = a_chain(5)
    forged = dataclasses.replace(events[2], body=dataclasses.replace(events[2].body, data={}))
    events[2] = forged
    assert verify(events) == chain.Verdict(False, 2, events[1].hash, 3, "hash")


def test_a_rehashed_forgery_is_caught_at_the_next_link() -> None:
    events = a_chain(5)
    new_body = dataclasses.replace(events[2].body, data={"i": 300})
    events[2] = StoredEvent(new_body, events[2].prev_hash, link_hash(events[2].prev_hash, new_body))
    verdict = verify(events)
    assert (verdict.ok, verdict.broken_height, verdict.reason, verdict.checked) == (
        False,
        4,
        "prev_hash",
        3,
    )


def test_a_missing_event_is_a_gap_named_at_the_event_after_it() -> None:
    events = a_chain(5)
    del events[1]
    assert verify(events) == chain.Verdict(False, 1, events[0].hash, 3, "gap")


def test_a_chain_that_does_not_start_at_genesis_is_refused() -> None:
    events = a_chain(3)[1:]
    verdict = verify(events)
    assert (verdict.ok, verdict.broken_height, verdict.reason) == (False, 2, "gap")


def test_a_swapped_pair_is_refused() -> None:
    events = a_chain(4)
    events[1], events[2] = events[2], events[1]
    verdict = verify(events)
    assert (verdict.ok, verdict.broken_height, verdict.reason) == (False, 3, "gap")


def test_a_dropped_tail_still_verifies_but_the_head_moves() -> None:
    """Only a published head (VOTE-09) detects a truncated tail."""
    events = a_chain(5)
    verdict = verify(events[:-1])
    assert verdict.ok
    assert verdict.head != events[-1].hash
    assert verdict.head == events[-2].hash


@given(st.integers(min_value=1, max_value=12), st.data())
def test_any_single_edit_is_named_at_its_height(n: int, data: st.DataObject) -> None:
    events = a_chain(n)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    field, value = data.draw(st.sampled_from(CHANGES[1:]))  # height edits are gaps, not hashes
    forged_body = dataclasses.replace(events[index].body, **{field: value})
    if forged_body == events[index].body:
        return
    events[index] = dataclasses.replace(events[index], body=forged_body)
    verdict = verify(events)
    assert (verdict.ok, verdict.broken_height, verdict.reason, verdict.checked) == (
        False,
        index + 1,
        "hash",
        index,
    )
