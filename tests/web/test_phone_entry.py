"""Phone numbers as people type them (issue #14): spaces, dashes and +86 are accepted and
normalised; what cannot be a phone number is named next to the field, at login too."""

from __future__ import annotations

import pytest

from app.accounts.schemas import normalise_phone
from app.db import Database
from tests import factories as f
from tests.conftest import Client


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0000 0004", "13800000004"),
        ("138-0000-0004", "13800000004"),
        ("138\u30000000\u30000004", "13800000004"),
        ("+86 138 0000 0004", "13800000004"),
        ("0086-13800000004", "13800000004"),
        ("(138)0000-0004", "13800000004"),
        ("8613800000004", "13800000004"),
        ("86138000000", "86138000000"),  # 11 digits already: not a country code
        ("138 0000 00", "138000000"),  # too short stays too short
    ],
)
def test_normalise_phone(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


def test_login_accepts_a_phone_typed_with_spaces(client: Client, db: Database) -> None:
    phone = f.unique_phone()
    f.make_user(db, phone=phone)
    spaced = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    page = client.get("/login")
    assert 'maxlength="20"' in page.text  # the field no longer cuts "138 0000 0004"
    client.login(spaced, f.PASSWORD)
    assert client.get("/").status_code == 200
    assert "退出" in client.get("/").text


def test_login_names_a_malformed_phone_next_to_the_field(client: Client, db: Database) -> None:
    response = client.post_form(
        "/login", {"phone": "138 0000 00", "password": "whatever-123"}, token_from="/login"
    )
    assert response.status_code == 422  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "请输入11位大陆手机号" in text
    assert "手机号或密码不正确" not in text


def test_login_still_does_not_say_whether_an_account_exists(client: Client, db: Database) -> None:
    response = client.post_form(
        "/login", {"phone": f.unique_phone(), "password": "whatever-123"}, token_from="/login"
    )
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "手机号或密码不正确" in response.text  # type: ignore[attr-defined]
