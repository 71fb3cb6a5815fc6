"""People, their server-side sessions and failed-login counters."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import Int64


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    # Nullable: a resident without a smartphone, entered by the chair (代录), may have none.
    phone: str | None = Field(default=None, max_length=11, unique=True)
    name: str = Field(max_length=40)
    # Nullable: a 代录 resident has no password and cannot log in until they set one.
    password_hash: str | None = Field(default=None, max_length=200)
    is_platform_admin: bool = False
    must_change_password: bool = False
    elder_mode: bool = False
    locale: str | None = Field(default=None, max_length=8)
    consent_version: str | None = Field(default=None, max_length=16)
    consent_at: datetime | None = None
    created_at: datetime = Field(default_factory=clock.now)


class UserSession(SQLModel, table=True):
    """A login. The cookie holds a random token; only its sha256 is stored (SESS-01)."""

    __tablename__ = "user_session"

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)
    # Chairs and admins get the short timeouts (SESS-04); decided at login.
    privileged: bool = False
    created_at: datetime = Field(default_factory=clock.now)
    last_seen_at: datetime = Field(default_factory=clock.now)


class LoginFailure(SQLModel, table=True):
    """One failed login, keyed by a hash of the account or the client address (AUTH-03)."""

    __tablename__ = "login_failure"

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    key_hash: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=clock.now, index=True)
