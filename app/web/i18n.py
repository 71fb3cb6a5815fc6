"""Translations. Source strings are Chinese (zh_CN is the default language); the English
catalog lives in app/locale/en/LC_MESSAGES/messages.po and is loaded without a build step."""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


class _PoTranslations(_gettext.NullTranslations):
    def __init__(self, messages: dict[str, str], plurals: dict[tuple[str, int], str]) -> None:
        super().__init__()
        self._messages = messages
        self._plurals = plurals

    def gettext(self, message: str) -> str:
        return self._messages.get(message) or message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        index = 0 if n == 1 else 1
        return self._plurals.get((msgid1, index)) or (msgid1 if n == 1 else msgid2)


@lru_cache
def translations(locale: str) -> _gettext.NullTranslations:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    messages: dict[str, str] = {}
    plurals: dict[tuple[str, int], str] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list) and isinstance(message.string, tuple | list):
            for i, text in enumerate(message.string):
                plurals[(str(message.id[0]), i)] = text
        elif isinstance(message.id, str) and isinstance(message.string, str):
            messages[message.id] = message.string
    return _PoTranslations(messages, plurals)


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    return message
