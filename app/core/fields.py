"""The shared types of every input at the edge: text, ids and money (issue #10 §2).

Every form model, JSON body and path/query parameter uses these instead of a plain `str` or
`int` (tests/web/test_hostile_input.py walks the routes and fails on a plain one), so that a
value the database cannot hold is refused with a 422 that says why (per field in the API; on a
page, the form again with the message next to the field: app.web.forms), the same way on
SQLite and PostgreSQL, before any row is written:

- `Text`: no NUL or other C0 control character (tab, newline and carriage return are fine)
  and no lone UTF-16 surrogate (`"\\ud800"` in JSON): PostgreSQL refuses NUL in text and
  psycopg cannot encode a surrogate, while SQLite stored both. Longer than `TEXT_CEILING` is
  refused too; each field's own, smaller maximum is still checked by its service.
- `Id`: 1 … 2⁶³−1. Every id column is 64-bit (BIGINT on PostgreSQL; SQLite's INTEGER is
  64-bit already): events, votes, ledger entries and sessions of a city's halls over years
  outgrow 2³¹, and one width for all ids keeps foreign keys consistent.
- `Fen`: an amount of money in 分, 0 … `FEN_MAX` (stored in a BIGINT). Amounts are typed in
  yuan (`parse_yuan`), which reads nothing above `FEN_MAX` either.

Pure pydantic: no framework, no ORM.
"""

from __future__ import annotations

import re
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

ID_MAX = 2**63 - 1
# 9 999 999 999.99 元: ten digits of yuan and two of fen, the most parse_yuan reads; far below
# the BIGINT column's 2⁶³−1 分.
FEN_MAX = 10**12 - 1
# No field takes more than this many characters; each has its own smaller maximum.
TEXT_CEILING = 100_000

# C0 controls but \t \n \r, DEL, and the surrogate range (only ever lone in a Python str).
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """The error code of a string no field may hold, or None when it may be stored."""
    if len(value) > TEXT_CEILING:
        return "too_long"
    if _UNSTORABLE.search(value):
        return "text_unstorable"
    return None


def storable(value: str) -> str:
    """The text as a form shows it again after a refusal: each character no field may hold
    becomes U+FFFD (so the person sees where it was) and text beyond the ceiling is cut."""
    return _UNSTORABLE.sub("\ufffd", value[:TEXT_CEILING])


def _check_text(value: str) -> str:
    problem = text_problem(value)
    if problem == "too_long":
        raise PydanticCustomError(
            "too_long", "text longer than {maximum} characters", {"maximum": TEXT_CEILING}
        )
    if problem is not None:
        raise PydanticCustomError(
            "text_unstorable", "text holds a control character or a lone surrogate"
        )
    return value


Text = Annotated[str, AfterValidator(_check_text)]
Id = Annotated[int, Ge(1), Le(ID_MAX)]
Fen = Annotated[int, Ge(0), Le(FEN_MAX)]


def parse_id(raw: str) -> int | None:
    """An id typed into a form field ('42'), or None when it is not one an id column holds."""
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(ID_MAX)):
        return None
    number = int(raw)
    return number if 1 <= number <= ID_MAX else None
