"""The security checklist over HTTP (SECURITY.md §4.1, 4.2, 4.5, 4.7, 4.11, plus XSS-05/PRIV-04/07).

Every client here gets its own client address, so the failed logins these tests cause never
count against the per-IP limit of the shared `testclient` address other tests log in from.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from pydantic import ValidationError
from sqlmodel import col, func, select

from app.accounts.models import LoginFailure, User, UserSession
from app.accounts.schemas import PRIVACY_VERSION
from app.config import DEV_SECRET, Settings
from app.core import clock, security
from app.db import Database
from app.main import create_app
from app.web.messages import MESSAGES
from tests.conftest import ORIGIN, SECRET, Client
from tests.factories import PASSWORD, make_chair, make_hall, make_user, unique_phone

HTTPS_ORIGIN = "https://testserver"
CJK = re.compile(r"[\u4e00-\u9fff]")
_ip_numbers = itertools.count(1)

ClientFactory = Callable[..., Client]


def _new_ip() -> str:
    n = next(_ip_numbers)
    return f"10.77.{n // 250}.{n % 250 + 1}"


@pytest.fixture
def visitor(app: FastAPI) -> Iterator[ClientFactory]:
    """Clients like the conftest's, but each from its own address (see the module docstring)."""
    opened: list[Client] = []

    def factory(
        target: FastAPI | None = None,
        *,
        base_url: str = ORIGIN,
        origin: str | None = ORIGIN,
        ip: str | None = None,
        raise_server_exceptions: bool = True,
    ) -> Client:
        c = Client(
            target or app,
            base_url=base_url,
            headers={"Origin": origin} if origin else {},
            client=(ip or _new_ip(), 50000),
            raise_server_exceptions=raise_server_exceptions,
        )
        c.__enter__()
        opened.append(c)
        return c

    yield factory
    for c in reversed(opened):
        c.__exit__(None, None, None)


@pytest.fixture
def freeze() -> Iterator[Callable[[datetime | None], None]]:
    """clock.freeze, always released at the end of the test."""
    try:
        yield clock.freeze
    finally:
        clock.freeze(None)


# --- helpers ------------------------------------------------------------------------------


def _login(c: Client, phone: str | None, password: str) -> httpx.Response:
    response = c.post_form(
        "/login",
        {"phone": phone or "", "password": password},
        token_from="/login",
        follow_redirects=False,
    )
    assert isinstance(response, httpx.Response)
    return response


def _register(c: Client, data: dict[str, object]) -> httpx.Response:
    response = c.post_form("/register", data, token_from="/register", follow_redirects=False)
    assert isinstance(response, httpx.Response)
    return response


def _set_cookie(response: httpx.Response, name: str) -> tuple[str, dict[str, str]]:
    """The value and the (lower-cased) attributes of the Set-Cookie header for `name`."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        key, _, value = first.partition("=")
        if key == name:
            parsed = {}
            for attribute in attributes:
                attr_name, _, attr_value = attribute.partition("=")
                parsed[attr_name.lower()] = attr_value
            return value, parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def _session_cookie(response: httpx.Response, settings: Settings) -> str:
    assert response.status_code == 303, response.text[:500]
    value, _ = _set_cookie(response, settings.session_cookie)
    return value


def _plant(c: Client, name: str, value: str) -> None:
    """Put a cookie in the client's jar as if the server had set it."""
    c.cookies.set(name, value, domain="testserver.local", path="/")


def _me(c: Client) -> int:
    status: int = c.get("/api/v1/me").status_code
    return status


def _elder(db: Database, user_id: int | None) -> bool:
    with db.session(read_only=True) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.elder_mode


def _user_by_phone(db: Database, phone: str) -> User | None:
    with db.session(read_only=True) as session:
        return session.exec(select(User).where(User.phone == phone)).first()


def _user_count(db: Database) -> int:
    with db.session(read_only=True) as session:
        return session.exec(select(func.count()).select_from(User)).one()


def _error_next_to(field: str, code: str, text: str) -> None:
    """The field's own error paragraph holds the Chinese message for `code`."""
    expected = MESSAGES[code]
    assert CJK.search(expected)
    pattern = rf'id="e-{field}"[^>]*>\s*{re.escape(expected)}'
    assert re.search(pattern, text), f"no {code!r} next to {field!r}"
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', text) or field == "consent"


