"""Browser fixtures: the app served for real over HTTP, and Debian's chromium driven by Playwright.

SECURITY.md §9.6: the system chromium (/usr/bin/chromium, or YST_CHROMIUM, which `make test`
resolves), never a downloaded one, with the flags that keep it off the network. The server is the same `create_app(settings, database=db)`
as the TestClient tests, on both backends, listening on 127.0.0.1 with a free port.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page, Request

from app.config import Settings
from app.db import Database
from app.main import create_app

CHROMIUM = os.environ.get("YST_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}


# --- the server -----------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    backend: str
    db: Database
    settings: Settings

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture(scope="session")
def live_server(settings: Settings, db: Database, backend: str) -> Iterator[LiveServer]:
    """uvicorn in a background thread on 127.0.0.1; stopped at the end of the session."""
    app = create_app(settings, database=db)
    # Bind the socket ourselves: the port is free and ours before the server starts (no race).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{backend}", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            pytest.fail(f"the app did not answer /healthz at {url}")
        time.sleep(0.05)
    try:
        yield LiveServer(url=url, backend=backend, db=db, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


# --- the browser (pytest-playwright fixtures, overridden) -------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Not skipped when chromium is missing: `make test` installs it, and a skip would hide that.
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no browser at {CHROMIUM}: run `make test`, or apt-get install chromium")
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": PHONE, "has_touch": True, "locale": "zh-CN"}


@dataclass
class Watch:
    """What a context did that it should not: console errors, page errors, foreign requests."""

    allowed_host: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    htmx_requests: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def expect_status(self, status: int) -> None:
        """A response with this status is part of the test (Chromium logs every 4xx as an error)."""
        self.expected_statuses.add(status)

    def on_request(self, request: Request) -> None:
        self.requests.append(f"{request.method} {request.url}")
        if request.headers.get("hx-request") == "true":
            self.htmx_requests.append(f"{request.method} {request.url}")
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.hostname != self.allowed_host:
            self.foreign_requests.append(request.url)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium logs every 4xx/5xx response; htmx logs the ones it does not swap.
        failed = re.match(
            r"(?:Failed to load resource: the server responded with a status of"
            r"|Response Status Error Code) (\d+)",
            message.text,
        )
        if failed and int(failed.group(1)) in self.expected_statuses:
            return
        self.console_errors.append(f"{message.text} @ {message.location}")

    def on_page_error(self, error: Error) -> None:
        self.page_errors.append(str(error))

    def assert_clean(self) -> None:
        assert self.foreign_requests == [], f"requests left 127.0.0.1: {self.foreign_requests}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.page_errors == [], f"uncaught page errors: {self.page_errors}"


@dataclass
class Phone:
    """One person's phone: a browser context with its own cookies, and its one page."""

    context: BrowserContext
    page: Page
    watch: Watch


@pytest.fixture
def phone(
    new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> Callable[..., Phone]:
    """Make a phone (a fresh context at 390×844 with touch); pass java_script_enabled=False for
    a phone without JavaScript. Every request and console message is watched."""

    def make(**kwargs: Any) -> Phone:
        context = new_context(**kwargs)
        context.set_default_timeout(10_000)
        watch = Watch(allowed_host="127.0.0.1")
        context.on("request", watch.on_request)
        context.on("console", watch.on_console)
        page = context.new_page()
        page.on("pageerror", watch.on_page_error)
        return Phone(context=context, page=page, watch=watch)

    return make
