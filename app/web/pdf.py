"""PDFs of the print views: the same Jinja template as the A4 HTML view, laid out by WeasyPrint.

It knows no domain: a route gathers its context as for the HTML view and returns
`document(request, template, context, filename=…)`.

- A4 with the house print stylesheet (app/static/css/print.css): a running header, "第 N 页
  共 M 页", table headers repeated on every page, no row cut across pages, no signature block
  left alone at the top of a page.
- Real, selectable Chinese text: the Noto CJK fonts (Debian `fonts-noto-cjk`), found through
  fontconfig and embedded as subsets.
- Nothing is fetched from outside. `LocalFetcher` serves the app's own static files, read from
  disk, and `data:` URLs; every other URL — http(s) anywhere, this machine's loopback
  included, file:, ftp: — is refused before anything is opened. The document's base URL is on
  the reserved `.invalid` domain, so even a relative link cannot reach a network.
- Laying out a PDF is CPU-bound and synchronous (0.2–0.5 s a page). The route reads its data and
  renders the template in its own worker thread, as every sync route does; the PDF itself is
  laid out when the response is sent (`PdfResponse`), after the route has returned its database
  turn and connection (app/web/turns.py), in one more hop to a worker thread. One PDF at a time
  per process: waiting renders queue on the event loop, holding no thread, and the font
  configuration is shared between renders (see `_fonts`).

Where the time goes (`python bench/pdf.py`, docs/benchmarks.md): importing WeasyPrint (~0.4 s)
and loading the fonts once per process, then per render the layout, the font subsetting
(HarfBuzz over the 20 MB Noto CJK collections, ~40 ms per face used: the serif regular and
bold, the mono face of links) and compressing the streams. Parsing app.css and print.css
would take a third of each render: `STYLESHEETS` are parsed once per process instead.

The first PDF of a process pays for the import and the fonts (about 1 s under load): a server
that is not under test does that at start-up, in a background thread (`prewarm_in_background`,
app/main.py), so no resident waits for it.

A new document: extend `shared/print_base.html` (the tools on screen, the sheet with its
running header), use print.css's `print-table`, `print-signatures`, `sign-line` and
`print-seal`, and give it two routes, the view (`render`) and `….pdf` (`document`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import mimetypes
import threading
import time
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit
from weakref import WeakKeyDictionary

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from app.web.templating import STATIC_DIR, env

if TYPE_CHECKING:  # WeasyPrint is imported on the first render (~0.4 s): not at start-up
    from weasyprint.urls import URLFetcherResponse

log = logging.getLogger("yishiting.pdf")
# app.css is written for browsers: what WeasyPrint skips of it is no news, nor are its steps.
# Its errors (a resource it could not load) still show; the fetcher logs each refusal itself.
logging.getLogger("weasyprint").setLevel(logging.ERROR)

# The document's own origin: reserved (RFC 2606), so it never resolves to anything.
BASE_URL = "http://print.invalid/"
STATIC_PREFIX = "/static/"  # where app/main.py mounts STATIC_DIR
MEDIA_TYPE = "application/pdf"


@cache
def weasyprint_imported() -> None:
    """Import WeasyPrint, once, and undo what its import does to the rest of the process:
    weasyprint/images.py sets Pillow's global `ImageFile.LOAD_TRUNCATED_IMAGES = True`, after
    which a photo upload (app/issues/photos.py) would take a truncated file for an image.
    Every use of WeasyPrint below goes through here first."""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False


class Refused(ValueError):
    """A URL the document may not load. WeasyPrint logs it and leaves the resource out."""


def fetcher_class() -> type[Any]:
    """`LocalFetcher`, built on WeasyPrint's fetcher class once WeasyPrint is imported."""
    return _fetcher_class()


@cache
def _fetcher_class() -> type[Any]:
    weasyprint_imported()
    from weasyprint.urls import URLFetcher

    class LocalFetcher(URLFetcher):  # type: ignore[misc]
        """Serves STATIC_DIR under BASE_URL's /static/ and `data:` URLs; refuses the rest.

        Every URL it was asked for is kept in `asked`, every refused one in `refused`."""

        def __init__(self, static_dir: Path = STATIC_DIR) -> None:
            super().__init__(fail_on_errors=False)
            self.static_dir = static_dir.resolve()
            self.asked: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:  # noqa: ARG002
            self.asked.append(url)
            try:
                return local_resource(url, self.static_dir)
            except Refused:
                self.refused.append(url)
                log.warning("a print document tried to load %s: refused", url[:200])
                raise

    return LocalFetcher


def local_resource(url: str, static_dir: Path = STATIC_DIR) -> URLFetcherResponse:
    """What `url` names, when it is a data: URL or one of the app's static files; else Refused.
    Nothing here opens a socket: the only I/O is reading a file under `static_dir`."""
    weasyprint_imported()
    from weasyprint.urls import URLFetcherResponse

    if url[:5].lower() == "data:":
        meta, _, payload = url[5:].partition(",")
        media_type, *params = meta.split(";")
        if "base64" in params:
            body = base64.b64decode(unquote(payload), validate=False)
        else:
            body = unquote_to_bytes(payload)
        return URLFetcherResponse(
            url, body, {"Content-Type": media_type or "text/plain"}, status=200
        )
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}/".lower()
    if origin != BASE_URL or not parts.path.startswith(STATIC_PREFIX):
        raise Refused(url)
    root = static_dir.resolve()
    path = (root / unquote(parts.path.removeprefix(STATIC_PREFIX))).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Refused(url)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type}, status=200)


