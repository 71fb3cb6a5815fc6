"""Pure parsing and validation of a household roster (CSV or XLSX rows, already as text).

Columns: 楼栋, 单元, 房号, 面积, 姓名, 电话, 身份. Every bad row is reported with its line
number and the problems found; nothing is skipped silently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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


AREA_RE = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,2})?", re.ASCII)


def parse_area(raw: str) -> int | None:
    """'89.5' -> 8950 hundredths of m²; None unless plain ASCII digits with at most one '.' and
    at most two decimals, positive and at most 100,000 m² (a unit ㎡ / m² may follow).

    Strict on purpose: Decimal() also takes '1_000', '1e3', full-width digits, 'NaN' and '89.500',
    and the area decides 民法典 278 votes, so anything a person did not plainly type is refused.
    """
    text = raw.strip().removesuffix("㎡").removesuffix("m²").strip()
    if not AREA_RE.fullmatch(text):
        return None
    whole, _, decimals = text.partition(".")
    centi = int(whole) * 100 + int(decimals.ljust(2, "0"))
    if centi <= 0 or centi > MAX_AREA_CENTI:
        return None
    return centi


def _control(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Cs")


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
        for column, value in cells.items():
            if any(_control(c) for c in value):
                # NUL, line breaks, escape codes: no name or address holds them, and PostgreSQL
                # refuses NUL in text. Shown escaped, so the report says where it is.
                shown = "".join(f"\\x{ord(c):02x}" if _control(c) else c for c in value)
                errors.append(RowError(line, column, "cell_invalid", shown[:40]))
        if errors:
            result.errors.extend(errors)
            continue
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


# --- the preview: what an import would do, compared with the hall as it is ---------------

Key = tuple[str, str, str]  # 楼栋, 单元, 房号


@dataclass(frozen=True)
class Frozen:
    """An open owners' ballot whose frozen roll holds this household: the vote keeps counting
    the area frozen at open (the voter's weight, over `units` households)."""

    ballot_id: int
    title: str
    weight_centi_m2: int
    units: int


@dataclass(frozen=True)
class HallState:
    """What the import compares against, read from the hall in one go."""

    areas: dict[Key, int | None]
    member_phones: set[str]  # people with a membership of the hall (any status)
    phoneless_members: set[tuple[Key, str]]  # members without a phone: household and name
    frozen: dict[Key, list[Frozen]]


@dataclass(frozen=True)
class PreviewRow:
    line: int
    building: str
    entrance: str
    room: str
    status: str  # new | changed | unchanged
    household: str  # new | changed | unchanged
    area_old: int | None  # None for a new household
    area_new: int | None  # the area after the import
    name: str
    phone: str
    relation: Relation | None
    person: str  # "" (no person) | new (not yet a member of the hall) | member (already one)
    frozen: tuple[Frozen, ...]  # open ballots that keep this household's frozen area

    @property
    def area_changed(self) -> bool:
        return self.household == "changed"


@dataclass(frozen=True)
class Preview:
    rows: list[PreviewRow]
    counts: dict[str, int]
    fingerprint: str

    def of(self, status: str) -> list[PreviewRow]:
        return [r for r in self.rows if r.status == status]


def compare(rows: Sequence[RosterRow], state: HallState) -> Preview:
    """What importing `rows` would do, row by row, mirroring halls.service.import_roster: a
    later row sees what an earlier row created. The fingerprint covers every old and new value,
    so a confirm can tell whether the hall changed since the chair looked."""
    areas = dict(state.areas)
    buildings = {k[0] for k in areas}
    entrances = {k[:2] for k in areas}
    members = set(state.member_phones)
    phoneless = set(state.phoneless_members)
    counts = dict.fromkeys(
        (
            "new",
            "changed",
            "unchanged",
            "buildings_created",
            "entrances_created",
            "households_created",
            "areas_updated",
            "members_created",
            "members_existing",
        ),
        0,
    )
    out: list[PreviewRow] = []
    for row in rows:
        key = (row.building, row.entrance, row.room)
        if row.building not in buildings:
            buildings.add(row.building)
            counts["buildings_created"] += 1
        if key[:2] not in entrances:
            entrances.add(key[:2])
            counts["entrances_created"] += 1
        frozen: tuple[Frozen, ...] = ()
        if key not in areas:
            household, old, new = "new", None, row.area_centi_m2
            areas[key] = new
            counts["households_created"] += 1
        else:
            old = new = areas[key]
            household = "unchanged"
            if row.area_centi_m2 is not None and row.area_centi_m2 != old:
                household, new = "changed", row.area_centi_m2
                areas[key] = new
                counts["areas_updated"] += 1
                frozen = tuple(state.frozen.get(key, ()))
        person = ""
        if row.name and row.relation is not None:
            known = row.phone in members if row.phone else (key, row.name) in phoneless
            if known:
                person = "member"
                counts["members_existing"] += 1
            else:
                # Whether the phone already has an account (in any hall) is not shown: a
                # preview writes nothing, so it would be a free lookup of who is registered.
                person = "new"
                counts["members_created"] += 1
                if row.phone:
                    members.add(row.phone)
                else:
                    phoneless.add((key, row.name))
        if household == "changed":
            status = "changed"
        elif household == "new" or person == "new":
            status = "new"
        else:
            status = "unchanged"
        counts[status] += 1
        out.append(
            PreviewRow(
                row.line,
                *key,
                status=status,
                household=household,
                area_old=old,
                area_new=new,
                name=row.name,
                phone=row.phone,
                relation=row.relation,
                person=person,
                frozen=frozen,
            )
        )
    canonical = json.dumps(
        [
            [
                r.line,
                r.building,
                r.entrance,
                r.room,
                r.status,
                r.household,
                r.area_old,
                r.area_new,
                r.name,
                r.phone,
                r.relation,
                r.person,
                [[f.ballot_id, f.weight_centi_m2, f.units] for f in r.frozen],
            ]
            for r in out
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    return Preview(out, counts, fingerprint)


def rows_to_json(rows: Sequence[RosterRow]) -> str:
    """The checked rows, kept server-side between the preview and the confirm (ASCII JSON:
    whatever a cell holds, the text column takes it on both databases)."""
    return json.dumps(
        [
            [r.line, r.building, r.entrance, r.room, r.area_centi_m2, r.name, r.phone, r.relation]
            for r in rows
        ],
        separators=(",", ":"),
    )


def rows_from_json(text: str) -> list[RosterRow]:
    return [
        RosterRow(
            int(line),
            str(building),
            str(entrance),
            str(room),
            None if area is None else int(area),
            str(name),
            str(phone),
            None if relation is None else Relation(relation),
        )
        for line, building, entrance, room, area, name, phone, relation in json.loads(text)
    ]


class RosterFileError(ValueError):
    """An upload that cannot be read as a roster; `code` is a message code, `value` its detail."""

    def __init__(self, code: str, value: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.value = value


MAX_LINES = MAX_ROWS * 5  # blank lines included: a sheet of a million empty rows is refused too
MAX_COLUMNS = 64  # cells read per row; the roster has 7 columns
ZIP_MAX_MEMBERS = 200
ZIP_MAX_TOTAL = 64 * 1024 * 1024  # uncompressed bytes of every member together
ZIP_MAX_MEMBER = 32 * 1024 * 1024  # one member (a sheet's XML, the shared strings)
ZIP_MAX_RATIO = 100  # uncompressed / compressed, for members over 1 MiB


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """Rows of text from an uploaded CSV (UTF-8 or GBK, as Excel saves it in China) or XLSX.

    The whole table is read here, bounded: at most MAX_ROWS non-blank rows after the header,
    MAX_LINES lines and MAX_COLUMNS cells a row; an XLSX is checked as a zip (members, sizes,
    compression ratio) before openpyxl opens it. Raises RosterFileError (a ValueError) with
    file_unreadable, workbook_damaged, workbook_no_sheet, workbook_too_large or
    roster_too_large; nothing else escapes for any input.
    """
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        return _read_xlsx(data)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return _bounded(csv.reader(io.StringIO(text)))
        except csv.Error as exc:  # a field over csv's size limit, a stray quote in strict mode
            raise RosterFileError("file_unreadable") from exc
    raise RosterFileError("file_unreadable")


def _bounded(rows: Iterable[Sequence[object]]) -> list[list[str]]:
    """Materialise rows as text, refusing past the row and line caps."""
    table: list[list[str]] = []
    filled = 0
    for row in rows:
        cells = ["" if cell is None else _cell_text(cell) for cell in row[:MAX_COLUMNS]]
        if any(cell.strip() for cell in cells):
            filled += 1
            if filled > MAX_ROWS + 1:  # the header and MAX_ROWS rows
                raise RosterFileError("roster_too_large", str(MAX_ROWS))
        else:
            cells = []
        table.append(cells)
        if len(table) > MAX_LINES:
            raise RosterFileError("roster_too_large", str(MAX_ROWS))
    return table


def _check_zip(data: bytes) -> None:
    """Refuse a zip bomb before anything is decompressed. zipfile never yields more than a
    member's declared size (it stops and fails the CRC), so the declared sizes bound the work."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise RosterFileError("file_unreadable") from exc
    cap = str(ZIP_MAX_TOTAL // (1024 * 1024))
    if len(members) > ZIP_MAX_MEMBERS:
        raise RosterFileError("workbook_too_large", cap)
    if sum(m.file_size for m in members) > ZIP_MAX_TOTAL:
        raise RosterFileError("workbook_too_large", cap)
    for m in members:
        if m.file_size > ZIP_MAX_MEMBER:
            raise RosterFileError("workbook_too_large", cap)
        if m.file_size > 1024 * 1024 and m.file_size > ZIP_MAX_RATIO * max(m.compress_size, 1):
            raise RosterFileError("workbook_too_large", cap)


def _read_xlsx(data: bytes) -> list[list[str]]:
    _check_zip(data)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise RosterFileError("workbook_damaged") from exc
    try:
        if not book.worksheets:
            raise RosterFileError("workbook_no_sheet")
        sheet = book.worksheets[0]
        # Rows are parsed lazily: a cut or malformed sheet fails here, while reading, so the
        # whole sheet is read inside this `try`. openpyxl and the XML parser raise ParseError,
        # BadZipFile (CRC), zlib.error, KeyError, IndexError, ValueError, TypeError …
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        return _bounded(_without_trailing_none(row) for row in rows)
    except RosterFileError:
        raise
    except Exception as exc:
        raise RosterFileError("workbook_damaged") from exc
    finally:
        book.close()


def _without_trailing_none(row: Sequence[object]) -> Sequence[object]:
    end = len(row)
    while end and row[end - 1] is None:
        end -= 1
    return row[:end]


def _cell_text(value: object) -> str:
    # Excel stores 501 as the float 501.0 and phone numbers as large integers; other floats
    # keep their shortest exact repr (89.5, 0.30000000000000004), which parse_area judges.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
