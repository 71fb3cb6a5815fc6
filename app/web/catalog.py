"""Keep the English catalog in step with the source: `python -m app.web.catalog`.

Extracts every msgid from app/**/*.py (_, N_, gettext, ngettext) and app/templates/**/*.html
(Jinja, newstyle gettext), merges them into app/locale/en/LC_MESSAGES/messages.po (existing
translations kept, new msgids added empty, obsolete ones dropped) and lists what still lacks
an English translation. `--check` writes nothing and exits 1 if the catalog is out of date or
incomplete (for CI).
"""

from __future__ import annotations

import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from app.web.i18n import LOCALE_DIR

APP_DIR = Path(__file__).resolve().parent.parent
ROOT = APP_DIR.parent
PO_PATH = LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
}
HEADER = (
    "English for 议事厅 (yishiting). Source strings (msgids) are Chinese.\n"
    "Update with `python -m app.web.catalog`, then fill in every empty msgstr.\n"
    "Keep placeholders exactly: %(n)s in templates, {minutes} in Python messages."
)
JINJA = "jinja2.ext:babel_extract"
# Same settings as app.web.templating; silent=false makes a broken template fail loudly.
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "silent": "false"}


def _sources() -> list[tuple[Path, str, dict[str, str]]]:
    python: dict[str, str] = {}
    return [(path, "python", python) for path in sorted(APP_DIR.rglob("*.py"))] + [
        (path, JINJA, JINJA_OPTIONS) for path in sorted((APP_DIR / "templates").rglob("*.html"))
    ]


def extract() -> Catalog:
    """Every translatable string in the source, as a template catalog."""
    template = Catalog(fuzzy=False)
    for path, method, options in _sources():
        location = path.relative_to(ROOT).as_posix()
        for lineno, msgid, comments, context in extract_from_file(
            method, path, KEYWORDS, options=options
        ):
            template.add(
                msgid, locations=[(location, lineno)], auto_comments=comments, context=context
            )
    return template


def msgid_of(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def extracted_msgids() -> set[str]:
    """The msgids (the singular, for plurals) found in the source."""
    return {msgid_of(message) for message in extract() if message.id}


def is_translated(message: Message) -> bool:
    string = message.string or ""
    strings = [string] if isinstance(string, str) else list(string)
    return not message.fuzzy and bool(strings) and all(strings)


def load(path: Path = PO_PATH) -> Catalog:
    if not path.exists():
        return Catalog(locale="en", project="yishiting", fuzzy=False)
    with path.open("rb") as fh:
        return read_po(fh, locale="en")


def merged(path: Path = PO_PATH) -> Catalog:
    catalog = load(path)
    catalog.update(extract(), no_fuzzy_matching=True, update_creation_date=False)
    catalog.obsolete.clear()
    catalog.header_comment = "\n".join(f"# {line}" for line in HEADER.splitlines())
    return catalog


def render(catalog: Catalog) -> bytes:
    buffer = BytesIO()
    # No wrapping and no line numbers: small, stable diffs when templates move around.
    write_po(buffer, catalog, width=0, ignore_obsolete=True, include_lineno=False)
    return buffer.getvalue()


def untranslated(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id and not is_translated(message)]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    catalog = merged()
    content = render(catalog)
    stale = not PO_PATH.exists() or PO_PATH.read_bytes() != content
    if stale and not check:
        PO_PATH.parent.mkdir(parents=True, exist_ok=True)
        PO_PATH.write_bytes(content)
    missing = untranslated(catalog)
    out = sys.stdout
    where = PO_PATH.relative_to(ROOT)
    out.write(f"{where}: {len(catalog)} messages, {len(missing)} without English\n")
    for message in missing:
        places = ", ".join(sorted({file for file, _line in message.locations}))
        out.write(f"  {msgid_of(message)!r}  ({places})\n")
    if check and stale:
        out.write(f"{where} is out of date: run `python -m app.web.catalog`\n")
    return 1 if check and (stale or missing) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
