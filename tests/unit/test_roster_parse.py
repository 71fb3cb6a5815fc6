"""Pure tests of app/halls/roster.py: every error code with its line, file decoding, areas."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from app.halls.models import Relation
from app.halls.roster import (
    COLUMNS,
    MAX_AREA_CENTI,
    MAX_ROWS,
    RosterFileError,
    RosterRow,
    RowError,
    parse_area,
    parse_rows,
    read_table,
)
from tests import roster_files

HEADER = list(COLUMNS)


def table(*rows: list[str]) -> list[list[str]]:
    return [HEADER, *rows]


def codes(parsed_errors: list[RowError]) -> list[tuple[int, str, str]]:
    return [(e.line, e.column, e.code) for e in parsed_errors]


# --- good rows ----------------------------------------------------------------------------


def test_good_rows_parse_into_typed_rows() -> None:
    parsed = parse_rows(
        table(
            ["1号楼", "1单元", "101", "89.50", "张桂芳", "13800001234", "业主"],
            ["1号楼", "1单元", "101", "", "李明", "", "家庭成员"],
            ["1号楼", "2单元", "201", "120", "", "", ""],
            ["2号楼", "1单元", "301", "75.5㎡", "王芳", "13900001234", "租户"],
        )
    )
    assert parsed.ok
    assert parsed.errors == []
    assert parsed.total == 4
    assert parsed.rows == [
        RosterRow(2, "1号楼", "1单元", "101", 8950, "张桂芳", "13800001234", Relation.OWNER),
        RosterRow(3, "1号楼", "1单元", "101", None, "李明", "", Relation.FAMILY),
        RosterRow(4, "1号楼", "2单元", "201", 12000, "", "", None),
        RosterRow(5, "2号楼", "1单元", "301", 7550, "王芳", "13900001234", Relation.TENANT),
    ]


def test_cells_are_stripped_and_header_order_does_not_matter() -> None:
    header = ["身份", " 电话 ", "姓名", "面积", "房号", "单元", "\ufeff楼栋"]
    parsed = parse_rows(
        [header, [" 业主 ", "13800001234", " 张三 ", " 60.25 ", " 502", "3单元 ", " 5号楼"]]
    )
    assert parsed.ok, parsed.errors
    assert parsed.rows == [
        RosterRow(2, "5号楼", "3单元", "502", 6025, "张三", "13800001234", Relation.OWNER)
    ]


def test_optional_columns_may_be_absent_and_short_rows_are_padded() -> None:
    parsed = parse_rows([["楼栋", "单元", "房号"], ["1号楼", "1单元", "101"], ["1号楼", "1单元"]])
    assert parsed.rows == [RosterRow(2, "1号楼", "1单元", "101", None, "", "", None)]
    assert codes(parsed.errors) == [(3, "房号", "required")]


def test_blank_lines_are_ignored_but_keep_line_numbers() -> None:
    parsed = parse_rows(
        table(
            ["", "", "", "", "", "", ""],
            ["1号楼", "1单元", "101", "60", "", "", ""],
            [],
            ["   ", "", " ", "", "", "", ""],
            ["1号楼", "1单元", "", "60", "", "", ""],
        )
    )
    assert parsed.total == 2  # blank lines are not rows
    assert [r.line for r in parsed.rows] == [3]
    assert codes(parsed.errors) == [(6, "房号", "required")]


# --- every error code, with its line -------------------------------------------------------


def test_roster_empty_without_any_row() -> None:
    assert codes(parse_rows([]).errors) == [(1, "", "roster_empty")]
    assert codes(parse_rows([HEADER]).errors) == [(1, "", "roster_empty")]
    assert codes(parse_rows([HEADER, [""] * 7, []]).errors) == [(1, "", "roster_empty")]
    assert not parse_rows([HEADER]).ok


def test_column_missing_lists_each_required_column_on_line_1() -> None:
    parsed = parse_rows([["楼栋", "面积", "姓名"], ["1号楼", "60", "张三"]])
    assert codes(parsed.errors) == [(1, "单元", "column_missing"), (1, "房号", "column_missing")]
    assert parsed.rows == []
    assert not parsed.ok


def test_required_address_columns() -> None:
    parsed = parse_rows(
        table(
            ["", "1单元", "101", "", "", "", ""],
            ["1号楼", "", "101", "", "", "", ""],
            ["1号楼", "1单元", "", "60", "", "", ""],
        )
    )
    assert codes(parsed.errors) == [
        (2, "楼栋", "required"),
        (3, "单元", "required"),
        (4, "房号", "required"),
    ]
    assert parsed.rows == []


def test_required_name_and_relation_for_a_person() -> None:
    parsed = parse_rows(
        table(
            ["1号楼", "1单元", "101", "", "", "13800001234", "业主"],  # a phone without a name
            ["1号楼", "1单元", "102", "", "", "", "租户"],  # a relation without a name
            ["1号楼", "1单元", "103", "", "张三", "", ""],  # a name without a relation
        )
    )
    assert codes(parsed.errors) == [
        (2, "姓名", "required"),
        (3, "姓名", "required"),
        (4, "身份", "required"),
    ]


def test_too_long_values() -> None:
    parsed = parse_rows(
        table(
            ["楼" * 21, "1单元", "101", "", "", "", ""],
            ["1号楼", "单" * 21, "101", "", "", "", ""],
            ["1号楼", "1单元", "1" * 13, "", "", "", ""],
            ["1号楼", "1单元", "104", "", "名" * 41, "", "业主"],
            ["楼" * 20, "单" * 20, "1" * 12, "", "名" * 40, "", "业主"],  # at the limits: fine
        )
    )
    assert codes(parsed.errors) == [
        (2, "楼栋", "too_long"),
        (3, "单元", "too_long"),
        (4, "房号", "too_long"),
        (5, "姓名", "too_long"),
    ]
    assert parsed.errors[2].value == "1" * 13
    assert parsed.errors[3].value == "名" * 40  # the reported value is cut, not the whole input
    assert [r.line for r in parsed.rows] == [6]


@pytest.mark.parametrize(
    "area", ["abc", "0", "-5", "89.555", "1e-3", "100000.01", "NaN", "Infinity", "８９.５.５"]
)
def test_area_invalid(area: str) -> None:
    parsed = parse_rows(table(["1号楼", "1单元", "101", area, "", "", ""]))
    assert codes(parsed.errors) == [(2, "面积", "area_invalid")]
    assert parsed.errors[0].value == area


@pytest.mark.parametrize(
    "phone",
    ["1380000123", "138000012345", "12800001234", "1380000123a", "+8613800001234", "138-0000-1234"],
)
def test_phone_invalid(phone: str) -> None:
    parsed = parse_rows(table(["1号楼", "1单元", "101", "", "张三", phone, "业主"]))
    assert codes(parsed.errors) == [(2, "电话", "phone_invalid")]
    assert parsed.errors[0].value == phone


@pytest.mark.parametrize("relation", ["房东", "owner", "业 主", "家属"])
def test_relation_invalid(relation: str) -> None:
    parsed = parse_rows(table(["1号楼", "1单元", "101", "", "张三", "", relation]))
    assert codes(parsed.errors) == [(2, "身份", "relation_invalid")]
    assert parsed.errors[0].value == relation


def test_duplicate_room_without_people_points_to_the_first_line() -> None:
    parsed = parse_rows(
        table(
            ["1号楼", "1单元", "101", "60", "", "", ""],
            ["1号楼", "1单元", "102", "60", "", "", ""],
            ["1号楼", "1单元", "101", "70", "", "", ""],
        )
    )
    assert codes(parsed.errors) == [(4, "房号", "duplicate_room")]
    assert parsed.errors[0].value == "2"


def test_several_people_of_one_room_are_not_duplicates_but_a_bare_room_line_is() -> None:
    parsed = parse_rows(
        table(
            ["1号楼", "1单元", "101", "60", "张三", "13800001234", "业主"],
            ["1号楼", "1单元", "101", "", "李四", "13800001235", "家庭成员"],
            ["1号楼", "1单元", "101", "", "", "", ""],
        )
    )
    assert [r.name for r in parsed.rows] == ["张三", "李四"]
    assert codes(parsed.errors) == [(4, "房号", "duplicate_room")]
    assert parsed.errors[0].value == "2"


def test_duplicate_phone_points_to_the_first_line() -> None:
    parsed = parse_rows(
        table(
            ["1号楼", "1单元", "101", "", "张三", "13800001234", "业主"],
            ["1号楼", "1单元", "102", "", "李四", "13800005678", "业主"],
            ["1号楼", "2单元", "201", "", "王五", "13800001234", "租户"],
        )
    )
    assert codes(parsed.errors) == [(4, "电话", "duplicate_phone")]
    assert parsed.errors[0].value == "2"


def test_every_problem_of_every_row_is_reported() -> None:
    rows = [["1号楼", "1单元", str(100 + i), "60", "", "", ""] for i in range(1, 51)]
    rows[9] = ["1号楼", "1单元", "110", "六十", "张三", "1234", "房东"]
    rows[39] = ["", "1单元", "140", "60", "", "", ""]
    parsed = parse_rows(table(*rows))
    assert parsed.total == 50
    assert codes(parsed.errors) == [
        (11, "面积", "area_invalid"),
        (11, "电话", "phone_invalid"),
        (11, "身份", "relation_invalid"),
        (41, "楼栋", "required"),
    ]
    assert len(parsed.rows) == 48
    assert not parsed.ok


def test_roster_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.halls import roster

    monkeypatch.setattr(roster, "MAX_ROWS", 3)
    parsed = parse_rows(
        table(*[["1号楼", "1单元", str(100 + i), "", "", "", ""] for i in range(5)])
    )
    assert codes(parsed.errors) == [(5, "", "roster_too_large")]


# --- reading files ------------------------------------------------------------------------


CSV_TEXT = "楼栋,单元,房号,面积,姓名,电话,身份\r\n3号楼,2单元,501,89.5,张桂芳,13800001234,业主\r\n"


def test_gbk_csv_as_excel_saves_it_in_china() -> None:
    rows = read_table("名册.csv", CSV_TEXT.encode("gbk"))
    assert rows == [HEADER, ["3号楼", "2单元", "501", "89.5", "张桂芳", "13800001234", "业主"]]
    assert parse_rows(rows).ok


def test_utf8_csv_with_bom() -> None:
    data = "\ufeff".encode() + CSV_TEXT.encode()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = read_table("roster.csv", data)
    assert rows[0] == HEADER  # the BOM is not part of 楼栋
    assert parse_rows(rows).rows[0].area_centi_m2 == 8950


def test_plain_utf8_csv_with_quotes_and_commas() -> None:
    data = '楼栋,单元,房号,面积,姓名,电话,身份\n"3号楼","2单元","501","1,000",张三,,业主\n'.encode()
    rows = read_table("roster.csv", data)
    assert rows[1][3] == "1,000"
    assert codes(parse_rows(rows).errors) == [(2, "面积", "area_invalid")]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_numbers_become_the_text_a_person_typed() -> None:
    data = _xlsx(
        [
            HEADER,
            ["3号楼", "2单元", 501.0, 89.5, "张桂芳", 13800001234, "业主"],
            [3, 1, 502, 100.0, "李四", 13900001234.0, "租户"],
            ["3号楼", "2单元", 503, 60.25, None, None, None],
        ]
    )
    rows = read_table("名册.xlsx", data)
    assert rows[1] == ["3号楼", "2单元", "501", "89.5", "张桂芳", "13800001234", "业主"]
    assert rows[2] == ["3", "1", "502", "100", "李四", "13900001234", "租户"]
    assert rows[3] == ["3号楼", "2单元", "503", "60.25"]  # trailing empty cells are dropped
    parsed = parse_rows(rows)
    assert parsed.ok, parsed.errors
    assert [(r.room, r.area_centi_m2, r.phone) for r in parsed.rows] == [
        ("501", 8950, "13800001234"),
        ("502", 10000, "13900001234"),
        ("503", 6025, ""),
    ]


def test_xlsx_is_recognised_by_content_whatever_the_name() -> None:
    data = _xlsx([HEADER, ["1号楼", "1单元", 101, 50, None, None, None]])
    assert read_table("upload", data)[1][:4] == ["1号楼", "1单元", "101", "50"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("broken.xlsx", b"PK\x03\x04 this is no workbook"),
        ("photo.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("binary.csv", bytes(range(128, 256)) * 4),
        ("cut.xlsx", roster_files.cut_zip_xlsx()),
        ("huge-field.csv", ("楼栋,单元,房号\n1号楼,1单元," + "9" * 200_000 + "\n").encode()),
    ],
)
def test_unreadable_files_raise_value_error(name: str, data: bytes) -> None:
    with pytest.raises(RosterFileError, match="file_unreadable"):
        read_table(name, data)
    with pytest.raises(ValueError, match="file_unreadable"):  # still a ValueError for callers
        read_table(name, data)


# --- hostile workbooks: one clear code each, read wholly inside the guard ---------------


@pytest.mark.parametrize(
    ("build", "code", "value"),
    [
        (roster_files.no_sheet_xlsx, "workbook_no_sheet", ""),  # was an IndexError
        (roster_files.missing_sheet_xlsx, "workbook_no_sheet", ""),
        (roster_files.truncated_sheet_xlsx, "workbook_damaged", ""),  # was a ParseError
        (roster_files.bad_crc_xlsx, "workbook_damaged", ""),
        (roster_files.zip_bomb_xlsx, "workbook_too_large", "64"),
        (roster_files.million_rows_xlsx, "workbook_too_large", "64"),
        (lambda: roster_files.million_rows_xlsx(25_000), "roster_too_large", "20000"),
        (roster_files.million_rows_csv, "roster_too_large", "20000"),
    ],
    ids=[
        "no-sheet",
        "missing-sheet",
        "truncated-sheet",
        "bad-crc",
        "zip-bomb-200MB",
        "xlsx-1e6-rows",
        "xlsx-25000-rows",
        "csv-1e6-rows",
    ],
)
def test_hostile_workbooks_raise_one_clear_code(
    build: Callable[[], bytes], code: str, value: str
) -> None:
    data = build()
    name = "roster.csv" if data[:2] != b"PK" else "roster.xlsx"
    started = time.perf_counter()
    with pytest.raises(RosterFileError) as caught:
        read_table(name, data)
    assert (caught.value.code, caught.value.value) == (code, value)
    assert time.perf_counter() - started < 5  # refused early, not after reading it all


def test_a_sheet_of_a_million_blank_rows_is_refused() -> None:
    data = b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n" + b",,,\r\n" * 10**6
    with pytest.raises(RosterFileError) as caught:
        read_table("blank.csv", data)
    assert caught.value.code == "roster_too_large"


def test_the_row_cap_is_exact() -> None:
    rows = "".join(f"1号楼,1单元,{i},60,,,\r\n" for i in range(MAX_ROWS))
    data = (",".join(COLUMNS) + "\r\n" + rows).encode()
    assert len(read_table("ok.csv", data)) == MAX_ROWS + 1
    with pytest.raises(RosterFileError, match="roster_too_large"):
        read_table("over.csv", data + "1号楼,1单元,x,60,,,\r\n".encode())


def test_xlsx_areas_are_exact_and_refused_beyond_two_decimals() -> None:
    data = roster_files.xlsx(
        [
            ["1号楼", "1单元", 101, 89.5, None, None, None],
            ["1号楼", "1单元", 102, 89.555, None, None, None],
            ["1号楼", "1单元", 103, 60.125, None, None, None],
            ["1号楼", "1单元", 104, -60, None, None, None],
            ["1号楼", "1单元", 105, 1e3, None, None, None],
            ["1号楼", "1单元", 106, "1_000", None, None, None],
            ["1号楼", "1单元", 107, "1e3", None, None, None],
        ]
    )
    parsed = parse_rows(read_table("areas.xlsx", data))
    assert [(r.room, r.area_centi_m2) for r in parsed.rows] == [("101", 8950), ("105", 100000)]
    assert [(e.line, e.code, e.value) for e in parsed.errors] == [
        (3, "area_invalid", "89.555"),
        (4, "area_invalid", "60.125"),
        (5, "area_invalid", "-60"),
        (7, "area_invalid", "1_000"),
        (8, "area_invalid", "1e3"),
    ]


# --- areas --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("89.5", 8950),
        ("89.50", 8950),
        ("0.01", 1),
        ("100000", MAX_AREA_CENTI),
        ("100000.00", MAX_AREA_CENTI),
        (" 60.25 ", 6025),
        ("75㎡", 7500),
        ("75 m²", 7500),
        ("007.5", 750),
        # Strict: only what a person plainly types. Decimal() would take every one of these.
        ("1_000", None),
        ("1.5e1", None),
        ("1e3", None),
        ("89.500", None),
        ("89.500000000000000000000000000000", None),
        ("８９.５", None),  # full-width digits
        ("٨٩", None),  # Arabic-Indic digits
        ("+89", None),
        ("89.", None),
        (".5", None),
        ("1,000", None),
        ("NaN", None),
        ("inf", None),
        ("0.00", None),
        ("100000.01", None),
        ("0.001", None),
        ("0", None),
        ("-1", None),
        ("", None),
        ("abc", None),
        ("sNaN", None),
        ("-Infinity", None),
        # Exactness traps of Decimal arithmetic at the default 28-digit context:
        ("1.000000000000000000000000000001", None),  # rounds to 100 hundredths
        ("9E+999999", None),  # Overflow on `* 100`
        ("1E-1000000000", None),  # underflows to 0 hundredths
    ],
)
def test_parse_area_examples(raw: str, expected: int | None) -> None:
    assert parse_area(raw) == expected


def reference_area(raw: str) -> int | None:
    """Exact reference: ASCII digits, at most one '.', at most 2 decimals, positive,
    at most 100000 m² → hundredths."""
    text = raw.strip().removesuffix("㎡").removesuffix("m²").strip()
    whole, dot, decimals = text.partition(".")
    if not whole or (dot and not decimals) or len(decimals) > 2 or len(whole) > 6:
        return None
    if any(c not in "0123456789" for c in whole + decimals):
        return None
    centi = Fraction(text) * 100
    assert centi.denominator == 1
    return int(centi) if 0 < centi <= 100_000 * 100 else None


number_text = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=Decimal("-1"), max_value=Decimal("200000"), places=2).map(str),
    st.decimals(min_value=Decimal(0), max_value=Decimal("100001"), places=3).map(str),
    st.integers(min_value=-10, max_value=10**6).map(str),
    st.floats(allow_nan=True).map(str),
    st.builds(
        lambda whole, frac, zeros, tail: f"{whole}.{frac}{'0' * zeros}{tail}",
        st.integers(0, 100_001),
        st.sampled_from(["", "0", "5", "05", "50", "99"]),
        st.integers(0, 40),
        st.sampled_from(["", "1", "0"]),
    ),
    st.builds(
        lambda mantissa, exp: f"{mantissa}E{exp}",
        st.integers(-10, 10**5),
        st.integers(-(10**12), 10**12),
    ),
    st.builds(
        lambda pad, number, unit: f"{pad}{number}{unit}{pad}",
        st.sampled_from(["", " ", "\t"]),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2).map(str),
        st.sampled_from(["", "㎡", "m²", " ㎡"]),
    ),
    st.text(max_size=30),
)


@settings(max_examples=600, deadline=None)
@given(number_text)
@example("1.000000000000000000000000000001")
@example("9E+999999")
@example("1E-1000000000")
@example("1E+1000000000000000000000")
@example("100000.000000000000000000000000000000001")
@example("1_000")
@example("1_0.5")
@example("８９")
def test_parse_area_agrees_with_an_exact_decimal_reference(raw: str) -> None:
    result = parse_area(raw)  # never raises
    assert result == reference_area(raw)
    if result is not None:
        assert isinstance(result, int)
        assert 0 < result <= MAX_AREA_CENTI


def test_control_characters_in_a_cell_are_refused_and_shown_escaped() -> None:
    parsed = parse_rows(
        table(
            ["1号楼\x00", "1单元", "101", "", "", "", ""],
            ["1号楼", "1单元", "102\n3", "", "张三\x1b", "", "业主"],
            ["1号楼", "1单元", "103", "", "", "", ""],
        )
    )
    assert [(e.line, e.column, e.code, e.value) for e in parsed.errors] == [
        (2, "楼栋", "cell_invalid", "1号楼\\x00"),
        (3, "房号", "cell_invalid", "102\\x0a3"),
        (3, "姓名", "cell_invalid", "张三\\x1b"),
    ]
    assert [r.room for r in parsed.rows] == ["103"]
