"""Full-text search that works for Chinese: text is indexed as overlapping character bigrams.

Chinese has no spaces between words, so a word tokenizer sees a whole sentence as one token.
Indexing every pair of adjacent CJK characters (停车 车位 位难 …) lets a two-character query
match anywhere, on SQLite FTS5 (unicode61 tokenizer) and on PostgreSQL (the 'simple'
configuration with a GIN index) alike. Latin words and numbers are kept whole, lower-cased.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[A-Za-z0-9]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


def tokens(text: str) -> list[str]:
    """The index terms of `text`, in order (a single CJK character stands for itself)."""
    out: list[str] = []
    # NFKC: the full-width ＡＢＣ and １２３ of Chinese input methods become abc and 123.
    for run in _RUN.findall(unicodedata.normalize("NFKC", text)):
        if _IS_CJK.match(run):
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        else:
            out.append(run.lower())
    return out


def index_text(*parts: str) -> str:
    return " ".join(tokens(" ".join(parts)))


def query_terms(query: str, *, limit: int = 12) -> list[str]:
    """Distinct terms of a search box entry, all of which must match (AND)."""
    seen: dict[str, None] = {}
    for term in tokens(query):
        seen.setdefault(term, None)
    return list(seen)[:limit]
