"""The English catalog covers every string in the source, and each translation keeps its
msgid's placeholders. When one of these fails: run `python -m app.web.catalog`, then fill in
the empty msgstr entries it lists in app/locale/en/LC_MESSAGES/messages.po."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from babel.messages.catalog import Catalog, Message

from app.web import catalog

# %(n)s: Jinja newstyle gettext; {minutes}: str.format in app.web.messages; %%: a literal %.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdi]|%%|\{\w*\}")
FIX = "run `python -m app.web.catalog` and translate in app/locale/en/LC_MESSAGES/messages.po"


@pytest.fixture(scope="module")
def po() -> Catalog:
    assert catalog.PO_PATH.exists(), FIX
    return catalog.load()


@pytest.fixture(scope="module")
def source() -> set[str]:
    return catalog.extracted_msgids()


def _messages(po: Catalog) -> list[Message]:
    return [message for message in po if message.id]


def _strings(message: Message) -> list[str]:
    string = message.string or ""
    return [string] if isinstance(string, str) else list(string)


def _placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text))


def test_extraction_finds_python_and_template_strings(source: set[str]) -> None:
    assert "不支持的语言" in source  # N_ in app/web/messages.py
    assert "主持人" in source  # N_ in app/halls/labels.py
    assert "您已安全退出" in source  # _ in app/accounts/routes.py
    assert "登录" in source  # templates
    assert "议题获得 %(n)s 位居民附议后，提交居委会审核" in source  # newstyle, with a variable


def test_every_source_string_has_english(po: Catalog, source: set[str]) -> None:
    missing = sorted(
        msgid for msgid in source if (m := po.get(msgid)) is None or not catalog.is_translated(m)
    )
    assert not missing, f"{len(missing)} strings without English ({FIX}):\n" + "\n".join(missing)


def test_catalog_has_no_obsolete_or_fuzzy_entries(po: Catalog, source: set[str]) -> None:
    stale = sorted(catalog.msgid_of(m) for m in _messages(po) if catalog.msgid_of(m) not in source)
    assert not stale, f"no longer in the source ({FIX}):\n" + "\n".join(stale)
    assert not po.obsolete, f"obsolete #~ entries ({FIX}): {sorted(po.obsolete)}"
    fuzzy = sorted(catalog.msgid_of(m) for m in _messages(po) if m.fuzzy)
    assert not fuzzy, "fuzzy entries are ignored at runtime; review them:\n" + "\n".join(fuzzy)
    assert not po.fuzzy, "the catalog header is marked fuzzy"


def test_translations_keep_the_placeholders(po: Catalog) -> None:
    wrong = []
    for message in _messages(po):
        expected = _placeholders(catalog.msgid_of(message))
        if not isinstance(message.id, str):
            expected = expected | _placeholders(message.id[1])
        for text in _strings(message):
            if text and _placeholders(text) != expected:
                wrong.append(f"{catalog.msgid_of(message)!r} -> {text!r}")
    assert not wrong, "placeholders differ from the msgid:\n" + "\n".join(wrong)


def test_strings_survive_formatting(po: Catalog) -> None:
    """Jinja's newstyle gettext always applies `%`, so a bare % in a template string breaks
    the page (write %%); Python messages use str.format."""
    broken = []
    for message in _messages(po):
        in_template = any(file.endswith(".html") for file, _line in message.locations)
        msgid = catalog.msgid_of(message)
        for text in [msgid, *_strings(message)]:
            found = re.findall(r"%\((\w+)\)|\{(\w+)\}", text)
            names = {name: 1 for pair in found for name in pair if name}
            try:
                if in_template:
                    text % names
                elif "{" in text:
                    text.format(**names)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                broken.append(
                    f"{msgid!r} ({', '.join(f for f, _ in message.locations)}): {text!r}: {exc}"
                )
    assert not broken, "strings that raise when formatted:\n" + "\n".join(broken)


def test_translations_are_plain_text(po: Catalog) -> None:
    """Jinja's newstyle gettext marks translations safe (Markup), so HTML characters in one
    would reach the page unescaped; a " would also end the attribute it sits in."""
    unsafe = [
        f"{catalog.msgid_of(m)!r} -> {text!r}"
        for m in _messages(po)
        for text in _strings(m)
        if re.search(r'[<>&"]', text)
    ]
    assert not unsafe, "use “curly quotes” and plain text:\n" + "\n".join(unsafe)
