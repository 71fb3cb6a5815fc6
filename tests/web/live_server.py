"""A real server for the multi-process tests: a free port, and waiting until it answers."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(
    base: str, proc: subprocess.Popen[bytes], log: Path, *, within: float = 60
) -> None:
    """Until GET /healthz answers 200; fails with the server's log if it exits or is slow."""
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
