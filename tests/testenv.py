"""What `make test` sees to before pytest runs: packages, a browser, a PostgreSQL server.

    python -m tests.testenv deps              # install what is missing (root or sudo), or say how
    python -m tests.testenv run -- CMD ...    # the same, then CMD with YST_TEST_PG/YST_CHROMIUM set
    python -m tests.testenv print             # only what the server's PDFs need (`make run`)

- Debian packages: `chromium` (unless YST_CHROMIUM names a browser that exists),
  `fonts-noto-cjk`, WeasyPrint's `libpango-1.0-0`, `libpangoft2-1.0-0` and
  `libharfbuzz-subset0` (the server's PDFs),
  `poppler-utils` (pdftoppm: the print tests look at each PDF as an image),
  `postgresql-client` (pg_dump, pg_restore for the backup tests) and, when no
  PostgreSQL answers at the test URL and none is installed, `postgresql`. As root they are
  installed with apt-get (one `apt-get update` first), with passwordless sudo likewise;
  otherwise this stops at once with one line naming the exact command to run.
- PostgreSQL: when nothing answers at YST_TEST_PG (default postgresql://postgres@127.0.0.1:5432/
  test), a private throwaway cluster is made with `initdb` under var/, listening only on a Unix
  socket there (named after a free port), with a database `test`; CMD gets YST_TEST_PG pointing
  at it, and the cluster is stopped and deleted afterwards, also when CMD fails or is
  interrupted. initdb refuses to run as root, so as root the cluster belongs to `postgres`.
- YST_REQUIRE_PG=1 is exported (kept for scripts that read it); the PostgreSQL half is never
  skipped in any case.

Standard library and psycopg only (the virtualenv's), so it runs before anything else is set up.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin/initdb"


def say(line: str) -> None:
    print(f"make test: {line}", file=sys.stderr, flush=True)


class Stop(Exception):
    """A one-line reason to stop before running anything."""


# --- what is there ------------------------------------------------------------------------


def pg_problem(url: str) -> str | None:
    """None when a PostgreSQL server answers at `url`, else the first line of the error."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def pg_bindir() -> Path | None:
    """The newest installed server's binaries (Debian keeps them off PATH)."""
    found = sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")), key=lambda p: _version(p.parent.parent))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in path.name.split(".") if p.isdigit())


def deb_installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and status_installed(done.stdout)


def status_installed(status: str) -> bool:
    """dpkg's `${Status}` of an installed package (not `unknown ok not-installed`, not
    `deinstall ok config-files`, which both end in 'installed'-like words)."""
    return status.strip() == "install ok installed"


def resolve_chromium(wanted: str | None) -> tuple[str, str | None]:
    """(the browser to use, a note when YST_CHROMIUM was set but is not there)."""
    if wanted and os.access(wanted, os.X_OK) and Path(wanted).is_file():
        return wanted, None
    note = f"YST_CHROMIUM={wanted} does not exist; using {DEBIAN_CHROMIUM}" if wanted else None
    return DEBIAN_CHROMIUM, note


# What the server's PDFs need (app/web/pdf.py): WeasyPrint's Pango, and the fonts it embeds.
# libharfbuzz-subset0 lets it subset the fonts in C (without it, fontTools: far slower).
PRINT_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-noto-cjk")


def missing_print_packages() -> list[str]:
    return [package for package in PRINT_PACKAGES if not deb_installed(package)]


def missing_packages(chromium: str, need_server: bool) -> list[str]:
    missing = []
    if chromium == DEBIAN_CHROMIUM and not Path(DEBIAN_CHROMIUM).exists():
        missing.append("chromium")
    missing.extend(missing_print_packages())
    if shutil.which("pdftoppm") is None:
        missing.append("poppler-utils")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        missing.append("postgresql-client")
    if need_server and pg_bindir() is None:
        missing.append("postgresql")
    return missing


