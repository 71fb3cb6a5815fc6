"""Photo uploads: only real JPEG / PNG / WebP images, re-encoded so EXIF and GPS are gone."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 2000
ACCEPTED = {"JPEG", "PNG", "WEBP"}
# A small file can still decompress to a huge bitmap; refuse anything beyond 40 megapixels.
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class Photo:
    data: bytes
    content_type: str
    width: int
    height: int


class PhotoRejected(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def reencode(raw: bytes) -> Photo:
    """Decode, orient, shrink to ≤ 2000 px and save as a fresh JPEG with no metadata.

    Raises PhotoRejected("photo_too_large" | "photo_invalid").
    """
    if len(raw) > MAX_BYTES:
        raise PhotoRejected("photo_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(raw))
            if opened.format not in ACCEPTED or opened.width * opened.height > MAX_PIXELS:
                raise PhotoRejected("photo_invalid")
            opened.load()
    except (
        UnidentifiedImageError,
        OSError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        SyntaxError,
    ):
        raise PhotoRejected("photo_invalid") from None
    image: Image.Image = ImageOps.exif_transpose(
        opened
    )  # keep the picture upright once EXIF is dropped
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    # The JPEG writer copies a comment (COM marker) from `info` unless told otherwise: clear it
    # all, so EXIF, ICC, XMP and comments are gone; nothing is written unless passed here.
    image.info = {}
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)
    return Photo(out.getvalue(), "image/jpeg", image.width, image.height)
