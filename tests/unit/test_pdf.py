"""app/web/pdf.py without a database: the fetcher loads nothing from outside, and print.css
paginates a long document the way a filed document must be (issue #12, the print pack)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.web import pdf
from app.web.templating import STATIC_DIR
from tests import print_helpers as ph

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_the_fetcher_serves_the_apps_static_files_from_disk_and_data_urls() -> None:
    css = pdf.local_resource("http://print.invalid/static/css/print.css")
    assert css.read() == (STATIC_DIR / "css" / "print.css").read_bytes()
    assert css.content_type == "text/css"
    image = pdf.local_resource(PNG)
    assert image.content_type == "image/png"
    assert image.read()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.local_resource("data:,%E5%85%AC%E7%A4%BA").read().decode() == "公示"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.png",
        "https://example.com/static/css/app.css",
        "http://127.0.0.1/static/css/app.css",
        "http://127.0.0.1:8000/static/css/app.css",
        "http://localhost:8000/static/img/icon.svg",
        "http://[::1]/static/css/app.css",
        "http://print.invalid.example.com/static/css/app.css",
        "http://user@print.invalid:80/static/css/app.css",
        "https://print.invalid/static/css/app.css",
        "file:///etc/passwd",
        f"file://{STATIC_DIR}/css/app.css",
        "ftp://print.invalid/static/css/app.css",
        "http://print.invalid/static/../web/pdf.py",
        "http://print.invalid/static/%2e%2e/config.py",
        "http://print.invalid/static/css/",
        "http://print.invalid/static/css/nothing.css",
        "http://print.invalid/halls/1/invite",
        "//example.com/x.png",
    ],
)
def test_the_fetcher_refuses_every_other_url(url: str) -> None:
    with pytest.raises(pdf.Refused):
        pdf.local_resource(url)
    fetcher = pdf.fetcher_class()()
    with pytest.raises(pdf.Refused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


class _Counting(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b"body { background: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on this machine's loopback that counts what it is asked for."""
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def _greedy(origin: str, outside: str = "http://example.com/x.png") -> str:
    return f"""<!doctype html><html lang="zh-CN"><head>
<link rel="stylesheet" href="{origin}/sheet.css">
<style>@import url("{origin}/imported.css"); body {{ background: url("{origin}/bg.png") }}</style>
</head><body><p>外部资源一律不取</p>
<img src="{origin}/img.png"><img src="{outside}"><img src="{PNG}">
<iframe src="{origin}/frame"></iframe><object data="{origin}/object.svg"></object>
</body></html>"""


def test_a_document_asking_for_outside_urls_gets_nothing_fetched(
    loopback_server: tuple[str, list[str]],
) -> None:
    origin, hits = loopback_server
    fetcher = pdf.fetcher_class()()
    content = pdf.to_pdf(_greedy(origin), fetcher=fetcher)
    assert hits == []  # not one request reached the loopback server
    assert "外部资源一律不取" in ph.page_texts(content)[0]
    assert "http://example.com/x.png" in fetcher.refused
    assert {f"{origin}/{name}" for name in ("sheet.css", "imported.css", "img.png")} <= set(
        fetcher.refused
    )
    assert all(url.startswith("data:") for url in set(fetcher.asked) - set(fetcher.refused))


def test_weasyprints_own_fetcher_would_have_fetched_them(
    loopback_server: tuple[str, list[str]],
) -> None:
    """The check above can see a fetch: WeasyPrint's default fetcher goes to the server."""
    from weasyprint import HTML

    origin, hits = loopback_server
    HTML(string=_greedy(origin, outside=PNG)).write_pdf()  # the loopback server only
    assert "/sheet.css" in hits
    assert "/img.png" in hits


# --- pagination ----------------------------------------------------------------------------


def _sign_sheet(rows: int) -> str:
    """A 签到表-like document: a title, a long table, a signature block at the end."""
    body = "".join(
        f"<tr><td>R{i:03d}</td><td>第{i}位居民<br>住址第二行{i:03d}</td><td></td></tr>"
        for i in range(1, rows + 1)
    )
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head>
<body class="print-doc"><article class="print-sheet" data-issuer="测试社区居民委员会" data-title="签到表">
<h1 class="print-title">签到表</h1>
<table class="print-table"><thead><tr><th>序号</th><th>姓名住址</th><th>签名</th></tr></thead>
<tbody>{body}</tbody></table>
<div class="print-signatures"><p>主持人签字：<span class="sign-line"></span></p>
<p>记录人签字：<span class="sign-line"></span></p></div>
</article></body></html>"""


def test_a_long_table_repeats_its_header_cuts_no_row_and_numbers_every_page() -> None:
    rows = 60
    pages = ph.page_texts(pdf.to_pdf(_sign_sheet(rows), stylesheets=pdf.STYLESHEETS))
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert "序号姓名住址签名" in text  # the table's header, on every page
        assert f"第{number}页共{len(pages)}页" in text
        assert "测试社区居民委员会" in text  # the running header
        assert "签到表" in text
    for i in range(1, rows + 1):
        # each row on exactly one page, both its lines on that page
        holding = [n for n, text in enumerate(pages) if f"R{i:03d}" in text]
        assert len(holding) == 1, (i, holding)
        assert f"住址第二行{i:03d}" in pages[holding[0]]


def _rows_left_with_the_signatures(html: str, stylesheets: tuple[str, ...]) -> int:
    pages = ph.page_texts(pdf.to_pdf(html, stylesheets=stylesheets))
    (signed,) = [text for text in pages if "主持人签字" in text]
    return len(re.findall(r"R\d{3}", signed))


def test_the_signature_block_is_never_alone_on_the_last_page() -> None:
    # As many rows as fill the first two pages exactly: the signatures would start the third
    # page alone; print.css moves the last row over with them.
    pages = ph.page_texts(pdf.to_pdf(_sign_sheet(60), stylesheets=pdf.STYLESHEETS))
    full = sum(len(re.findall(r"R\d{3}", text)) for text in pages[:2])
    html = _sign_sheet(full)
    assert _rows_left_with_the_signatures(html, pdf.STYLESHEETS) >= 1
    # without that rule they are indeed alone (the case above is the one that matters)
    loose = html.replace(
        "</head>", "<style>.print-signatures { break-before: auto !important }</style></head>"
    )
    assert _rows_left_with_the_signatures(loose, pdf.STYLESHEETS) == 0


def test_a_pdf_leaves_truncated_photos_refused() -> None:
    """WeasyPrint's import sets Pillow's global LOAD_TRUNCATED_IMAGES; app/web/pdf.py puts it
    back, or after the first PDF a photo upload would take a truncated file for an image."""
    import io

    from PIL import Image, ImageFile

    from app.issues.photos import PhotoRejected, reencode
    from app.web import pdf

    pdf.to_pdf("<p>公示</p>")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "red").save(buffer, "PNG")
    with pytest.raises(PhotoRejected):
        reencode(buffer.getvalue()[:200])
