"""Photo uploads (app/issues/photos.py): only real JPEG / PNG / WebP, re-encoded clean.

Built with Pillow in memory: EXIF with GPS and an orientation, a JPEG comment, alpha,
GIF / SVG / text / truncated files, an oversized upload and decompression bombs.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from app.issues import photos

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def _jpeg(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", **{"quality": 95, **params})
    return out.getvalue()


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _halves(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def _exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "PhoneCam"
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {
        1: "N",
        2: (39.0, 54.0, 26.0),  # 39°54'26" N: 天安门
        3: "E",
        4: (116.0, 23.0, 29.0),
    }
    return exif


def _decoded(photo: photos.Photo) -> Image.Image:
    image = Image.open(io.BytesIO(photo.data))
    image.load()
    return image


def _png_header_only(width: int, height: int) -> bytes:
    """A few dozen bytes that declare a huge image: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------------
# Accepted, and clean


def test_a_jpeg_with_gps_comes_back_without_any_exif_and_upright() -> None:
    raw = _jpeg(_halves(), exif=_exif_with_gps(orientation=6), comment=b"owner: 13800138000")
    source = Image.open(io.BytesIO(raw))
    assert source.getexif().get_ifd(GPS_IFD)  # the test image really carries GPS
    assert source.size == (40, 20)

    photo = photos.reencode(raw)
    image = _decoded(photo)
    assert photo.content_type == "image/jpeg"
    assert image.format == "JPEG"
    assert photo.data.startswith(b"\xff\xd8")
    # no EXIF (so no GPS, no camera, no orientation), no comment
    assert len(image.getexif()) == 0
    assert "exif" not in image.info
    assert "comment" not in image.info
    assert b"Exif\x00\x00" not in photo.data
    assert b"PhoneCam" not in photo.data
    assert b"13800138000" not in photo.data
    # orientation 6 (turn 90° clockwise) is applied: the red left half is now on top
    assert (photo.width, photo.height) == image.size == (20, 40)
    top, bottom = image.getpixel((10, 8)), image.getpixel((10, 32))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200 > top[2]
    assert bottom[2] > 200 > bottom[0]


def test_a_jpeg_comment_is_not_carried_over() -> None:
    """Pillow's JPEG writer copies `info["comment"]` by default; an upload must not keep it."""
    photo = photos.reencode(_jpeg(_halves(), comment=b"\xe5\xbc\xa0\xe4\xb8\x89 3-201"))
    assert "comment" not in _decoded(photo).info
    assert b"3-201" not in photo.data


def test_icc_and_xmp_are_not_carried_over() -> None:
    raw = _jpeg(_halves(), icc_profile=b"\x00" * 128 + b"ICCSECRET", xmp=b"<x:xmpmeta>SECRET</x>")
    photo = photos.reencode(raw)
    image = _decoded(photo)
    assert "icc_profile" not in image.info
    assert b"SECRET" not in photo.data


def test_a_png_with_alpha_is_accepted_on_white() -> None:
    image = Image.new("RGBA", (30, 30), (0, 0, 0, 0))  # fully transparent
    image.paste((0, 128, 0, 255), (0, 0, 10, 30))  # an opaque green stripe
    photo = photos.reencode(_encode(image, "PNG"))
    out = _decoded(photo)
    assert (photo.content_type, out.mode, out.size) == ("image/jpeg", "RGB", (30, 30))
    transparent, green = out.getpixel((25, 15)), out.getpixel((3, 15))
    assert isinstance(transparent, tuple)
    assert isinstance(green, tuple)
    assert min(transparent) > 240  # white, not black
    assert green[1] > 100 > green[0]


@pytest.mark.parametrize("mode", ["P", "LA", "L", "CMYK", "RGB"])
def test_other_modes_become_rgb(mode: str) -> None:
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    image = _halves().convert(mode)
    photo = photos.reencode(_encode(image, fmt))
    assert _decoded(photo).mode == "RGB"


def test_webp_is_accepted() -> None:
    photo = photos.reencode(_encode(_halves(), "WEBP", exif=_exif_with_gps().tobytes()))
    out = _decoded(photo)
    assert (photo.content_type, out.format, out.size) == ("image/jpeg", "JPEG", (40, 20))
    assert len(out.getexif()) == 0


@pytest.mark.parametrize(
    ("size", "expected"),
    [((3000, 1500), (2000, 1000)), ((1200, 4000), (600, 2000)), ((2000, 2000), (2000, 2000))],
)
def test_large_images_are_shrunk_to_2000_px(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    photo = photos.reencode(_jpeg(Image.new("RGB", size, (90, 120, 200)), quality=50))
    assert (photo.width, photo.height) == _decoded(photo).size == expected
    assert max(photo.width, photo.height) <= photos.MAX_SIDE


# ---------------------------------------------------------------------------------------------
# Refused


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(_encode(_halves(), "GIF"), id="gif"),
        pytest.param(_encode(_halves(), "BMP"), id="bmp"),
        pytest.param(_encode(_halves(), "TIFF"), id="tiff"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b"<script>alert(1)</script></svg>",
            id="svg",
        ),
        pytest.param("这不是图片".encode(), id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 100, id="jpeg-magic-only"),
        pytest.param(_jpeg(_halves(400, 300))[:600], id="truncated-jpeg"),
        pytest.param(_encode(_halves(400, 300), "PNG")[:200], id="truncated-png"),
        pytest.param(b"<html><body>hi</body></html>", id="html"),
    ],
)
def test_anything_but_a_real_jpeg_png_or_webp_is_invalid(raw: bytes) -> None:
    with pytest.raises(photos.PhotoRejected) as exc:
        photos.reencode(raw)
    assert exc.value.code == "photo_invalid"


def test_more_than_five_megabytes_is_too_large() -> None:
    with pytest.raises(photos.PhotoRejected) as exc:
        photos.reencode(b"\xff\xd8" + b"\x00" * (5 * 1024 * 1024 - 1))
    assert exc.value.code == "photo_too_large"


def test_exactly_five_megabytes_is_not_too_large() -> None:
    raw = _jpeg(_halves())
    padded = raw + b"\x00" * (photos.MAX_BYTES - len(raw))  # trailing bytes after EOI
    assert len(padded) == photos.MAX_BYTES
    assert photos.reencode(padded).content_type == "image/jpeg"


@pytest.mark.parametrize(
    "size",
    [
        (20000, 20000),  # 400 MP: beyond Pillow's own bomb limit
        (7000, 7000),  # 49 MP: under Pillow's limit, over ours (40 MP)
    ],
)
def test_a_decompression_bomb_is_invalid(size: tuple[int, int]) -> None:
    raw = _png_header_only(*size)
    assert len(raw) < 200
    with pytest.raises(photos.PhotoRejected) as exc:
        photos.reencode(raw)
    assert exc.value.code == "photo_invalid"
