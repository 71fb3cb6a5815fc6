"""Pure parsing and validation of a household roster (CSV or XLSX rows, already as text).

Columns: 楼栋, 单元, 房号, 面积, 姓名, 电话, 身份. Every bad row is reported with its line
number and the problems found; nothing is skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from app.halls.models import Relation

COLUMNS = ("楼栋", "单元", "房号", "面积", "姓名", "电话", "身份")
REQUIRED = ("楼栋", "单元", "房号")
RELATIONS = {"业主": Relation.OWNER, "租户": Relation.TENANT, "家庭成员": Relation.FAMILY}
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
MAX_ROWS = 20000
MAX_AREA_CENTI = 100_000 * 100  # 100,000 m², INPUT-01's upper bound


@dataclass(frozen=True)
class RosterRow:
    line: int
    building: str
    entrance: str
    room: str
    area_centi_m2: int | None
    name: str
    phone: str
    relation: Relation | None


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    code: str
    value: str


@dataclass
class ParsedRoster:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and self.total > 0


def parse_area(raw: str) -> int | None:
    """'89.5' -> 8950 hundredths of m²; None when not a positive number with ≤ 2 decimals."""
    text = raw.strip().removesuffix("㎡").removesuffix("m²").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > MAX_AREA_CENTI // 100:
        return None
    # Exact digit arithmetic: Decimal's `*` rounds to 28 digits (1.000…0001 would pass),
    # overflows on 9E+999999 and underflows 1E-1000000000 to 0.
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    extra = -exponent - 2  # digits below a hundredth
    if extra > 0:
        if any(digits[-extra:]):
            return None
        digits, exponent = digits[:-extra], -2
    return int("".join(map(str, digits)) + "0" * (exponent + 2))


def _header_index(header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    names = [h.strip().lstrip("\ufeff") for h in header]
    index = {name: names.index(name) for name in COLUMNS if name in names}
    missing = [name for name in REQUIRED if name not in index]
    return index, missing


def parse_rows(table: Iterable[Sequence[str]]) -> ParsedRoster:
    """Validate a whole table (first row = header). Collects every problem of every row."""
    result = ParsedRoster()
    iterator = iter(table)
    header = next(iterator, None)
    if header is None:
        result.errors.append(RowError(1, "", "roster_empty", ""))
        return result
    index, missing = _header_index(header)
    if missing:
        result.errors.extend(RowError(1, name, "column_missing", "") for name in missing)
        return result
    seen: dict[tuple[str, str, str], int] = {}
    seen_phones: dict[str, int] = {}
    for line, raw in enumerate(iterator, start=2):
        cells = {
            name: (raw[i].strip() if i < len(raw) and raw[i] is not None else "")
            for name, i in index.items()
        }
        if not any(cells.values()):
            continue  # a blank line is not a row
        result.total += 1
        if result.total > MAX_ROWS:
            result.errors.append(RowError(line, "", "roster_too_large", str(MAX_ROWS)))
            break
        errors: list[RowError] = []
        for name in REQUIRED:
            if not cells.get(name):
                errors.append(RowError(line, name, "required", ""))
            elif len(cells[name]) > (12 if name == "房号" else 20):
                errors.append(RowError(line, name, "too_long", cells[name]))
        area_raw = cells.get("面积", "")
        area = parse_area(area_raw) if area_raw else None
        if area_raw and area is None:
            errors.append(RowError(line, "面积", "area_invalid", area_raw))
        name = cells.get("姓名", "")
        phone = cells.get("电话", "")
        relation_raw = cells.get("身份", "")
        relation = RELATIONS.get(relation_raw) if relation_raw else None
        if len(name) > 40:
            errors.append(RowError(line, "姓名", "too_long", name[:40]))
        if phone and not PHONE_RE.fullmatch(phone):
            errors.append(RowError(line, "电话", "phone_invalid", phone))
        if relation_raw and relation is None:
            errors.append(RowError(line, "身份", "relation_invalid", relation_raw))
        if (phone or relation_raw) and not name:
            errors.append(RowError(line, "姓名", "required", ""))
        if name and relation is None and not relation_raw:
            errors.append(RowError(line, "身份", "required", ""))
        key = (cells.get("楼栋", ""), cells.get("单元", ""), cells.get("房号", ""))
        if all(key) and key in seen and not name:
            errors.append(RowError(line, "房号", "duplicate_room", str(seen[key])))
        if phone and phone in seen_phones:
            errors.append(RowError(line, "电话", "duplicate_phone", str(seen_phones[phone])))
        if errors:
            result.errors.extend(errors)
            continue
        seen.setdefault(key, line)
        if phone:
            seen_phones[phone] = line
        result.rows.append(RosterRow(line, key[0], key[1], key[2], area, name, phone, relation))
    if result.total == 0 and not result.errors:
        result.errors.append(RowError(1, "", "roster_empty", ""))
    return result


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """Rows of text from an uploaded CSV (UTF-8 or GBK, as Excel saves it in China) or XLSX.

    Raises ValueError("file_unreadable") when the bytes are neither.
    """
    import csv
    import io

    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise ValueError("file_unreadable") from exc
        sheet = book.worksheets[0]
        rows = [
            ["" if cell is None else _cell_text(cell) for cell in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        book.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return [list(row) for row in csv.reader(io.StringIO(text))]
        except csv.Error as exc:  # e.g. a bare carriage return inside a field
            raise ValueError("file_unreadable") from exc
    raise ValueError("file_unreadable")


def _cell_text(value: object) -> str:
    # Excel stores 501 as the float 501.0 and phone numbers as large integers.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
