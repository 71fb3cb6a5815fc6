"""The owners' roll as a pure function (issue #10 §8): an owner of several flats counts once by
head with the sum of their areas, a co-owned flat counts once, chains of ownership merge, flats
without an owner vote on their own; areas are conserved and the input order never matters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.voting.roll import Flat, OwnerEntry, owner_entries


def flat(i: int, area: int = 10000) -> Flat:
    return Flat(i, area, f"1号楼1单元{100 + i}", f"1号楼1单元1*{i}", f"{100 + i:>8}")


def shape(entries: list[OwnerEntry]) -> list[tuple[list[int], set[int], int]]:
    return [([f.id for f in e.flats], set(e.owners), e.area_centi_m2) for e in entries]


def test_no_flats_no_voters() -> None:
    assert owner_entries([], [(1, 7)]) == []


def test_each_flat_without_an_owner_is_a_voter_of_its_own() -> None:
    entries = owner_entries([flat(1, 8950), flat(2, 6025)], [])
    assert shape(entries) == [([1], set(), 8950), ([2], set(), 6025)]
    assert [e.key for e in entries] == ["o:1", "o:2"]


def test_an_owner_of_two_flats_is_one_head_with_both_areas() -> None:
    entries = owner_entries([flat(1, 8950), flat(2, 6025), flat(3, 7000)], [(1, 7), (2, 7)])
    assert shape(entries) == [([1, 2], {7}, 14975), ([3], set(), 7000)]
    first = entries[0]
    assert first.key == "o:1"
    assert first.label == "1号楼1单元101、1号楼1单元102"
    assert first.masked == "1号楼1单元1*1、1号楼1单元1*2"
    assert first.sort_key == flat(1).sort_key


def test_a_co_owned_flat_is_one_head_and_its_area_counts_once() -> None:
    entries = owner_entries([flat(1, 8950), flat(2, 6025)], [(1, 7), (1, 8), (2, 9)])
    assert shape(entries) == [([1], {7, 8}, 8950), ([2], {9}, 6025)]


def test_ownership_that_chains_through_a_shared_flat_is_one_voter() -> None:
    # 甲(7) owns 101 and co-owns 102 with 乙(8); 乙 also owns 103.
    flats = [flat(1), flat(2), flat(3), flat(4)]
    entries = owner_entries(flats, [(1, 7), (2, 7), (2, 8), (3, 8)])
    assert shape(entries) == [([1, 2, 3], {7, 8}, 30000), ([4], set(), 10000)]


def test_flats_outside_the_scope_and_repeated_pairs_are_ignored() -> None:
    entries = owner_entries([flat(1), flat(2)], [(1, 7), (1, 7), (99, 7), (99, 8)])
    assert shape(entries) == [([1], {7}, 10000), ([2], set(), 10000)]


def test_the_key_and_label_follow_roll_order_not_ids() -> None:
    late = Flat(1, 5000, "2号楼1单元101", "2号楼1单元1*1", "000002|101")
    early = Flat(2, 6000, "1号楼1单元101", "1号楼1单元1*1", "000001|101")
    (entry,) = owner_entries([late, early], [(1, 7), (2, 7)])
    assert entry.key == "o:2"
    assert entry.label == "1号楼1单元101、2号楼1单元101"


# --- properties -------------------------------------------------------------------------------

rolls = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(1, 10**7), min_size=n, max_size=n),
        st.lists(st.tuples(st.integers(0, n + 2), st.integers(0, 12)), max_size=3 * n),
    )
)


def components(flat_ids: list[int], pairs: list[tuple[int, int]]) -> list[set[int]]:
    """Reference: flats connected through shared owners, by repeated merging."""
    groups = [({f}, {o for g, o in pairs if g == f}) for f in flat_ids]
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if groups[i][1] & groups[j][1]:
                    groups[i] = (groups[i][0] | groups[j][0], groups[i][1] | groups[j][1])
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    return sorted((g[0] for g in groups), key=min)


@settings(max_examples=500, deadline=None)
@given(rolls, st.randoms(use_true_random=False))
def test_every_flat_and_owner_once_areas_conserved_order_free(
    roll: tuple[list[int], list[tuple[int, int]]], rnd: object
) -> None:
    areas, pairs = roll
    flats = [flat(i, a) for i, a in enumerate(areas)]
    known = [(f, o) for f, o in pairs if f < len(areas)]
    entries = owner_entries(flats, pairs)

    # every flat in exactly one voter, every area counted once
    seen = [f.id for e in entries for f in e.flats]
    assert sorted(seen) == list(range(len(areas)))
    assert sum(e.area_centi_m2 for e in entries) == sum(areas)
    # every owner (of a flat in scope) in exactly one voter, with every flat they own
    owners = [o for e in entries for o in e.owners]
    assert sorted(owners) == sorted({o for _, o in known})
    for e in entries:
        ids = {f.id for f in e.flats}
        assert {f for f, o in known if o in e.owners} <= ids
        assert e.owners == {o for f, o in known if f in ids}
    # the voters are exactly the flats linked through shared owners
    assert sorted(({f.id for f in e.flats} for e in entries), key=min) == components(
        list(range(len(areas))), known
    )
    # keys are unique and the roll is in order
    assert len({e.key for e in entries}) == len(entries)
    assert [e.sort_key for e in entries] == sorted(e.sort_key for e in entries)

    # the order of the input never matters
    shuffled_flats, shuffled_pairs = list(flats), list(pairs)
    rnd.shuffle(shuffled_flats)  # type: ignore[attr-defined]
    rnd.shuffle(shuffled_pairs)  # type: ignore[attr-defined]
    assert owner_entries(shuffled_flats, shuffled_pairs) == entries
