"""Every audit action code written anywhere in app/ has words a chair understands."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from app.audit.labels import ACTION_LABELS, SUBJECT_LABELS
from tests import audit_codes


def test_every_code_written_in_app_has_words() -> None:
    found = audit_codes.written_codes()
    assert not found.unresolved, (
        f"action codes that cannot be read from the source: {found.unresolved}"
    )
    # the reader finds the codes in every domain, through helpers and their callers
    assert {"voting.open_ballot", "meetings.raise_hand", "escalations.dispatch"} <= set(found.codes)
    assert {"evaluations.close_round", "halls.reject_member", "issues.hide_comment"} <= set(
        found.codes
    )
    assert len(found.codes) >= 90
    missing = {c: where for c, where in found.codes.items() if c not in ACTION_LABELS}
    assert not missing, f"audit codes without words in app/audit/labels.py: {missing}"


def test_no_words_for_codes_nobody_writes() -> None:
    stale = set(ACTION_LABELS) - set(audit_codes.written_codes().codes)
    assert not stale, f"words for codes no service writes: {stale}"


def test_every_wording_is_chinese_and_has_no_raw_code() -> None:
    for code, words in ACTION_LABELS.items():
        assert words, code
        assert not any(c.isascii() and c.isalpha() for c in words), (code, words)
    for kind, words in SUBJECT_LABELS.items():
        assert words, kind
        assert not any(c.isascii() and c.isalpha() for c in words), (kind, words)


def _codes_of(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> audit_codes.Found:
    app = tmp_path / "app"
    (app / "things").mkdir(parents=True)
    (app / "things" / "service.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.setattr(audit_codes, "APP", app)
    return audit_codes.written_codes()


def test_the_reader_follows_helpers_and_flags_what_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = _codes_of(
        """
        def _audit(session, action, **data):
            audit.record(session, action=f"things.{action}", actor_id=None)

        def _twice(session, what):
            _audit(session, what)

        def a(session):
            _audit(session, "made")
            _twice(session, "made_twice")
            audit.record(session, action="things.x" if ok else "things.y")

        def b(session, name):
            audit.record(session, action=name.upper())
        """,
        tmp_path,
        monkeypatch,
    )
    assert set(found.codes) == {"things.made", "things.made_twice", "things.x", "things.y"}
    assert len(found.unresolved) == 1
    assert found.unresolved[0].endswith(":14")
    # a new code without words is caught by the real test's comparison
    assert "things.made" not in ACTION_LABELS