def install(packages: Sequence[str], *, again: str = "make test") -> None:
    command = ["apt-get", "install", "-y", *packages]
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo") and _run_quietly(["sudo", "-n", "true"]):
        prefix = ["sudo", "-n"]
    else:
        raise Stop(
            f"missing {' '.join(packages)}: run `sudo {' '.join(command)}`, then {again} again"
        )
    if shutil.which("apt-get") is None:
        raise Stop(
            f"missing {' '.join(packages)} and no apt-get here: install them, then {again} again"
        )
    say(f"installing {' '.join(packages)} …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], [*command[:3], "-qq", *command[3:]]):
        done = subprocess.run([*prefix, *step], env=env, check=False, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            raise Stop(f"`{' '.join([*prefix, *step])}` failed (exit {done.returncode})")


def _run_quietly(argv: list[str]) -> bool:
    done = subprocess.run(argv, capture_output=True, check=False)
    return done.returncode == 0


# --- the throwaway cluster -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def socket_url(directory: Path, port: int, database: str = "test") -> str:
    """A libpq URL for a server listening only on a Unix socket in `directory`."""
    return f"postgresql://postgres@/{database}?host={quote(str(directory), safe='/')}&port={port}"


def _owner() -> tuple[list[str], int, int]:
    """(the argv prefix that runs a command as the cluster's owner, its uid, its gid)."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise Stop("running as root and there is no `postgres` user to own the cluster") from exc
    return ["runuser", "-u", "postgres", "--"], entry.pw_uid, entry.pw_gid


def _base_directory(uid: int, gid: int) -> Path:
    """var/testpg-<pid>, unless the owner cannot reach it or the socket path would be too long
    (108 bytes on Linux): then a private directory under /tmp."""
    prefix, _, _ = _owner()
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    base = var / f"testpg-{os.getpid()}"
    base.mkdir(mode=0o700)
    os.chown(base, uid, gid)
    reachable = not prefix or _run_quietly([*prefix, "test", "-w", str(base)])
    if reachable and len(str(base / ".s.PGSQL.65535.lock")) < 100:
        return base
    base.rmdir()
    base = Path(tempfile.mkdtemp(prefix="yst-testpg-"))
    os.chown(base, uid, gid)
    return base


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a private cluster; yield its libpq URL; stop and delete it on the way out."""
    bindir = pg_bindir()
    if bindir is None:
        raise Stop("no PostgreSQL server binaries (initdb) found")
    prefix, uid, gid = _owner()
    base = _base_directory(uid, gid)
    data = base / "data"
    port = free_port()
    started = False
    say(f"starting a throwaway PostgreSQL ({bindir.parent.name}) in {base}, socket port {port}")

    def run(*argv: str) -> None:
        done = subprocess.run([*prefix, *argv], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = base / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise Stop(f"`{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip()}\n{tail}")

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = (
            f"-k {base} -p {port} -c listen_addresses='' -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        started = True
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(base / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        run(str(bindir / "createdb"), "-h", str(base), "-p", str(port), "-U", "postgres", "test")
        yield socket_url(base, port)
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)
        say(f"throwaway PostgreSQL stopped and {base} removed")


# --- the commands --------------------------------------------------------------------------


def prepare() -> tuple[str, str | None, str]:
    """Install what is missing; return (chromium, the PG problem or None, the test URL)."""
    url = os.environ.get("YST_TEST_PG") or DEFAULT_PG
    chromium, note = resolve_chromium(os.environ.get("YST_CHROMIUM"))
    if note:
        say(note)
    problem = pg_problem(url)
    missing = missing_packages(chromium, need_server=problem is not None)
    if missing:
        install(missing)
    return chromium, problem, url


def _raise_on_signal(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in ("deps", "run", "print"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[0] == "print":
            missing = missing_print_packages()
            if missing:
                install(missing, again="make run")
            return 0
        chromium, problem, url = prepare()
        if argv[0] == "deps":
            return 0
        command = list(argv[1:])
        if command[:1] == ["--"]:
            command = command[1:]
        env = {**os.environ, "YST_CHROMIUM": chromium, "YST_REQUIRE_PG": "1"}
        if problem is None:
            env["YST_TEST_PG"] = url
            return subprocess.run(command, env=env, check=False).returncode
        say(f"no PostgreSQL answers at {url} ({problem})")
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _raise_on_signal)
        with throwaway_cluster() as cluster_url:
            env["YST_TEST_PG"] = cluster_url
            started = time.monotonic()
            code = subprocess.run(command, env=env, check=False).returncode
            say(f"tests ran {time.monotonic() - started:.0f} s against {cluster_url}")
            return code
    except Stop as stop:
        say(str(stop))
        return 1
    except KeyboardInterrupt as interrupt:
        say(f"interrupted ({interrupt or 'Ctrl-C'})")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
