"""What every benchmark shares: the uvicorn command line, a fresh database, wrk, the doc writer.

Every server a benchmark starts — the app, the FastAPI hello and the raw ASGI hello of
bench/hello.py — runs through `serve()` with the same flags: one uvicorn worker on
127.0.0.1, `--loop auto --http auto` (uvloop and httptools when `uvicorn[standard]` is
installed, as in pyproject.toml; asyncio and h11 otherwise), no access log. The reference of
every figure is the FastAPI hello served this way in the same run.
"""

from __future__ import annotations

import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef"
APP = "app.main:create_app"
FASTAPI_HELLO = "bench.hello:app"
RAW_HELLO = "bench.hello:raw"
DOC = ROOT / "docs" / "benchmarks.md"
BEFORE = "## Before #11 (reference)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uvicorn_command(target: str, port: int) -> list[str]:
    """The one command line of every benchmarked server (the app is a factory)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        *(["--factory"] if target == APP else []),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "auto",
        "--http",
        "auto",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def server_stack() -> str:
    """Which event loop and HTTP parser `--loop auto --http auto` picks here."""
    try:
        import httptools  # noqa: F401
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio + h11 (uvicorn[standard] not installed)"
    return "uvloop + httptools"


@contextmanager
def serve(
    target: str, *, env: dict[str, str] | None = None, instances: int = 1
) -> Iterator[list[str]]:
    """Start `instances` servers of `target` (each its own process and port); yield their bases."""
    ports = [free_port() for _ in range(instances)]
    environ = {**os.environ, "YST_SECRET_KEY": SECRET, **(env or {})}
    servers = [
        subprocess.Popen(uvicorn_command(target, port), cwd=ROOT, env=environ) for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    probe = "/healthz" if target == APP else "/"
    try:
        for base, server in zip(bases, servers, strict=True):
            for _ in range(150):
                if server.poll() is not None:
                    raise RuntimeError(f"{target} exited with {server.returncode}")
                try:
                    if httpx.get(base + probe, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError(f"{target} did not answer on {base}")
        yield bases
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextmanager
def fresh_database(postgres: str | None) -> Iterator[tuple[str, Path]]:
    """A new empty database and a scratch directory: a SQLite file, or (given the URL of a
    PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/test) a new database on that
    server, dropped afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="yst-bench-"))
    if postgres is None:
        try:
            yield f"sqlite:///{tmp / 'bench.db'}", tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(postgres).set(drivername="postgresql")
    name = f"yst_bench_{secrets.token_hex(4)}"
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False), tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- wrk --------------------------------------------------------------------------------------


@dataclass
class Wrk:
    rps: float
    requests: int
    non2xx: int
    socket_errors: int  # connect + read + write + timeout
    timeouts: int
    p99_ms: float

    @property
    def errors(self) -> str:
        return f"{self.non2xx}, {self.socket_errors}"


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    assert match, value
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]
    return float(match.group(1)) * scale


def parse_wrk(out: str) -> Wrk:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    assert rps, out
    assert total, out
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    return Wrk(
        rps=float(rps.group(1)),
        requests=int(total.group(1)),
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(g) for g in sockets.groups()) if sockets else 0,
        timeouts=int(sockets.group(4)) if sockets else 0,
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
    )


def wrk_command(
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int = 1,
    cookie: str | None = None,
    script: Path | None = None,
) -> list[str]:
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        *(["-H", f"Cookie: {cookie}"] if cookie else []),
        *(["-s", str(script)] if script else []),
        url,
    ]


def wrk(
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int = 1,
    cookie: str | None = None,
) -> Wrk:
    out = subprocess.run(
        wrk_command(
            url, duration=duration, connections=connections, threads=threads, cookie=cookie
        ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def wrk_parallel(commands: Sequence[tuple[list[str], dict[str, str]]]) -> Wrk:
    """Run several wrk processes at once (one per app instance) and sum what they measured."""
    procs = [
        subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        for cmd, env in commands
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err}")
        if err.strip():
            print(err.strip(), file=sys.stderr)
        results.append(parse_wrk(out))
    return Wrk(
        rps=sum(r.rps for r in results),
        requests=sum(r.requests for r in results),
        non2xx=sum(r.non2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        timeouts=sum(r.timeouts for r in results),
        p99_ms=max(r.p99_ms for r in results),
    )


def require_wrk() -> bool:
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return False
    return True


# --- docs/benchmarks.md -----------------------------------------------------------------------


def machine(database: str) -> str:
    return (
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {database}, one uvicorn worker per instance "
        f"({server_stack()})"
    )


def write_section(marker: str, section: str) -> None:
    """Replace the section whose heading line is `marker` (up to the next `## `), or add it
    before the "Before #11" reference sections."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n\n"
    section = section.rstrip() + "\n"
    found = re.search(rf"^{re.escape(marker)}$", text, re.MULTILINE)
    if found:
        head, rest = text[: found.start()], text[found.end() :]
        nxt = rest.find("\n## ")
        text = head + section + (rest[nxt:] if nxt >= 0 else "")
    elif BEFORE in text:
        head, _, rest = text.partition(BEFORE)
        text = head + section + "\n" + BEFORE + rest
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")
