"""How long the print pack's PDFs take (issue #12): first render in a fresh process, then warm.

    .venv/bin/python bench/pdf.py [--runs 10] [--screenshots]

Seeds the demo community (app/demo.py) into a fresh SQLite database and downloads, as its
chair, each PDF through the app in this process (the test client: the route, its queries, the
template, WeasyPrint), first once, which pays for importing WeasyPrint and loading the fonts,
then `--runs` times more. It also times app/web/pdf.to_pdf alone on the same HTML, and the
import of WeasyPrint alone, and where a warm render's time goes (cProfile, by phase).
Prints a Markdown table for docs/benchmarks.md; writes nothing unless `--screenshots`, which
draws page 1 of each PDF with pdftoppm into docs/screenshots/print-*.png.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import col, select  # noqa: E402

from app import demo  # noqa: E402
from app.__main__ import migrate  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import Database  # noqa: E402
from app.main import create_app  # noqa: E402
from app.voting.models import Resolution  # noqa: E402
from app.web import pdf  # noqa: E402
from tests.conftest import Client  # noqa: E402

PUBLIC = "https://yst.example.cn"
CHAIR = "13800000001"  # 王秀英, 青年湖社区 (app/demo.py)

# Where a render's time goes: WeasyPrint's phases, by the function that does each; the rest
# of pdf.to_pdf is parsing the HTML and writing and compressing the PDF.
PHASES = {
    "styles (cascade, computed values)": "get_all_computed_styles",
    "layout (boxes, lines, pages)": "layout_document",
    "drawing the pages": "paint",
    "fonts: subsetting the Noto CJK faces": "build_fonts_dictionary",
}


def seeded(directory: Path) -> Database:
    url = f"sqlite:///{directory / 'demo.db'}"
    migrate(url)
    database = Database.connect(url)
    with database.session() as session:
        demo.seed(session)
    return database


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def download(client: Client, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    content: bytes = response.content
    return content


def phases(render: Callable[[], object], runs: int) -> dict[str, float]:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(runs):
        render()
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]

    def cumulative(function: str, where: str) -> float:
        times = [v[3] for (file, _, name), v in stats.items() if name == function and where in file]
        return max(times, default=0.0) / runs

    found = {label: cumulative(function, "weasyprint") for label, function in PHASES.items()}
    total = cumulative("to_pdf", "pdf.py")
    found["the rest: parsing the HTML, writing and compressing the PDF"] = total - sum(
        found.values()
    )
    found["total (under the profiler)"] = total
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--screenshots", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database = seeded(Path(tmp))
        settings = Settings(
            environment="test",
            database_url=database.url,
            secret_key="bench-" + "x" * 40,
            public_origin=PUBLIC,
        )
        app = create_app(settings, database=database)
        with database.session(read_only=True) as session:
            resolution = session.exec(
                select(Resolution)
                .where(col(Resolution.publicity_starts_at).is_not(None))
                .order_by(col(Resolution.id))
            ).first()
            assert resolution is not None
        documents = {
            "公示 (publicity.pdf)": (
                f"/halls/{resolution.hall_id}/ballots/{resolution.ballot_id}/print/publicity.pdf",
                "print-publicity.png",
            ),
            "join poster (poster.pdf)": (
                f"/halls/{resolution.hall_id}/print/poster.pdf",
                "print-poster.png",
            ),
        }
        with Client(app, base_url="http://127.0.0.1:8000", headers={"Origin": PUBLIC}) as client:
            client.login(CHAIR, demo.DEMO_PASSWORD)
            rows = []
            for label, (path, _) in documents.items():
                first = timed(lambda path=path: download(client, path))  # type: ignore[misc]
                warm = [
                    timed(lambda path=path: download(client, path))  # type: ignore[misc]
                    for _ in range(args.runs)
                ]
                content = download(client, path)
                pages = len(pdf_pages(content))
                rows.append((label, first, warm, len(content), pages))
            # to_pdf alone on the publicity's HTML, and where its time goes
            html = html_of(client, next(iter(documents.values()))[0])

            def render() -> bytes:
                return pdf.to_pdf(html, stylesheets=pdf.STYLESHEETS)

            alone = [timed(render) for _ in range(args.runs)]
            split = phases(render, max(3, args.runs // 2))
            if args.screenshots:
                for path, png in documents.values():
                    draw(download(client, path), ROOT / "docs" / "screenshots" / png)

    print()
    print(f"{args.runs} warm runs after the first, SQLite, in one process (one core).")
    print(f"Command: `.venv/bin/python bench/pdf.py --runs {args.runs}`")
    print()
    print("| PDF | pages | size | first download (fresh process) | warm median | warm max |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, first, warm, size, pages in rows:
        print(
            f"| {label} | {pages} | {size // 1024} KB | {first * 1000:.0f} ms "
            f"| {statistics.median(warm) * 1000:.0f} ms | {max(warm) * 1000:.0f} ms |"
        )
    print(
        f"| pdf.to_pdf alone, the 公示's HTML | | | | {statistics.median(alone) * 1000:.0f} ms "
        f"| {max(alone) * 1000:.0f} ms |"
    )
    print()
    print("Where a warm render of the 公示 goes (cProfile, so each phase is inflated alike):")
    print()
    print("| phase | ms |")
    print("|---|---:|")
    for label, seconds in split.items():
        print(f"| {label} | {seconds * 1000:.0f} |")
    return 0


def html_of(client: Client, path: str) -> str:
    """The HTML the PDF route hands to pdf.to_pdf, caught on its way there."""
    caught: list[str] = []
    original = pdf.to_pdf

    def spy(html: str, **options: object) -> bytes:
        caught.append(html)
        return original(html, **options)  # type: ignore[arg-type]

    pdf.to_pdf = spy
    try:
        download(client, path)
    finally:
        pdf.to_pdf = original
    return caught[0]


def pdf_pages(content: bytes) -> list[object]:
    import io

    from pypdf import PdfReader

    return list(PdfReader(io.BytesIO(content)).pages)


def draw(content: bytes, png: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(content)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "100",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(source),
                str(png.with_suffix("")),
            ],
            check=True,
        )
    print(f"wrote {png.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
