"""The ballot verifier (SECURITY.md §8; VOTE-05, VOTE-07, VOTE-09, VOTE-11), on SQLite and
PostgreSQL: `queries.verify_ballot` and `python -m app ballot verify ID [--expect-head H]`.

- A real ballot (casts, a re-cast, a paper ballot, a void, the close) verifies.
- The database refuses UPDATE, DELETE (and TRUNCATE) of ledger events.
- In a throwaway database whose triggers are dropped: an edited event is named by its
  height; a cut tail is caught by the head published earlier; a vote row that disagrees with
  the ledger, a phantom vote row and a changed roll weight are each named.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from app.accounts.models import User
from app.config import ROOT
from app.db import Database
from app.voting import queries, schemas, service
from app.voting.models import Ballot, BallotStatus, LedgerEvent, PaperResult, Vote
from tests.ballot_helpers import access_of, cast, make_owners_hall, owners_ballot, sid
from tests.factories import HallWorld, make_chair, make_deciding_issue
from tests.throwaway import throwaway_database


@dataclass
class Built:
    world: HallWorld
    chair: User
    owners: list[User]
    ballot_id: int
    receipts: dict[str, str]  # what each step was told
    open_head: str  # the head published when voting opened
    heads: list[str]  # every hash, in height order


def build_ballot(db: Database) -> Built:
    """Eight owners; owners 6 and 7 are the 计票人 and 监票人. Heights:
    1 open · 2 cast o0 yes · 3 cast o1 no · 4 cast o2 yes · 5 recast o2 no · 6 cast o3 yes ·
    7 paper o4 yes · 8 void o3 · 9 cast o5 no · 10 close."""
    world, owners = make_owners_hall(db, owners=8)
    chair = make_chair(db, world)
    issue, _ = make_deciding_issue(db, world, chair)
    counter, scrutineer = owners[6], owners[7]
    ballot = owners_ballot(
        db, world, chair, issue, counter_ids=[counter.id], scrutineer_ids=[scrutineer.id]
    )
    bid = ballot.id or 0
    open_head = ballot.head_hash or ""
    receipts = {
        "o0": cast(db, world, owners[0], bid, "yes").receipt,
        "o1": cast(db, world, owners[1], bid, "no").receipt,
        "o2": cast(db, world, owners[2], bid, "yes").receipt,
        "o2'": cast(db, world, owners[2], bid, "no").receipt,
        "o3": cast(db, world, owners[3], bid, "yes").receipt,
    }
    chair_access = access_of(db, world, chair)
    with db.session() as s:
        service.issue_paper_ballots(session=s, access=chair_access, actor=chair, ballot_id=bid)
    with db.session(read_only=True) as s:
        stored = s.get(Ballot, bid)
        assert stored is not None
        mine = queries.my_vote(s, stored, owners[4].id)
        assert mine is not None
        code = next(p.code for p, r in queries.paper_ballots(s, bid) if r.id == mine.roll_id)
    with db.session() as s:
        entry = service.enter_paper(
            session=s,
            access=access_of(db, world, counter),
            actor=counter,
            ballot_id=bid,
            form=schemas.PaperEntryForm(
                code=code, result=PaperResult.VOTE, option="yes", submission_id=sid()
            ),
        )
    with db.session() as s:
        paper = service.confirm_paper(
            session=s,
            access=access_of(db, world, scrutineer),
            actor=scrutineer,
            ballot_id=bid,
            entry_id=entry.id or 0,
            agree=True,
        )
    assert paper is not None
    receipts["o4"] = paper.receipt
    with db.session() as s:
        voided = s.exec(select(Vote).where(Vote.receipt == receipts["o3"])).one()
        service.void_vote(
            session=s,
            access=chair_access,
            actor=chair,
            ballot_id=bid,
            vote_id=voided.id or 0,
            form=schemas.VoidForm(reason="误录"),
        )
    receipts["o5"] = cast(db, world, owners[5], bid, "no").receipt
    with db.session() as s:
        service.close_ballot(session=s, access=chair_access, actor=chair, ballot_id=bid)
    with db.session(read_only=True) as s:
        heads = list(
            s.exec(
                select(LedgerEvent.hash)
                .where(LedgerEvent.ballot_id == bid)
                .order_by(col(LedgerEvent.height))
            ).all()
        )
    return Built(world, chair, owners, bid, receipts, open_head, heads)


def verify(db: Database, ballot_id: int, expect_head: str | None = None) -> queries.Verification:
    with db.session(read_only=True) as session:
        return queries.verify_ballot(session, ballot_id, expect_head=expect_head)


# ---------------------------------------------------------------------------------------------
# The shared test database: a real ballot verifies, and its ledger cannot be changed


@pytest.fixture(scope="module")
def built(db: Database) -> Built:
    return build_ballot(db)


def test_a_real_ballot_with_every_channel_verifies_and_recounts(db: Database, built: Built) -> None:
    result = verify(db, built.ballot_id)
    assert result.problems == []
    assert result.ok
    assert (result.checked, result.height) == (10, 10)
    assert result.head == built.heads[-1]
    assert result.votes == 5  # o0 yes, o1 no, o2 no (re-cast), o4 yes (paper), o5 no; o3 voided
    assert result.recounted
    kinds = [k for k, _ in _kinds(db, built.ballot_id)]
    assert kinds == [
        "open",
        "cast",
        "cast",
        "cast",
        "recast",
        "cast",
        "paper",
        "void",
        "cast",
        "close",
    ]
    # Every head published along the way is an ancestor of the current chain.
    for head in (built.open_head, built.heads[4], built.heads[-1]):
        assert verify(db, built.ballot_id, expect_head=head).ok


def test_an_unknown_ballot_does_not_verify(db: Database) -> None:
    result = verify(db, 2**31 - 1)
    assert not result.ok
    assert "没有编号" in result.problems[0]


def _kinds(db: Database, ballot_id: int) -> list[tuple[str, str]]:
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(LedgerEvent.kind, LedgerEvent.hash)
            .where(LedgerEvent.ballot_id == ballot_id)
            .order_by(col(LedgerEvent.height))
        ).all()
    return [(k.value, h) for k, h in rows]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ballot_ledger SET body = '{}' WHERE ballot_id = :b AND height = 3",
        "UPDATE ballot_ledger SET hash = prev_hash WHERE ballot_id = :b AND height = 10",
        "DELETE FROM ballot_ledger WHERE ballot_id = :b AND height = 10",
        "DELETE FROM ballot_ledger WHERE ballot_id = :b",
    ],
)
def test_the_database_refuses_to_change_or_delete_a_ledger_event(
    db: Database, built: Built, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), db.write_engine.begin() as conn:
        conn.execute(text(statement), {"b": built.ballot_id})
    assert verify(db, built.ballot_id).ok


def test_the_database_refuses_to_empty_the_ledger(db: Database, built: Built, backend: str) -> None:
    """PostgreSQL: TRUNCATE. SQLite has none; its unconditional DELETE must fire the trigger."""
    statement = "TRUNCATE ballot_ledger" if backend == "postgresql" else "DELETE FROM ballot_ledger"
    with pytest.raises(DBAPIError, match="append-only"), db.write_engine.begin() as conn:
        conn.execute(text(statement))
    assert verify(db, built.ballot_id).ok


# ---------------------------------------------------------------------------------------------
# Tampering, in a throwaway database whose triggers we may drop

DROP_TRIGGERS = {
    "sqlite": [
        "DROP TRIGGER ballot_ledger_no_update",
        "DROP TRIGGER ballot_ledger_no_delete",
    ],
    "postgresql": ["DROP TRIGGER ballot_ledger_no_change ON ballot_ledger"],
}


@pytest.fixture
def scratch(backend: str, tmp_path: Path) -> Iterator[tuple[Database, Built]]:
    with throwaway_database(backend, tmp_path) as url:
        database = Database.connect(url)
        try:
            yield database, build_ballot(database)
        finally:
            database.dispose()


def tamper(database: Database, backend: str, *statements: str, **params: object) -> None:
    """Run `statements` with the ledger's triggers dropped (as an operator with DDL rights)."""
    with database.write_engine.begin() as conn:
        for drop in DROP_TRIGGERS[backend]:
            conn.execute(text(drop))
        for statement in statements:
            conn.execute(text(statement), params)


