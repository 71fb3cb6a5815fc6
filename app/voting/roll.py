"""The owners' roll (民法典 278), as one pure function: flats and who owns them in, voters out.

How owners are counted (最高人民法院 法释〔2009〕7号 art. 8–9, DOMAIN.md §4):

- An owner of several flats is one head, with the sum of their areas ("同一买受人拥有一个以上
  专有部分的，按一人计算").
- A flat with several co-owners is one head, with its area once ("一个专有部分按一人计算").
- Owners and flats linked by ownership form one voter, however the links chain: if 甲 owns 101
  and co-owns 102 with 乙, and 乙 also owns 103, then 甲 and 乙 with 101, 102 and 103 are one
  voter. Counting them apart would count 102 twice, or split one owner's flats.
- A flat with no registered owner is a voter of its own (its owner votes on paper or in
  person).

Every flat ends in exactly one voter and every area is counted once, so the roll's total area
is the sum of the flats'. The result does not depend on the order of the input. Areas are
integers in hundredths of a m²; the service refuses a flat without one before building the roll.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Flat:
    """One 户 (专有部分) in the ballot's scope."""

    id: int
    area_centi_m2: int
    label: str  # 3号楼2单元501
    masked: str  # 3号楼2单元5** (what officers see)
    sort_key: str  # building | entrance | room, for the order of the roll


@dataclass(frozen=True)
class OwnerEntry:
    """One voter of an owners' ballot: one head, with the area of all its flats."""

    flats: tuple[Flat, ...]  # in roll order; never empty
    owners: frozenset[int]  # user ids that may vote for it (empty: paper or in person)

    @property
    def key(self) -> str:
        """Stable voter key: the first flat's id."""
        return f"o:{self.flats[0].id}"

    @property
    def label(self) -> str:
        return "、".join(flat.label for flat in self.flats)

    @property
    def masked(self) -> str:
        return "、".join(flat.masked for flat in self.flats)

    @property
    def sort_key(self) -> str:
        return self.flats[0].sort_key

    @property
    def area_centi_m2(self) -> int:
        return sum(flat.area_centi_m2 for flat in self.flats)


def _order(flat: Flat) -> tuple[str, int]:
    return flat.sort_key, flat.id


def owner_entries(flats: Iterable[Flat], ownerships: Iterable[tuple[int, int]]) -> list[OwnerEntry]:
    """The voters of an owners' ballot, in roll order.

    `ownerships` are (flat id, owner user id) pairs; pairs naming a flat not in `flats` are
    ignored, repeated pairs count once."""
    by_id = {flat.id: flat for flat in flats}
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(node: tuple[str, int]) -> tuple[str, int]:
        root = parent.setdefault(node, node)
        while root != parent[root]:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    for flat_id in by_id:
        find(("flat", flat_id))
    for flat_id, owner_id in ownerships:
        if flat_id in by_id:
            a, b = find(("owner", owner_id)), find(("flat", flat_id))
            if a != b:
                parent[max(a, b)] = min(a, b)  # the same root whatever the order of the pairs
    groups: dict[tuple[str, int], tuple[list[Flat], set[int]]] = {}
    for node in list(parent):
        members, owners = groups.setdefault(find(node), ([], set()))
        if node[0] == "flat":
            members.append(by_id[node[1]])
        else:
            owners.add(node[1])
    entries = [
        OwnerEntry(tuple(sorted(members, key=_order)), frozenset(owners))
        for members, owners in groups.values()
    ]
    return sorted(entries, key=lambda entry: _order(entry.flats[0]))
