"""Settings: the one place environment variables are read."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - the placeholder production refuses


class Settings(BaseSettings):
    # populate_by_name: Settings(database_url=...) must not be silently ignored for the alias.
    model_config = SettingsConfigDict(
        env_prefix="YST_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'var' / 'yishiting.db'}",
        validation_alias="DATABASE_URL",
    )
    secret_key: str = DEV_SECRET
    # The public origin, e.g. "http://192.168.1.20:8000": printed QR codes and shared links
    # use it (app/web/links.py), and CSRF checks Origin against it. Empty: CSRF takes the Host
    # header (the chair's laptop has no fixed name), printed links take lan_origin.
    public_origin: str = ""
    # Set by `python -m app serve` to the first LAN address it prints when public_origin is
    # empty, so printed codes open on a phone even when the chair browses at 127.0.0.1.
    lan_origin: str = ""
    # Cookies get Secure and the __Host- prefix only over HTTPS; a LAN install runs plain HTTP.
    https: bool = False
    host: str = "0.0.0.0"  # noqa: S104 - a LAN install must be reachable from phones
    port: int = 8000
    default_locale: str = "zh_CN"

    # SESSION timeouts (SECURITY.md SESS-04)
    resident_idle_seconds: int = 7 * 24 * 3600
    resident_absolute_seconds: int = 30 * 24 * 3600
    chair_idle_seconds: int = 30 * 60
    chair_absolute_seconds: int = 12 * 3600
    # Each process answers a session cookie from what it read of it for this long (logout,
    # password and preference changes forget it at once in the process that made them); the
    # idle timer (last_seen_at) is written at most this often per session (app/accounts/sessions).
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # The parts of pages every reader sees alike (the issue list's results, the issue page's
    # comments, …) and each person's bell count are kept this long, and dropped at once by a
    # commit in this process that writes their tables (app/web/fragments.py); 0 turns it off.
    fragment_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    session_touch_seconds: int = Field(default=300, ge=1, le=3600)

    # Login throttling (AUTH-03), counted in the database so every worker shares it.
    login_window_seconds: int = 15 * 60
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30

    # The database connection pool of each worker process (SQLite: of each of its two engines).
    # Requests take turns for these connections: at most size + overflow requests use the
    # database at once, the others wait on the event loop (no thread, no connection) for up to
    # db_pool_timeout seconds and then get 503 with Retry-After (app/web/turns.py).
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout: float = Field(default=5.0, gt=0, le=60)

    # Periodic jobs (app/jobs): each app process ticks this often in a background thread, and
    # the database's leases let one of them run each due job. 0 turns the thread off (then
    # `python -m app jobs run-once`, e.g. from cron, runs them). Unset: 300, but off in tests.
    jobs_interval_seconds: int | None = Field(default=None, ge=0, le=86400)

    invite_days: int = 30
    upload_max_bytes: int = 5 * 1024 * 1024

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def jobs_interval(self) -> int:
        """Seconds between the scheduler's ticks; 0: no scheduler in this process."""
        if self.jobs_interval_seconds is not None:
            return self.jobs_interval_seconds
        return 0 if self.environment == "test" else 300

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def session_cookie(self) -> str:
        return "__Host-sid" if self.https else "yst_sid"

    @property
    def anon_cookie(self) -> str:
        return "__Host-anon" if self.https else "yst_anon"

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.is_production and (not self.secret_key or self.secret_key == DEV_SECRET):
            raise ValueError("YST_SECRET_KEY must be set to a random value in production")
        if len(self.secret_key) < 16:
            raise ValueError("YST_SECRET_KEY must be at least 16 characters")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