# --- rendering ----------------------------------------------------------------------------

_LOCK = threading.Lock()  # one render at a time per process: the font configuration is shared


@cache
def _fonts() -> Any:
    """One WeasyPrint FontConfiguration for the process: its Pango font map keeps the faces it
    has loaded (the Noto CJK collections), so only the first render pays for loading them."""
    weasyprint_imported()
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk"


class NoPdfLibraries(RuntimeError):
    """WeasyPrint's system libraries are missing (`make run` installs them)."""


# What every print view links (shared/print_base.html): given to the PDF parsed, rather than
# linked, since parsing app.css took a third of a render.
STYLESHEETS = ("css/app.css", "css/print.css")


def _stylesheet(path: str) -> Any:
    file = STATIC_DIR / path
    return _parsed(path, file.stat().st_mtime_ns)


@cache
def _parsed(path: str, _mtime_ns: int) -> Any:
    """A static stylesheet parsed once per process (again when the file changes)."""
    weasyprint_imported()
    from weasyprint import CSS

    return CSS(
        string=(STATIC_DIR / path).read_text(encoding="utf-8"),
        base_url=BASE_URL + STATIC_PREFIX.lstrip("/") + path,
        url_fetcher=fetcher_class()(),
        media_type="print",
        font_config=_fonts(),
    )


def to_pdf(html: str, *, stylesheets: tuple[str, ...] = (), fetcher: Any = None) -> bytes:
    """`html` (a whole document, links relative to the site root) as an A4 PDF, with the static
    `stylesheets` (paths under app/static) applied as if linked. Synchronous and CPU-bound:
    call it from a worker thread (PdfResponse does), never on the event loop."""
    try:
        weasyprint_imported()
        from weasyprint import HTML
    except OSError as exc:  # cffi could not load Pango
        raise NoPdfLibraries(f"PDFs need `apt-get install -y {SYSTEM_PACKAGES}`: {exc}") from exc

    started = time.perf_counter()
    fetcher = fetcher if fetcher is not None else fetcher_class()()
    with _LOCK:
        sheets = [_stylesheet(path) for path in stylesheets]
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher, media_type="print")
        pdf: bytes = document.write_pdf(font_config=_fonts(), stylesheets=sheets)
    log.debug("pdf: %d bytes in %.0f ms", len(pdf), (time.perf_counter() - started) * 1000)
    return pdf


# A page with what every document uses: the serif regular and bold, and the mono face.
_PREWARM_HTML = (
    '<html lang="zh-CN"><body class="print-doc"><article class="print-sheet" data-issuer="预热"'
    ' data-title="预热"><h1>会议纪要</h1><p>预热 <strong>加粗</strong> <span class="mono">0a</span>'
    "</p></article></body></html>"
)


def prewarm() -> float:
    """Pay, now, what the first PDF of a process would: importing WeasyPrint, Pango loading the
    Noto CJK faces, parsing STYLESHEETS, a first layout. Returns the seconds it took; a machine
    without the PDF libraries just skips it (the first PDF route will say what is missing)."""
    started = time.perf_counter()
    try:
        to_pdf(_PREWARM_HTML, stylesheets=STYLESHEETS)
    except NoPdfLibraries:
        log.warning("pdf: prewarm skipped, the PDF libraries are missing")
    took = time.perf_counter() - started
    log.info("pdf: prewarmed in %.0f ms", took * 1000)
    return took


def prewarm_in_background(then: Callable[[], None] | None = None) -> threading.Thread:
    """prewarm() in a daemon thread, at start-up (app/main.py): a worker's first PDF then lays
    out in about the time of any other (docs/benchmarks.md, the 会议纪要); `then` runs after it,
    in the same thread."""

    def work() -> None:
        prewarm()
        if then is not None:
            then()

    thread = threading.Thread(target=work, name="pdf-prewarm", daemon=True)
    thread.start()
    return thread


def html_of(request: Request, template: str, context: dict[str, Any]) -> str:
    """The print view's template as the PDF renders it: `pdf` is true, so the screen's tools
    (back link, print button, origin warning) are left out, and so are the links to
    STYLESHEETS, which `to_pdf` applies already parsed."""
    base = {"request": request, "locale": getattr(request.state, "locale", "zh_CN")}
    return env.get_template(template).render({**base, **context, "pdf": True})


def document(
    request: Request, template: str, context: dict[str, Any], *, filename: str
) -> Response:
    """The response of a PDF route: the template rendered now, laid out as it is sent."""
    return PdfResponse(html_of(request, template, context), filename=filename)


def content_disposition(filename: str) -> str:
    """inline (the browser shows it; saving keeps the name), the Chinese name per RFC 6266."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


# Renders waiting for their turn, per event loop (a server has one per process; each test
# client its own): they wait here, on the loop, rather than each holding a worker thread.
_WAITING: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    semaphore = _WAITING.get(loop)
    if semaphore is None:
        semaphore = _WAITING[loop] = asyncio.Semaphore(1)
    return semaphore


class PdfResponse(Response):
    """A PDF laid out when the response is sent, in a worker thread, one at a time."""

    media_type = MEDIA_TYPE

    def __init__(self, html: str, *, filename: str) -> None:
        super().__init__(
            content=b"", headers={"content-disposition": content_disposition(filename)}
        )
        self.html = html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with _semaphore():
            self.body = await run_in_threadpool(partial(to_pdf, self.html, stylesheets=STYLESHEETS))
        self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)
