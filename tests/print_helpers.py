"""Reading the PDFs back: their text per page (pypdf), their fonts, their pages as images
(pdftoppm, Debian poppler-utils) and the QR code on a page, module by module."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import qrcode
from PIL import Image
from pypdf import PdfReader


def reader(content: bytes) -> PdfReader:
    assert content[:5] == b"%PDF-", content[:40]
    return PdfReader(io.BytesIO(content))


def page_texts(content: bytes) -> list[str]:
    """Each page's text with every space and line break taken out: a line wrapped in the PDF
    still reads as one string (the assertions are about Chinese text, spaces mean nothing)."""
    return [re.sub(r"\s+", "", page.extract_text() or "") for page in reader(content).pages]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def fonts(content: bytes) -> dict[str, bool]:
    """Every font the pages use: its PostScript name → whether its program is embedded."""
    found: dict[str, bool] = {}
    for page in reader(content).pages:
        resources: Any = page["/Resources"]
        for ref in resources.get("/Font", {}).values():
            font = ref.get_object()
            descriptor_of = font
            if "/DescendantFonts" in font:  # a CID font (Type0): the glyphs are below it
                descriptor_of = font["/DescendantFonts"][0].get_object()
            descriptor = descriptor_of["/FontDescriptor"].get_object()
            embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            found[str(font["/BaseFont"])] = embedded
    return found


def png_pages(content: bytes, dpi: int = 100) -> list[Image.Image]:
    """The pages as pdftoppm draws them."""
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "doc.pdf"
        pdf.write_bytes(content)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(Path(tmp) / "page")], check=True
        )
        return [Image.open(p).convert("L") for p in sorted(Path(tmp).glob("page-*.png"))]


def qr_mismatches(page: Image.Image, text: str) -> int:
    """How many modules of the page's QR code (the tallest dark block in the middle of the
    page) differ from `text` encoded as app/web/qr.py encodes it: 0 when it scans as `text`."""
    code = qrcode.QRCode(
        border=2, error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=2
    )
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    width, height = page.size
    pixels: Any = page.load()

    def dark(x: int, y: int) -> bool:
        return bool(pixels[x, y] < 128)

    band = range(int(width * 0.3), int(width * 0.7), 2)
    rows = [y for y in range(height) if any(dark(x, y) for x in band)]
    blocks: list[tuple[int, int]] = []
    start = previous = rows[0]
    for y in rows[1:]:
        if y - previous > 15:
            blocks.append((start, previous))
            start = y
        previous = y
    blocks.append((start, previous))
    top, bottom = max(blocks, key=lambda block: block[1] - block[0])
    columns = [x for x in range(width) if any(dark(x, y) for y in range(top, bottom, 2))]
    left, right = columns[0], columns[-1]
    inner = len(matrix) - 4  # the dark area: the code without its 2-module quiet zone
    step_x, step_y = (right - left + 1) / inner, (bottom - top + 1) / inner
    return sum(
        1
        for r in range(inner)
        for c in range(inner)
        if dark(int(left + (c + 0.5) * step_x), int(top + (r + 0.5) * step_y))
        != bool(matrix[r + 2][c + 2])
    )
