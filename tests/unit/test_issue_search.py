"""Chinese full-text search: character bigrams (app/issues/search.py) and the two indexes.

The tokenizer is pure; the DB tests check that the migration's FTS5 table (SQLite, kept in
step by triggers) and GIN expression index (PostgreSQL) find a two-character query.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text, update
from sqlmodel import col

from app.db import Database
from app.issues import search
from app.issues.models import Issue
from tests.factories import make_hall, make_issue, make_member

# ---------------------------------------------------------------------------------------------
# tokens


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("停车难", ["停车", "车难"]),
        ("停", ["停"]),
        ("", []),
        ("   ", []),
        ("停车，难！", ["停车", "难"]),  # punctuation splits runs
        ("「电梯」加装?", ["电梯", "加装"]),
        ("3号楼2单元", ["3", "号楼", "2", "单元"]),
        ("Wi-Fi密码", ["wi", "fi", "密码"]),
        ("ABC停车123", ["abc", "停车", "123"]),
        ("12345工单", ["12345", "工单"]),
        ("电动车 充电桩", ["电动", "动车", "充电", "电桩"]),
        ("a b", ["a", "b"]),
        ("㐀㐁", ["㐀㐁"]),  # CJK extension A
        ("emoji🚗停车", ["emoji", "停车"]),
    ],
)
def test_tokens(raw: str, expected: list[str]) -> None:
    assert search.tokens(raw) == expected


def test_full_width_letters_and_digits_are_the_same_as_half_width() -> None:
    """Chinese input methods often type ＡＢＣ and １２３４５; they must match abc and 12345."""
    assert search.tokens("１２３４５号工单ＡＢ") == ["12345", "号工", "工单", "ab"]
    assert search.query_terms("１２３４５") == search.query_terms("12345") == ["12345"]


def test_index_text_joins_every_part() -> None:
    assert search.index_text("停车难", "", "3号楼") == "停车 车难 3 号楼"
    assert search.index_text("停车", "难") == "停车 难"  # parts do not run together


def test_query_terms_are_distinct_in_order_and_limited() -> None:
    assert search.query_terms("停车停车") == ["停车", "车停"]
    assert search.query_terms("Parking parking 停车") == ["parking", "停车"]
    assert search.query_terms("，。！") == []
    long = "社区居民协商议事厅停车电梯垃圾分类绿化养老"
    assert len(search.tokens(long)) > 12
    assert search.query_terms(long) == search.tokens(long)[:12]
    assert search.query_terms(long, limit=3) == ["社区", "区居", "居民"]


_CJK_CHARS = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_OTHER = st.sampled_from(list("abcXYZ0189 ,.，。！？、-_/（）\n"))
_TEXT = st.lists(st.one_of(_CJK_CHARS, _CJK_CHARS, _OTHER), max_size=40).map("".join)


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u4dbf" or "\u4e00" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


@given(_TEXT)
def test_every_two_character_cjk_substring_is_a_token(raw: str) -> None:
    found = set(search.tokens(raw))
    for i in range(len(raw) - 1):
        pair = raw[i : i + 2]
        if _cjk(pair[0]) and _cjk(pair[1]):
            assert pair in found, (raw, pair)


@given(st.text(max_size=60))
def test_tokens_are_clean_words(raw: str) -> None:
    for token in search.tokens(raw):
        assert token
        assert not any(ch.isspace() for ch in token)
        if _cjk(token[0]):
            assert len(token) <= 2
        else:
            assert token.isascii()
            assert token.isalnum()
            assert token == token.lower()
    # indexing is stable: the index text tokenizes to the same terms
    assert search.tokens(search.index_text(raw)) == search.tokens(raw)


# ---------------------------------------------------------------------------------------------
# The database indexes, on both backends


def _match(db: Database, query: str) -> set[int]:
    terms = search.query_terms(query)
    with db.session(read_only=True) as session:
        if db.is_sqlite:
            q = " ".join(f'"{t}"' for t in terms)
            rows = session.execute(
                text("SELECT rowid FROM issue_fts WHERE issue_fts MATCH :q"), {"q": q}
            ).all()
        else:
            q = " & ".join(terms)
            rows = session.execute(
                text(
                    "SELECT id FROM issue "
                    "WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', :q)"
                ),
                {"q": q},
            ).all()
    return {int(r[0]) for r in rows}


def test_a_two_character_query_finds_the_issue(db: Database) -> None:
    world = make_hall(db, buildings=1, entrances=1, rooms=2)
    user, _ = make_member(db, world)
    parking = make_issue(
        db, world, user, title="楼道堆物影响消防通道", description="请物业清理", location="5号楼"
    )
    other = make_issue(db, world, user, title="广场舞噪音扰民", description="晚上九点以后")

    assert parking.id in _match(db, "消防")
    assert parking.id in _match(db, "堆物")
    assert parking.id in _match(db, "物业")  # the description is indexed too
    assert other.id not in _match(db, "消防")
    assert other.id in _match(db, "噪音")
    assert parking.id in _match(db, "消防通道")  # all bigrams must match (AND)
    assert parking.id not in _match(db, "消防噪音")
    assert parking.id in _match(db, "５号楼")  # full-width digit typed by an IME

    # changing search_text keeps the index in step (SQLite: the issue_fts_update trigger)
    with db.session() as session:
        session.exec(
            update(Issue)
            .where(col(Issue.id) == parking.id)
            .values(search_text=search.index_text("垃圾分类", "厨余垃圾"))
        )
        session.commit()
    assert parking.id not in _match(db, "消防")
    assert parking.id in _match(db, "垃圾")
    assert parking.id in _match(db, "厨余")


def test_the_search_index_exists_and_agrees_with_the_table(db: Database) -> None:
    with db.session() as session:
        if db.is_sqlite:
            # FTS5 compares the external-content index with issue.search_text row for row.
            session.execute(text("INSERT INTO issue_fts(issue_fts) VALUES ('integrity-check')"))
            session.rollback()
        else:
            definition = session.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_issue_search'")
            ).scalar_one()
            assert "gin" in definition
            assert "to_tsvector('simple'" in definition
