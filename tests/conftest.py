"""Test fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL is the server at YST_TEST_PG (default: the machine's, 127.0.0.1:5432, trust auth;
`make test` points it at a throwaway cluster on a Unix socket when nothing answers there). Each
run creates its own databases on that server and drops them afterwards. Where no server
answers, the PostgreSQL half fails (it is never skipped): `make test` sees to a server.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.__main__ import migrate
from app.config import Settings
from app.db import Database
from app.main import create_app

PG_ADMIN = os.environ.get("YST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "test-secret-" + "x" * 32
ORIGIN = "http://testserver"


def pg_database_url(name: str, admin: str = PG_ADMIN) -> str:
    """The SQLAlchemy URL of database `name` on the test server: YST_TEST_PG's user, host,
    port and query (e.g. `?host=/path/to/socket&port=…`), only the database changed."""
    url = make_url(admin).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite:///{path}"
        migrate(url)
        yield url
        return
    problem = _pg_available()
    if problem is not None:
        # Never skipped: `make test` starts a throwaway cluster when none answers here.
        pytest.fail(
            f"PostgreSQL unreachable at {PG_ADMIN}: {problem} — run `make test`, which starts "
            "a throwaway cluster, or point YST_TEST_PG at a server"
        )
    name = f"yst_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_database_url(name)
    migrate(url)
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = Database.connect(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(environment="test", database_url=database_url, secret_key=SECRET)


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, database=db)


class Client(TestClient):
    """A browser-like client: sends our Origin on writes and finds CSRF tokens in pages."""

    def csrf(self, path: str = "/") -> str:
        page = self.get(path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, f"no csrf token on {path}"
        return match.group(1)

    def post_form(
        self,
        path: str,
        data: dict[str, object] | None = None,
        *,
        token_from: str = "/",
        **kwargs: object,
    ) -> object:
        payload = {"csrf_token": self.csrf(token_from), **(data or {})}
        return self.post(path, data=payload, **kwargs)

    def login(self, phone: str, password: str) -> None:
        response = self.post_form(
            "/login",
            {"phone": phone, "password": password},
            token_from="/login",
            follow_redirects=False,
        )
        assert response.status_code == 303, getattr(response, "text", "")[:500]  # type: ignore[attr-defined]


@pytest.fixture
def client(app: FastAPI) -> Iterator[Client]:
    with Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN}) as c:
        yield c


@pytest.fixture
def make_client(app: FastAPI) -> Iterator[object]:
    clients: list[Client] = []

    def factory() -> Client:
        c = Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN})
        c.__enter__()
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of the current backend, dropped after the test."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        migrate(url)
        yield url
        return
    name = f"yst_fresh_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_database_url(name)
    migrate(url)
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the chair's laptop: a loopback address, the public origin configured (the print pack) -----

LAPTOP = "http://127.0.0.1:8000"  # where the chair's browser is
PUBLIC = "https://yst.example.cn"
A4_POINTS = (595, 842)  # 210 × 297 mm

ClientAs = Callable[[Any], Client]


@pytest.fixture
def laptop(settings: Settings, db: Database) -> Iterator[ClientAs]:
    """A logged-in client on the laptop's loopback address, the public origin configured."""
    from tests.factories import PASSWORD

    app = create_app(settings.model_copy(update={"public_origin": PUBLIC + "/"}), database=db)
    clients: list[Client] = []

    def as_user(user: Any) -> Client:
        c = Client(app, base_url=LAPTOP, headers={"Origin": PUBLIC})
        c.__enter__()
        clients.append(c)
        c.login(user.phone or "", PASSWORD)
        return c

    yield as_user
    for c in clients:
        c.__exit__(None, None, None)