def cli_verify(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database.url, "YST_ENVIRONMENT": "development"}
    return subprocess.run(
        [sys.executable, "-m", "app", "ballot", "verify", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_an_edited_vote_event_is_named_by_its_height_and_by_the_cli(
    scratch: tuple[Database, Built], backend: str
) -> None:
    database, built = scratch
    before = cli_verify(database, str(built.ballot_id), "--expect-head", built.open_head)
    assert before.returncode == 0, before.stderr
    assert "核验通过" in before.stdout
    assert "10 条记录" in before.stdout
    assert built.heads[-1] in before.stdout

    # o1 voted no at height 3; rewrite it to yes.
    tamper(
        database,
        backend,
        'UPDATE ballot_ledger SET body = replace(body, \'"option":"no"\', \'"option":"yes"\') '
        "WHERE ballot_id = :b AND height = 3",
        b=built.ballot_id,
    )

    result = verify(database, built.ballot_id)
    assert not result.ok
    assert result.checked == 2
    assert result.problems[0].startswith("账本在第 3 条断开（hash")
    # The replay now disagrees with the vote table, and the recount with the frozen result.
    assert any(
        f"回执 {built.receipts['o1']} 的选项是 no，账本中是 yes" in p for p in result.problems
    )
    assert any(p.startswith("按账本复算的结果与冻结的结果不一致") for p in result.problems)
    after = cli_verify(database, str(built.ballot_id))
    assert after.returncode == 1
    assert "第 3 条" in after.stderr
    assert "hash" in after.stderr


def test_a_cut_tail_is_caught_by_the_head_published_earlier(
    scratch: tuple[Database, Built], backend: str
) -> None:
    """VOTE-07/09: cut the close event and rewind the ballot to look open: the chain, the votes
    and the roll all still agree; only the head printed on the 公示 shows what was removed."""
    database, built = scratch
    published = built.heads[-1]
    tamper(
        database,
        backend,
        "DELETE FROM ballot_ledger WHERE ballot_id = :b AND height = 10",
        b=built.ballot_id,
    )
    plain = verify(database, built.ballot_id)
    assert not plain.ok  # the ballot row still names the cut head
    assert any("账本末尾可能被删除" in p for p in plain.problems)
    assert any("应有一条截止记录，实有 0 条" in p for p in plain.problems)

    with database.write_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ballot SET height = 9, head_hash = :h, status = 'open', result = NULL, "
                "passed = NULL, closed_at = NULL, published_at = NULL WHERE id = :b"
            ),
            {"h": built.heads[8], "b": built.ballot_id},
        )
    rewound = verify(database, built.ballot_id)
    assert rewound.ok, rewound.problems
    assert rewound.head == built.heads[8]

    anchored = verify(database, built.ballot_id, expect_head=published)
    assert not anchored.ok
    assert anchored.problems == [
        f"发布过的链头 {published} 不在账本中：它之后（或它本身）的记录被删除或改写"
    ]
    assert verify(database, built.ballot_id, expect_head=built.open_head).ok


