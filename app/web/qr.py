"""QR codes for printed posters and notices (the invite poster, the 公示)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import qrcode


def png(text: str) -> bytes:
    """A PNG of `text` as a QR code, large enough to scan from a printed A4 sheet."""
    image = qrcode.make(text, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def data_uri(text: str) -> str:
    """The same PNG inline (the CSP allows data: images), for a page that prints in one go."""
    return "data:image/png;base64," + base64.b64encode(png(text)).decode("ascii")


@dataclass(frozen=True)
class QrPath:
    """A QR code as one SVG path over a size × size grid, for `shared/_qr.html` to draw."""

    size: int
    d: str


def path(text: str) -> QrPath:
    """`text` as a QR code drawn inline: one path, no image request and no style attribute
    (CSP), and the template escapes it like any other value.

    The mask is fixed: trying all eight for the best score takes six times as long, and a
    print run has one code per voter.
    """
    code = qrcode.QRCode(
        border=2, error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=2
    )
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return QrPath(size, "".join(runs))
