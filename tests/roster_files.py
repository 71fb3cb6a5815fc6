"""Roster files for tests, good and hostile: real workbooks written by openpyxl, then damaged
with zipfile; a zip bomb and a million-row sheet written streaming, so they stay small and fast.
"""

from __future__ import annotations

import functools
import io
import zipfile

from openpyxl import Workbook

from app.halls.roster import COLUMNS

SHEET = "xl/worksheets/sheet1.xml"


def xlsx(rows: list[list[object]], header: bool = True) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if header:
        sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite(data: bytes, replace: dict[str, bytes | None]) -> bytes:
    """The workbook with some members replaced (None: removed)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename in replace:
                body = replace[info.filename]
                if body is not None:
                    target.writestr(info.filename, body)
            else:
                target.writestr(info.filename, source.read(info.filename))
    return out.getvalue()


def _member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def good_xlsx() -> bytes:
    return xlsx([["1号楼", "1单元", 101, 60.5, None, None, None] for _ in range(40)])


def no_sheet_xlsx() -> bytes:
    """A workbook whose workbook.xml lists no sheet (openpyxl: worksheets == [])."""
    data = good_xlsx()
    book = _member(data, "xl/workbook.xml").decode()
    start, end = book.index("<sheets>"), book.index("</sheets>") + len("</sheets>")
    return rewrite(data, {"xl/workbook.xml": (book[:start] + "<sheets/>" + book[end:]).encode()})


def truncated_sheet_xlsx() -> bytes:
    """The sheet's XML cut in half: openpyxl opens the book, then fails while reading rows."""
    data = good_xlsx()
    sheet = _member(data, SHEET)
    return rewrite(data, {SHEET: sheet[: len(sheet) // 2]})


def missing_sheet_xlsx() -> bytes:
    """workbook.xml names a sheet whose XML is not in the zip."""
    return rewrite(good_xlsx(), {SHEET: None})


def cut_zip_xlsx() -> bytes:
    """The file itself cut short (an interrupted download)."""
    data = good_xlsx()
    return data[: len(data) * 2 // 3]


def bad_crc_xlsx() -> bytes:
    """A sheet whose compressed bytes were damaged: zlib or the CRC check fails on reading."""
    data = bytearray(good_xlsx())
    offset = bytes(data).index(SHEET.encode())
    # Flip bytes in the middle of the sheet's compressed data (after its local header).
    for i in range(offset + 200, offset + 220):
        data[i] ^= 0x55
    return bytes(data)


@functools.cache
def zip_bomb_xlsx(megabytes: int = 200) -> bytes:
    """A real workbook whose sheet is `megabytes` MB of zeros, deflated to a few hundred KB.
    Written in 1 MB chunks, so the test never holds the expanded sheet in memory."""
    data = good_xlsx()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for info in source.infolist():
            if info.filename == SHEET:
                with target.open(SHEET, "w", force_zip64=True) as member:
                    chunk = b"\0" * (1024 * 1024)
                    for _ in range(megabytes):
                        member.write(chunk)
            else:
                target.writestr(info.filename, source.read(info.filename))
    return out.getvalue()


@functools.cache
def million_rows_xlsx(rows: int = 10**6) -> bytes:
    """A real workbook with a header and `rows` rows, the sheet XML streamed into the zip."""
    data = good_xlsx()
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1">'
        + "".join(
            f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
            for col, name in zip("ABCD", COLUMNS[:4], strict=True)
        )
        + "</row>"
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename == SHEET:
                with target.open(SHEET, "w", force_zip64=True) as member:
                    member.write(head.encode())
                    for start in range(2, rows + 2, 10_000):
                        member.write(
                            "".join(
                                f'<row r="{n}"><c r="A{n}"><v>{n % 97}</v></c>'
                                f'<c r="B{n}"><v>{n % 7}</v></c><c r="C{n}"><v>{n}</v></c>'
                                f'<c r="D{n}"><v>{60 + n % 40}.5</v></c></row>'
                                for n in range(start, min(start + 10_000, rows + 2))
                            ).encode()
                        )
                    member.write(b"</sheetData></worksheet>")
            else:
                target.writestr(info.filename, source.read(info.filename))
    return out.getvalue()


def million_rows_csv(rows: int = 10**6) -> bytes:
    return ",".join(COLUMNS).encode() + b"\r\n" + "1号楼,1单元,101,60,,,\r\n".encode() * rows
