"""What `make test` sees to (tests/testenv.py) and the test URLs derived from YST_TEST_PG.

A throwaway cluster listens on a Unix socket on a port of its own, so every database URL the
suite builds must keep the test URL's host, port and query rather than assume 127.0.0.1:5432.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app import backup
from app.db import Database
from tests import testenv
from tests.conftest import pg_database_url


def test_database_urls_keep_the_test_servers_socket_and_port() -> None:
    admin = "postgresql://postgres@/test?host=/srv/yst/var/testpg-1&port=54329"
    url = make_url(pg_database_url("yst_x", admin))
    assert url.drivername == "postgresql+psycopg"
    assert url.database == "yst_x"
    assert url.host is None
    assert dict(url.query) == {"host": "/srv/yst/var/testpg-1", "port": "54329"}


def test_database_urls_keep_the_test_servers_host_and_port() -> None:
    url = make_url(pg_database_url("yst_y", "postgresql://tester@db.example:6543/test"))
    assert (url.username, url.host, url.port, url.database) == (
        "tester",
        "db.example",
        6543,
        "yst_y",
    )


def test_a_missing_browser_path_falls_back_to_debians_chromium(tmp_path: Path) -> None:
    chosen, note = testenv.resolve_chromium(str(tmp_path / "nothing-here"))
    assert chosen == testenv.DEBIAN_CHROMIUM
    assert note is not None
    assert "nothing-here" in note
    assert testenv.resolve_chromium(None) == (testenv.DEBIAN_CHROMIUM, None)
    browser = tmp_path / "chrome"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert testenv.resolve_chromium(str(browser)) == (str(browser), None)


def test_without_root_or_sudo_it_stops_with_the_exact_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(testenv.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("PATH", str(tmp_path))  # no sudo, no apt-get
    with pytest.raises(testenv.Stop) as stop:
        testenv.install(["chromium", "fonts-noto-cjk"])
    line = str(stop.value)
    assert "\n" not in line
    assert "sudo apt-get install -y chromium fonts-noto-cjk" in line


def test_the_servers_pdfs_need_pango_its_subsetter_and_the_cjk_fonts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    installed = {"libpango-1.0-0", "fonts-noto-cjk"}
    monkeypatch.setattr(testenv, "deb_installed", lambda package: package in installed)
    assert testenv.missing_print_packages() == ["libpangoft2-1.0-0", "libharfbuzz-subset0"]
    missing = testenv.missing_packages(testenv.DEBIAN_CHROMIUM, need_server=False)
    assert {"libpangoft2-1.0-0", "libharfbuzz-subset0"} <= set(missing)
    # `make run` (testenv print) names the command and itself when it cannot install
    monkeypatch.setattr(testenv.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert testenv.main(["print"]) == 1
    line = capsys.readouterr().err.strip()
    assert "\n" not in line
    assert "sudo apt-get install -y libpangoft2-1.0-0 libharfbuzz-subset0" in line
    assert line.endswith("then make run again")


@pytest.mark.skipif(testenv.pg_bindir() is None, reason="no PostgreSQL server binaries here")
def test_the_throwaway_cluster_answers_on_its_socket_and_is_removed(tmp_path: Path) -> None:
    with testenv.throwaway_cluster() as url:
        assert testenv.pg_problem(url) is None
        query = dict(make_url(url).query)
        base = Path(str(query["host"]))
        assert base.is_dir()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "yst_cluster_probe"')
        # The app (SQLAlchemy) and pg_dump reach a database on the socket too.
        probe = pg_database_url("yst_cluster_probe", url)
        database = Database.connect(probe)
        database.dispose()
        dump = backup.backup(probe, tmp_path / "probe.dump")
        assert dump.read_bytes()[:5] == b"PGDMP"
    assert not base.exists()
    assert testenv.pg_problem(url) is not None


@pytest.mark.parametrize(
    ("status", "installed"),
    [
        ("install ok installed", True),
        ("install ok installed\n", True),
        ("unknown ok not-installed", False),  # a package known to dpkg but never installed
        ("deinstall ok config-files", False),  # removed, its configuration left behind
        ("install ok half-installed", False),
        ("", False),
    ],
)
def test_only_an_installed_package_counts_as_installed(status: str, installed: bool) -> None:
    assert testenv.status_installed(status) is installed
