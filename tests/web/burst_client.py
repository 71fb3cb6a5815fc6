"""HTTP clients for tests/web/test_vote_burst.py, run in spawned processes.

Imports httpx and the standard library only, so that a spawned child starts in a fraction of
a second and spends the burst sending, not importing the app.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier

import httpx

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT = 60


@dataclass(frozen=True)
class Job:
    kind: str  # "api" (JSON), "form" (plain form, PRG), "htmx" (form with HX-Request), "page"
    path: str
    option: str = ""
    submission_id: str = ""
    delay: float = 0.0  # seconds after the start, for the page loads "meanwhile"


@dataclass(frozen=True)
class Login:
    cookies: dict[str, str]
    token: str  # the session's CSRF token


@dataclass(frozen=True)
class Answer:
    kind: str
    status: int
    seconds: float
    text: str  # the start of the body of a refusal or an error, for the failure message


def client(base: str, cookies: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Origin": base}, cookies=cookies, timeout=TIMEOUT)


def login(base: str, phone: str, password: str) -> Login:
    with client(base) as c:
        token = TOKEN.search(c.get("/login").text)
        assert token, "no CSRF token on /login"
        done = c.post("/login", data={"phone": phone, "password": password, "csrf_token": token[1]})
        assert done.status_code == 303, done.text[:300]
        me = c.get("/api/v1/me")
        assert me.status_code == 200, me.text[:300]
        return Login(dict(c.cookies), me.json()["csrf_token"])


def send(c: httpx.Client, job: Job, login: Login) -> httpx.Response:
    if job.kind == "page":
        return c.get(job.path)
    if job.kind == "api":
        body = {"option": job.option, "submission_id": job.submission_id}
        return c.post(job.path, json=body, headers={"X-CSRF-Token": login.token})
    form = {"option": job.option, "submission_id": job.submission_id, "csrf_token": login.token}
    headers = {"HX-Request": "true"} if job.kind == "htmx" else {}
    return c.post(job.path, data=form, headers=headers)


def fire(barrier: Barrier, base: str, jobs: list[tuple[Job, Login]]) -> list[Answer]:
    """Meet the other processes at the barrier, then send every job at once, each from its own
    thread and connection; the answers with the time each took."""
    answers: list[Answer] = []
    go = threading.Event()
    clients = [client(base, login.cookies) for _, login in jobs]

    def one(c: httpx.Client, job: Job, login: Login) -> None:
        go.wait()
        time.sleep(job.delay)
        started = time.perf_counter()
        try:
            response = send(c, job, login)
            seconds = time.perf_counter() - started
            text = response.text[:300] if response.status_code >= 400 else ""
            answers.append(Answer(job.kind, response.status_code, seconds, text))
        except httpx.HTTPError as exc:
            seconds = time.perf_counter() - started
            answers.append(Answer(job.kind, 0, seconds, f"{type(exc).__name__}: {exc}"))

    threads = [
        threading.Thread(target=one, args=(c, job, login))
        for c, (job, login) in zip(clients, jobs, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=TIMEOUT)
    go.set()
    for thread in threads:
        thread.join()
    for c in clients:
        c.close()
    return answers


def run(barrier: Barrier, base: str, jobs: list[tuple[Job, Login]], out: object) -> None:
    """Process entry point: the answers go back through the queue `out`."""
    try:
        out.put(fire(barrier, base, jobs))  # type: ignore[attr-defined]
    except BaseException as exc:
        barrier.abort()
        out.put(f"crash: {type(exc).__name__}: {exc}")  # type: ignore[attr-defined]