def test_vote_rows_that_disagree_with_the_ledger_are_named(
    scratch: tuple[Database, Built],
) -> None:
    """The vote table has no triggers: the ledger is the reference it is checked against."""
    database, built = scratch
    receipt = built.receipts["o1"]  # a current "no"
    with database.write_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE vote SET option_id = (SELECT id FROM ballot_option "
                "WHERE ballot_id = :b AND code = 'yes') WHERE receipt = :r"
            ),
            {"b": built.ballot_id, "r": receipt},
        )
    result = verify(database, built.ballot_id)
    assert result.problems == [f"投票表中回执 {receipt} 的选项是 yes，账本中是 no"]

    # A phantom vote for owner 6, who never voted.
    with database.session(read_only=True) as s:
        ballot = s.get(Ballot, built.ballot_id)
        assert ballot is not None
        mine = queries.my_vote(s, ballot, built.owners[6].id)
        assert mine is not None
        template = s.exec(select(Vote).where(Vote.receipt == receipt)).one()
    with database.write_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO vote (hall_id, ballot_id, roll_id, option_id, channel, cast_by_id, "
                "cast_at, submission_id, receipt, is_current) VALUES (:h, :b, :r, :o, 'phone', "
                ":u, :t, :s, 'PHANTOM00001', true)"
            ),
            {
                "h": template.hall_id,
                "b": built.ballot_id,
                "r": mine.roll_id,
                "o": template.option_id,
                "u": built.owners[6].id,
                "t": template.cast_at,
                "s": sid(),
            },
        )
    result = verify(database, built.ballot_id)
    assert "投票表中回执 PHANTOM00001 的票在账本中没有记录" in result.problems
    assert "投票表中回执 PHANTOM00001 是当前票（yes），账本中此人没有当前票" in result.problems


def test_a_changed_roll_weight_breaks_the_roll_hash(scratch: tuple[Database, Built]) -> None:
    database, built = scratch
    with database.write_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ballot_roll SET weight_centi_m2 = weight_centi_m2 + 10000 "
                "WHERE id = (SELECT min(id) FROM ballot_roll WHERE ballot_id = :b)"
            ),
            {"b": built.ballot_id},
        )
    result = verify(database, built.ballot_id)
    assert not result.ok
    assert result.problems[0].startswith("投票人名单哈希复算为")
    assert any("与开始投票时公布的" in p for p in result.problems)


def test_an_open_ballot_verifies_without_a_recount(db: Database) -> None:
    world, owners = make_owners_hall(db, owners=3)
    chair = make_chair(db, world)
    issue, _ = make_deciding_issue(db, world, chair)
    ballot = owners_ballot(db, world, chair, issue)
    cast(db, world, owners[0], ballot.id or 0, "yes")
    result = verify(db, ballot.id or 0)
    assert result.ok, result.problems
    assert (result.checked, result.votes, result.recounted) == (2, 1, False)
    with db.session(read_only=True) as s:
        stored = s.get(Ballot, ballot.id)
        assert stored is not None
        assert stored.status == BallotStatus.OPEN
