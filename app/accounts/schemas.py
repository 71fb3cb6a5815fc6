"""Input models for accounts. Validation messages are codes; the web layer translates them."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from app.core.fields import Text

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
PRIVACY_VERSION = "2026-11"

# What people type around the 11 digits: spaces (also full-width), dashes, brackets, a +86.
_PHONE_NOISE = re.compile(r"[\s\u3000\-－—()（）]")
_COUNTRY = re.compile(r"^(?:\+86|0086|86)(?=1\d{10}$)")


def normalise_phone(value: str) -> str:
    """ "138 0000 0004", "138-0000-0004" and "+86 13800000004" are 13800000004 (issue #14).
    Anything else is kept as typed, for phone_problem to name."""
    return _COUNTRY.sub("", _PHONE_NOISE.sub("", value))


Phone = Annotated[Text, StringConstraints(strip_whitespace=True), AfterValidator(normalise_phone)]
# Passwords are compared exactly as typed: no stripping, no case folding (AUTH-02).
Password = Annotated[Text, StringConstraints(strip_whitespace=False)]

# A small list of passwords no one may use (AUTH-02). Real deployments can extend it.
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "12345678",
        "123456789",
        "1234567890",
        "11111111",
        "00000000",
        "88888888",
        "66666666",
        "qwertyui",
        "qwerty123",
        "abc12345",
        "iloveyou",
        "a1234567",
        "aa123456",
        "woaini1314",
        "1qaz2wsx",
        "87654321",
        "12341234",
        "123123123",
        "asdfghjk",
        "zxcvbnm1",
        "abcd1234",
        "admin123",
        "welcome1",
        "passw0rd",
    }
)


class RegisterForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phone: Phone = ""
    name: Text = ""
    password: Password = ""
    consent: bool = False


class LoginForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phone: Phone = ""
    password: Password = ""


def password_problem(password: str) -> str | None:
    if len(password) < 8:
        return "password_too_short"
    if len(password) > 128:
        return "password_too_long"
    if password.lower() in COMMON_PASSWORDS:
        return "password_too_common"
    return None


def phone_problem(phone: str) -> str | None:
    if not phone:
        return "required"
    if not PHONE_RE.fullmatch(phone):
        return "phone_invalid"
    return None


def name_problem(name: str) -> str | None:
    name = name.strip()
    if not name:
        return "required"
    if len(name) > 40:
        return "too_long"
    return None