def _assert_friendly(response: httpx.Response, status: int, *phrases: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in response.text
    for phrase in phrases:
        assert phrase in response.text
    for leak in ("Traceback", 'File "', "sqlalchemy", "/app/", "Exception"):
        assert leak not in response.text


def _refused(response: httpx.Response, what: str = "") -> None:
    """403 because of the CSRF check (not some other refusal)."""
    assert response.status_code == 403, what
    assert MESSAGES["csrf_failed"] in response.text, what


def _assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    vary = {v.strip().lower() for h in response.headers.get_list("vary") for v in h.split(",")}
    assert "hx-request" in vary
    assert "no-store" in response.headers["cache-control"]


def _logged_in(visitor: ClientFactory, db: Database) -> tuple[Client, User]:
    user = make_user(db)
    assert user.phone is not None
    c = visitor()
    _login(c, user.phone, PASSWORD)
    assert _me(c) == 200
    return c, user


# --- CSRF-01 / CSRF-02 --------------------------------------------------------------------


def test_CSRF_02_post_without_token_is_refused(visitor: ClientFactory, db: Database) -> None:
    c, user = _logged_in(visitor, db)
    plain = c.post("/prefs/elder", data={"on": "1"}, follow_redirects=False)
    htmx = c.post("/prefs/elder", data={"on": "1"}, headers={"HX-Request": "true"})
    forged = c.post("/prefs/elder", data={"on": "1", "csrf_token": "0" * 64})
    for response in (plain, htmx, forged):
        _refused(response)
    assert "elder" not in c.cookies
    assert _elder(db, user.id) is False


def test_CSRF_01_cross_site_post_is_refused(visitor: ClientFactory, db: Database) -> None:
    """Fetch metadata wins over everything else: even a valid token from a cross-site page fails."""
    c, user = _logged_in(visitor, db)
    token = c.csrf("/")
    for site in ("cross-site", "same-site", "none"):
        response = c.post(
            "/prefs/elder",
            data={"on": "1", "csrf_token": token},
            headers={"Sec-Fetch-Site": site, "X-CSRF-Token": token},
            follow_redirects=False,
        )
        _refused(response, site)
    assert _elder(db, user.id) is False


def test_CSRF_01_foreign_origin_without_fetch_metadata_is_refused(
    visitor: ClientFactory, db: Database
) -> None:
    c, user = _logged_in(visitor, db)
    token = c.csrf("/")
    data = {"on": "1", "csrf_token": token}
    by_origin = c.post(
        "/prefs/elder",
        data=data,
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    # A look-alike: same host name, other scheme and port.
    by_scheme = c.post(
        "/prefs/elder",
        data=data,
        headers={"Origin": "https://testserver:8443"},
        follow_redirects=False,
    )
    # No Origin, but a foreign Referer.
    bare = visitor(origin=None)
    bare.cookies = c.cookies
    by_referer = bare.post(
        "/prefs/elder",
        data=data,
        headers={"Referer": "https://evil.example/testserver/"},
        follow_redirects=False,
    )
    for response in (by_origin, by_scheme, by_referer):
        _refused(response)
    assert _elder(db, user.id) is False


def test_CSRF_01_no_origin_referer_or_fetch_metadata_is_refused(
    visitor: ClientFactory, db: Database
) -> None:
    c, user = _logged_in(visitor, db)
    token = c.csrf("/")
    bare = visitor(origin=None)
    bare.cookies = c.cookies
    response = bare.post(
        "/prefs/elder",
        data={"on": "1", "csrf_token": token},
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert "origin" not in response.request.headers
    assert "referer" not in response.request.headers
    _refused(response)
    assert _elder(db, user.id) is False


def test_CSRF_01_same_origin_by_fetch_metadata_or_referer_is_accepted(
    visitor: ClientFactory, db: Database
) -> None:
    """The control for the refusals above: without Origin, either signal of ours is enough."""
    c, user = _logged_in(visitor, db)
    token = c.csrf("/")
    bare = visitor(origin=None)
    bare.cookies = c.cookies
    by_fetch_metadata = bare.post(
        "/prefs/elder",
        data={"on": "1", "csrf_token": token},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert by_fetch_metadata.status_code == 303
    assert _elder(db, user.id) is True
    by_referer = bare.post(
        "/prefs/elder",
        data={"on": "0", "csrf_token": token},
        headers={"Referer": f"{ORIGIN}/halls"},
        follow_redirects=False,
    )
    assert by_referer.status_code == 303
    assert _elder(db, user.id) is False


def test_CSRF_02_another_sessions_token_is_refused(visitor: ClientFactory, db: Database) -> None:
    alice, alice_user = _logged_in(visitor, db)
    bob, bob_user = _logged_in(visitor, db)
    alice_token = alice.csrf("/")
    bob_token = bob.csrf("/")
    assert alice_token != bob_token
    as_field = bob.post("/prefs/elder", data={"on": "1", "csrf_token": alice_token})
    as_header = bob.post(
        "/prefs/elder",
        data={"on": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": alice_token},
    )
    _refused(as_field)
    _refused(as_header)
    assert _elder(db, bob_user.id) is False
    assert _elder(db, alice_user.id) is False


def test_CSRF_02_token_in_hidden_field_is_accepted(visitor: ClientFactory, db: Database) -> None:
    c, user = _logged_in(visitor, db)
    page = c.get("/")
    assert re.search(r'<input type="hidden" name="csrf_token" value="[0-9a-f]{64}">', page.text)
    response = c.post_form("/prefs/elder", {"on": "1"}, follow_redirects=False)
    assert isinstance(response, httpx.Response)
    assert response.status_code == 303
    assert _elder(db, user.id) is True


def test_CSRF_02_token_in_htmx_header_is_accepted(visitor: ClientFactory, db: Database) -> None:
    c, user = _logged_in(visitor, db)
    page = c.get("/")
    match = re.search(r"""hx-headers='\{"X-CSRF-Token": "([0-9a-f]{64})"\}'""", page.text)
    assert match, "the page carries the token for htmx in hx-headers"
    response = c.post(
        "/prefs/elder",
        data={"on": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": match.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _elder(db, user.id) is True


def test_CSRF_02_login_form_is_bound_to_the_anonymous_nonce(
    visitor: ClientFactory, db: Database, settings: Settings
) -> None:
    user = make_user(db)
    assert user.phone is not None
    victim = visitor()
    attacker = visitor()
    attacker_token = attacker.csrf("/login")
    victim.get("/login")
    assert settings.anon_cookie in victim.cookies
    _, attributes = _set_cookie(visitor().get("/login"), settings.anon_cookie)
    assert "httponly" in attributes

    # Login CSRF: the attacker's token (bound to the attacker's nonce) does not work for the victim.
    forged = victim.post(
        "/login",
        data={"phone": user.phone, "password": PASSWORD, "csrf_token": attacker_token},
        follow_redirects=False,
    )
    missing = victim.post(
        "/login", data={"phone": user.phone, "password": PASSWORD}, follow_redirects=False
    )
    for response in (forged, missing):
        _refused(response)
        assert settings.session_cookie not in response.headers.get("set-cookie", "")
    # Without any nonce cookie there is nothing to bind a token to.
    fresh = visitor()
    no_nonce = fresh.post(
        "/login",
        data={"phone": user.phone, "password": PASSWORD, "csrf_token": attacker_token},
        follow_redirects=False,
    )
    _refused(no_nonce)

    response = _login(victim, user.phone, PASSWORD)
    assert response.status_code == 303
    assert _me(victim) == 200


def test_CSRF_02_token_changes_at_login(visitor: ClientFactory, db: Database) -> None:
    user = make_user(db)
    assert user.phone is not None
    c = visitor()
    anonymous_token = c.csrf("/login")
    _login(c, user.phone, PASSWORD)
    session_token = c.csrf("/")
    assert session_token != anonymous_token
    stale = c.post("/prefs/elder", data={"on": "1", "csrf_token": anonymous_token})
    _refused(stale)
    assert _elder(db, user.id) is False


def test_CSRF_01_refusal_is_a_friendly_page_in_chinese(
    visitor: ClientFactory, db: Database
) -> None:
    c, _ = _logged_in(visitor, db)
    response = c.post("/prefs/elder", data={"on": "1"}, headers={"Origin": "https://evil.example"})
    _assert_friendly(response, 403, "无法完成操作", MESSAGES["csrf_failed"])
    api = c.post("/api/v1/join/some-invite", json={}, headers={"Origin": "https://evil.example"})
    assert api.status_code == 403
    assert api.json()["error"] == "csrf_failed"


# --- SESS-01 / SESS-02 / SESS-03 ----------------------------------------------------------


def test_SESS_01_SESS_03_session_cookie_is_random_httponly_lax_and_host_wide(
    visitor: ClientFactory, db: Database, settings: Settings
) -> None:
    user = make_user(db)
    assert user.phone is not None
    tokens = []
    for _ in range(2):
        response = _login(visitor(), user.phone, PASSWORD)
        token, attributes = _set_cookie(response, "yst_sid")
        assert settings.session_cookie == "yst_sid"
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes, URL-safe base64
        assert "httponly" in attributes
        assert attributes.get("samesite", "").lower() == "lax"
        assert attributes.get("path") == "/"
        assert "domain" not in attributes
        assert "secure" not in attributes  # plain-HTTP LAN install: a Secure cookie would be lost
        tokens.append(token)
    assert tokens[0] != tokens[1]


def test_SESS_03_https_cookie_is_host_prefixed_and_secure(
    settings: Settings, db: Database, visitor: ClientFactory
) -> None:
    https_settings = Settings(
        environment="test", database_url=settings.database_url, secret_key=SECRET, https=True
    )
    assert https_settings.session_cookie == "__Host-sid"
    https_app = create_app(https_settings, database=db)
    user = make_user(db)
    assert user.phone is not None
    c = visitor(https_app, base_url=HTTPS_ORIGIN, origin=HTTPS_ORIGIN)
    page = c.get("/login")
    _, anon_attributes = _set_cookie(page, "__Host-anon")
    assert "secure" in anon_attributes
    assert page.headers["strict-transport-security"].startswith("max-age=")
    response = _login(c, user.phone, PASSWORD)
    assert response.status_code == 303
    token, attributes = _set_cookie(response, "__Host-sid")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert "secure" in attributes
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "lax"
    assert attributes.get("path") == "/"
    assert "domain" not in attributes  # the __Host- prefix forbids it
    assert not any(
        header.startswith("yst_sid=") for header in response.headers.get_list("set-cookie")
    )
    assert _me(c) == 200  # the Secure cookie comes back over HTTPS and is recognised


def test_SESS_01_database_stores_only_the_token_hash(
    visitor: ClientFactory, db: Database, settings: Settings
) -> None:
    user = make_user(db)
    assert user.phone is not None
    token = _session_cookie(_login(visitor(), user.phone, PASSWORD), settings)
    with db.session(read_only=True) as session:
        rows = session.exec(select(UserSession).where(UserSession.user_id == user.id)).all()
        assert any(row.token_hash == security.sha256_hex(token) for row in rows)
        for row in rows:
            assert token not in row.model_dump_json()
        assert (
            session.exec(select(UserSession).where(UserSession.token_hash == token)).first() is None
        )


def test_SESS_02_login_issues_a_new_token_and_ignores_a_planted_one(
    visitor: ClientFactory, db: Database, settings: Settings
) -> None:
    """Session fixation: a sid chosen by someone else before login is never adopted."""
    user = make_user(db)
    assert user.phone is not None
    planted = security.new_token()
    c = visitor()
    _plant(c, settings.session_cookie, planted)
    assert _me(c) == 401  # an unknown token is nobody
    token = _session_cookie(_login(c, user.phone, PASSWORD), settings)
    assert token != planted
    assert c.cookies.get(settings.session_cookie) == token
    with db.session(read_only=True) as session:
        hashes = {security.sha256_hex(planted), planted}
        assert not session.exec(
            select(UserSession).where(col(UserSession.token_hash).in_(hashes))
        ).first()
    attacker = visitor()
    _plant(attacker, settings.session_cookie, planted)
    assert _me(attacker) == 401


def test_SESS_02_login_again_kills_the_previous_token(
    visitor: ClientFactory, db: Database, settings: Settings
) -> None:
    """Re-authentication in the same visitor issues a new token and ends the old one."""
    user = make_user(db)
    assert user.phone is not None
    c = visitor()
    first = _session_cookie(_login(c, user.phone, PASSWORD), settings)
    second = _session_cookie(_login(c, user.phone, PASSWORD), settings)
    assert first != second
    assert _me(c) == 200
    replay = visitor()
    _plant(replay, settings.session_cookie, first)
    assert _me(replay) == 401
    with db.session(read_only=True) as session:
        rows = session.exec(select(UserSession).where(UserSession.user_id == user.id)).all()
    hashes = {row.token_hash for row in rows}
    assert security.sha256_hex(first) not in hashes
    assert security.sha256_hex(second) in hashes


def test_SESS_01_cookie_replayed_after_logout_is_refused(
    visitor: ClientFactory, db: Database, settings: Settings
) -> None:
    user = make_user(db)
    assert user.phone is not None
    c = visitor()
    token = _session_cookie(_login(c, user.phone, PASSWORD), settings)
    assert c.get("/account/password", follow_redirects=False).status_code == 200

    response = c.post_form("/logout", follow_redirects=False)
    assert isinstance(response, httpx.Response)
    assert response.status_code == 303
    value, attributes = _set_cookie(response, settings.session_cookie)
    assert value in ("", '""')
    assert attributes.get("max-age") == "0"
    with db.session(read_only=True) as session:
        assert not session.exec(
            select(UserSession).where(UserSession.token_hash == security.sha256_hex(token))
        ).first()

    thief = visitor()
    _plant(thief, settings.session_cookie, token)
    page = thief.get("/account/password", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/account/password"
    api = thief.get("/api/v1/me")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/json")
    assert api.json()["error"] == "not_logged_in"


# --- SESS-04 -----------------------------------------------------------------------------

ROLES = {
    # role: (idle seconds, absolute seconds, a request every … to stay under the idle limit)
    "resident": (7 * 24 * 3600, 30 * 24 * 3600, timedelta(days=6)),
    "chair": (30 * 60, 12 * 3600, timedelta(minutes=25)),
}


def _person(db: Database, role: str) -> User:
    if role == "chair":
        return make_chair(db, make_hall(db, buildings=1, entrances=1, rooms=1))
    return make_user(db)


def _privileged(db: Database, token: str) -> bool:
    with db.session(read_only=True) as session:
        row = session.exec(
            select(UserSession).where(UserSession.token_hash == security.sha256_hex(token))
        ).one()
        return row.privileged


@pytest.mark.parametrize("role", list(ROLES))
def test_SESS_04_idle_timeout(
    role: str, visitor: ClientFactory, db: Database, settings: Settings, freeze: Callable[..., None]
) -> None:
    idle, _, _ = ROLES[role]
    assert idle == (
        settings.chair_idle_seconds if role == "chair" else settings.resident_idle_seconds
    )
    person = _person(db, role)
    assert person.phone is not None
    start = datetime.now(UTC)
    freeze(start)
    early, late = visitor(), visitor()
    token = _session_cookie(_login(early, person.phone, PASSWORD), settings)
    _login(late, person.phone, PASSWORD)
    assert _privileged(db, token) is (role == "chair")

    freeze(start + timedelta(seconds=idle - 1))
    assert _me(early) == 200
    freeze(start + timedelta(seconds=idle + 1))
    assert _me(late) == 401
    page = late.get("/account/password", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    assert _me(early) == 200  # its last request moved its idle timer


@pytest.mark.parametrize("role", list(ROLES))
def test_SESS_04_absolute_timeout(
    role: str, visitor: ClientFactory, db: Database, settings: Settings, freeze: Callable[..., None]
) -> None:
    _, absolute, step = ROLES[role]
    assert absolute == (
        settings.chair_absolute_seconds if role == "chair" else settings.resident_absolute_seconds
    )
    person = _person(db, role)
    assert person.phone is not None
    start = datetime.now(UTC)
    freeze(start)
    c = visitor()
    _session_cookie(_login(c, person.phone, PASSWORD), settings)
    at = start + step
    while at < start + timedelta(seconds=absolute - 1):
        freeze(at)
        assert _me(c) == 200, at - start  # kept busy: never idle
        at += step
    freeze(start + timedelta(seconds=absolute - 1))
    assert _me(c) == 200
    freeze(start + timedelta(seconds=absolute + 1))
    assert _me(c) == 401


# --- AUTH-01 ------------------------------------------------------------------------------

ARGON2 = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=\d+")


def test_AUTH_01_password_hash_is_argon2id_with_strong_parameters(
    visitor: ClientFactory, db: Database
) -> None:
    phone = unique_phone()
    response = _register(
        visitor(), {"phone": phone, "name": "李秀英", "password": PASSWORD, "consent": "true"}
    )
    assert response.status_code == 303
    user = _user_by_phone(db, phone)
    assert user is not None
    assert user.password_hash is not None
    match = ARGON2.match(user.password_hash)
    assert match, user.password_hash
    assert int(match.group(1)) >= 19456
    assert int(match.group(2)) >= 2
    assert PASSWORD not in user.password_hash


def test_AUTH_01_login_rehashes_a_weaker_hash(visitor: ClientFactory, db: Database) -> None:
    user = make_user(db)
    assert user.phone is not None
    weak = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)
    with db.session() as session:
        row = session.get(User, user.id)
        assert row is not None
        row.password_hash = weak
        session.commit()
    assert _login(visitor(), user.phone, PASSWORD).status_code == 303
    stored = _user_by_phone(db, user.phone)
    assert stored is not None
    assert stored.password_hash is not None
    assert stored.password_hash != weak
    assert not security.needs_rehash(stored.password_hash)
    assert security.verify_password(stored.password_hash, PASSWORD)


# --- AUTH-02 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("abcdefg", "password_too_short"),
        ("password123", "password_too_common"),
        ("PassWord123", "password_too_common"),
        ("x" * 129, "password_too_long"),
    ],
    ids=["7-chars", "password123", "case-folded-common", "129-chars"],
)
def test_AUTH_02_weak_password_is_rejected_next_to_the_field(
    password: str, code: str, visitor: ClientFactory, db: Database
) -> None:
    phone = unique_phone()
    response = _register(
        visitor(), {"phone": phone, "name": "赵建国", "password": password, "consent": "true"}
    )
    assert response.status_code == 422
    _error_next_to("password", code, response.text)
    assert password not in response.text  # never echoed back
    assert f'value="{phone}"' in response.text  # the rest of the form is kept
    assert _user_by_phone(db, phone) is None
    assert "yst_sid" not in response.headers.get("set-cookie", "")


LONG_PASSWORD = "长" + "a1b2c3d4" * 7 + "xyz1234"
assert len(LONG_PASSWORD) == 64


@pytest.mark.parametrize(
    ("password", "near_misses"),
    [
        (LONG_PASSWORD, [LONG_PASSWORD[:-1], LONG_PASSWORD.upper()]),
        ("correct horse battery ", ["correct horse battery", " correct horse battery "]),
    ],
    ids=["64-chars", "trailing-space"],
)
def test_AUTH_02_password_round_trips_exactly_as_typed(
    password: str, near_misses: list[str], visitor: ClientFactory, db: Database, settings: Settings
) -> None:
    phone = unique_phone()
    response = _register(
        visitor(), {"phone": phone, "name": "孙丽", "password": password, "consent": "true"}
    )
    assert response.status_code == 303
    c = visitor()
    for near in near_misses:
        failed = _login(c, phone, near)
        assert failed.status_code == 422
        _error_next_to("phone", "login_failed", failed.text)
    _session_cookie(_login(c, phone, password), settings)
    assert _me(c) == 200


# --- AUTH-03 ------------------------------------------------------------------------------


def test_AUTH_03_account_waits_after_five_failures_even_with_the_right_password(
    visitor: ClientFactory, db: Database, settings: Settings, freeze: Callable[..., None]
) -> None:
    assert settings.login_max_failures_per_account == 5
    user = make_user(db)
    assert user.phone is not None
    window = settings.login_window_seconds
    # The failures happen in the past, so the window has run out by the real "now".
    start = datetime.now(UTC) - timedelta(seconds=window + 60)
    freeze(start)
    for _ in range(5):
        assert _login(visitor(), user.phone, "wrong password!").status_code == 422
    for other_address in (visitor(), visitor()):
        response = _login(other_address, user.phone, PASSWORD)
        assert response.status_code == 429
        assert "yst_sid" not in response.headers.get("set-cookie", "")
        text = MESSAGES["too_many_attempts"].format(minutes=window // 60)
        assert re.search(rf'id="e-phone"[^>]*>\s*{re.escape(text)}', response.text)
    freeze(start + timedelta(seconds=window - 1))
    assert _login(visitor(), user.phone, PASSWORD).status_code == 429
    freeze(None)
    c = visitor()
    _session_cookie(_login(c, user.phone, PASSWORD), settings)
    assert _me(c) == 200


def test_AUTH_03_one_address_failing_on_many_accounts_hits_the_per_ip_limit(
    settings: Settings, db: Database, visitor: ClientFactory
) -> None:
    assert Settings(environment="test", secret_key=SECRET).login_max_failures_per_ip == 30
    limit = 6
    strict = create_app(
        Settings(
            environment="test",
            database_url=settings.database_url,
            secret_key=SECRET,
            login_max_failures_per_ip=limit,
        ),
        database=db,
    )
    user = make_user(db)
    assert user.phone is not None
    address = _new_ip()
    guesser = visitor(strict, ip=address)
    # Two guesses per phone: no account reaches its own limit of 5.
    phones = [unique_phone() for _ in range(limit // 2)]
    for attempt in range(limit):
        assert _login(guesser, phones[attempt // 2], f"guess-{attempt}").status_code == 422
    blocked = _login(visitor(strict, ip=address), user.phone, PASSWORD)
    assert blocked.status_code == 429
    assert MESSAGES["too_many_attempts"].format(minutes=settings.login_window_seconds // 60) in (
        blocked.text
    )
    elsewhere = visitor(strict)
    _session_cookie(_login(elsewhere, user.phone, PASSWORD), settings)
    with db.session(read_only=True) as session:
        count = session.exec(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key_hash == security.sha256_hex("ip:" + address))
        ).one()
    assert count == limit


def test_AUTH_03_counters_live_in_the_database_shared_by_app_instances(
    visitor: ClientFactory, db: Database, settings: Settings
) -> None:
    user = make_user(db)
    assert user.phone is not None
    second_db = Database.connect(settings.database_url)
    try:
        second_app = create_app(settings, database=second_db)
        for attempt in range(5):
            # Failures spread over both instances, as over two workers.
            target = second_app if attempt % 2 else None
            assert _login(visitor(target), user.phone, "nope-nope").status_code == 422
        with db.session(read_only=True) as session:
            failures = session.exec(
                select(func.count())
                .select_from(LoginFailure)
                .where(LoginFailure.key_hash == security.sha256_hex("account:" + user.phone))
            ).one()
        assert failures == 5
        assert _login(visitor(second_app), user.phone, PASSWORD).status_code == 429
        assert _login(visitor(), user.phone, PASSWORD).status_code == 429
    finally:
        second_db.dispose()


# --- AUTH-04 ------------------------------------------------------------------------------


def test_AUTH_04_unknown_phone_and_wrong_password_look_the_same(
    visitor: ClientFactory, db: Database
) -> None:
    user = make_user(db)
    assert user.phone is not None
    unknown = unique_phone()
    assert _user_by_phone(db, unknown) is None
    c = visitor()
    wrong_password = _login(c, user.phone, PASSWORD + "!")
    unknown_phone = _login(c, unknown, PASSWORD)
    assert wrong_password.status_code == unknown_phone.status_code == 422

    def normalised(response: httpx.Response, phone: str) -> str:
        text = re.sub(r"[0-9a-f]{64}", "TOKEN", response.text)
        return text.replace(phone, "PHONE")

    assert normalised(wrong_password, user.phone) == normalised(unknown_phone, unknown)
    _error_next_to("phone", "login_failed", unknown_phone.text)


# --- registration (INPUT-01, PRIV-07) -----------------------------------------------------


@pytest.mark.parametrize(
    ("field", "change", "code"),
    [
        ("phone", {"phone": "12345678901"}, "phone_invalid"),
        ("phone", {"phone": "138 0013 800"}, "phone_invalid"),
        ("name", {"name": "   "}, "required"),
        ("consent", {"consent": None}, "consent_required"),
    ],
    ids=["bad-phone", "spaced-phone", "empty-name", "no-consent"],
)
def test_INPUT_01_registration_error_is_shown_next_to_the_field_and_nothing_is_saved(
    field: str, change: dict[str, object], code: str, visitor: ClientFactory, db: Database
) -> None:
    phone = unique_phone()
    data: dict[str, object] = {
        "phone": phone,
        "name": "周淑芬",
        "password": PASSWORD,
        "consent": "true",
    }
    data.update(change)
    data = {key: value for key, value in data.items() if value is not None}
    before = _user_count(db)
    response = _register(visitor(), data)
    assert response.status_code == 422
    _error_next_to(field, code, response.text)
    assert "yst_sid" not in response.headers.get("set-cookie", "")
    assert _user_count(db) == before
    assert _user_by_phone(db, phone) is None


def test_PRIV_07_consent_version_and_time_are_stored(
    visitor: ClientFactory, db: Database, freeze: Callable[..., None]
) -> None:
    moment = datetime.now(UTC).replace(microsecond=0)
    freeze(moment)
    phone = unique_phone()
    response = _register(
        visitor(), {"phone": phone, "name": "吴桂英", "password": PASSWORD, "consent": "true"}
    )
    assert response.status_code == 303
    user = _user_by_phone(db, phone)
    assert user is not None
    assert user.consent_version == PRIVACY_VERSION
    assert user.consent_at == moment


# --- headers (XSS-05, PRIV-04) ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/login", "/register", "/privacy", "/no-such-page"])
def test_XSS_05_PRIV_04_security_headers_on_pages(path: str, visitor: ClientFactory) -> None:
    c = visitor()
    for headers in ({}, {"HX-Request": "true"}):
        response = c.get(path, headers=headers)
        assert response.headers["content-type"].startswith("text/html")
        _assert_security_headers(response)


def test_PRIV_04_logged_in_pages_are_not_stored(visitor: ClientFactory, db: Database) -> None:
    c, user = _logged_in(visitor, db)
    for path in ("/", "/account/password"):
        response = c.get(path)
        assert user.name in response.text
        assert "no-store" in response.headers["cache-control"]
    assert "no-store" in c.get("/api/v1/me").headers["cache-control"]


# --- CONF-01 / CONF-02 / LOG-05 -----------------------------------------------------------


def test_CONF_02_production_refuses_a_default_or_empty_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("YST_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="YST_SECRET_KEY"):
        Settings(environment="production", _env_file=None)
    for secret in (DEV_SECRET, "", "short"):
        with pytest.raises(ValidationError, match="YST_SECRET_KEY"):
            Settings(environment="production", secret_key=secret, _env_file=None)
    monkeypatch.setenv("YST_SECRET_KEY", DEV_SECRET)
    with pytest.raises(ValidationError, match="YST_SECRET_KEY"):
        Settings(environment="production", _env_file=None)
    assert Settings(environment="production", secret_key=SECRET).is_production


def test_CONF_settings_given_in_code_are_honoured(
    monkeypatch: pytest.MonkeyPatch, database_url: str, settings: Settings
) -> None:
    """The app and the tests must talk to the database they were given, not the default one."""
    assert settings.database_url == database_url
    assert Settings(database_url="sqlite:///elsewhere.db", secret_key=SECRET).database_url == (
        "sqlite:///elsewhere.db"
    )
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://from-env/db")
    assert Settings(secret_key=SECRET).database_url == "postgresql+psycopg://from-env/db"


def test_CONF_01_production_serves_no_api_docs(
    settings: Settings, db: Database, visitor: ClientFactory
) -> None:
    dev = visitor()
    assert dev.get("/openapi.json").status_code == 200  # the test app keeps them on
    production = create_app(
        Settings(environment="production", database_url=settings.database_url, secret_key=SECRET),
        database=db,
    )
    c = visitor(production)
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        response = c.get(path)
        _assert_friendly(response, 404, "没有找到这个页面")
        assert "swagger" not in response.text.lower()
        assert '"openapi"' not in response.text


def test_LOG_05_server_error_shows_an_error_id_and_no_traceback(
    settings: Settings, db: Database, visitor: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    broken = create_app(settings, database=db)
    secret_detail = "psycopg.errors.UndefinedTable: relation secret_table at /srv/app/db.py"

    @broken.get("/boom")
    def boom() -> None:
        raise RuntimeError(secret_detail)

    @broken.get("/api/v1/boom")
    def api_boom() -> None:
        raise RuntimeError(secret_detail)

    c = visitor(broken, raise_server_exceptions=False)
    response = c.get("/boom")
    _assert_friendly(response, 500, "系统出了点问题", "错误编号")
    match = re.search(r"错误编号[^0-9a-f]*([0-9a-f]{8})", response.text)
    assert match
    assert secret_detail not in response.text
    assert "RuntimeError" not in response.text
    _assert_security_headers(response)  # sent from outside the middleware, so checked too
    # The id leads the operator to the full story in the log.
    assert any(
        match.group(1) in record.getMessage() and record.exc_info for record in caplog.records
    )

    api = c.get("/api/v1/boom")
    assert api.status_code == 500
    body = api.json()
    assert body["error"] == "server_error"
    assert re.fullmatch(r"[0-9a-f]{8}", body["error_id"])
    assert secret_detail not in api.text
    _assert_security_headers(api)


# --- friendly 404 -------------------------------------------------------------------------


def test_unknown_paths_and_malformed_ids_get_a_friendly_404(
    visitor: ClientFactory, db: Database
) -> None:
    anonymous = visitor()
    _assert_friendly(anonymous.get("/no/such/page"), 404, "没有找到这个页面")
    c, _ = _logged_in(visitor, db)
    for path in (
        "/no/such/page",
        "/halls/abc",
        "/halls/0",
        "/halls/-1",
        "/halls/1.5",
        "/halls/99999999999999999999",
        "/halls/2147483648",
        "/halls/abc/members",
        "/halls/1/members/xyz",
    ):
        response = c.get(path)
        _assert_friendly(response, 404, "没有找到这个页面")
    api = c.get("/api/v1/halls/abc/members")
    assert api.status_code == 404
    assert api.json()["error"] == "not_found"
