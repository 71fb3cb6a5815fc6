"""The origin printed links use (app/web/links.py): loopback detection and serve's LAN pick."""

from __future__ import annotations

import pytest

from app.web.links import is_loopback, lan_addresses_in_order, pick_lan_origin


@pytest.mark.parametrize(
    ("origin", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.8.9.10", True),
        ("http://localhost:8000", True),
        ("http://LOCALHOST", True),
        ("http://app.localhost:8000", True),
        ("http://[::1]:8000", True),
        ("http://:8000", True),
        ("http://192.168.1.20:8000", False),
        ("http://10.0.0.5:8000", False),
        ("https://yishiting.example.cn", False),
        ("http://[fe80::1]:8000", False),
    ],
)
def test_loopback_origins(origin: str, loopback: bool) -> None:
    assert is_loopback(origin) is loopback


def test_serve_picks_the_office_wifi_address_before_container_bridges() -> None:
    found = ["172.17.0.1", "127.0.0.1", "169.254.3.4", "10.8.0.2", "192.168.1.20", "bogus"]
    assert lan_addresses_in_order(found) == ["192.168.1.20", "10.8.0.2", "172.17.0.1"]
    assert pick_lan_origin(found, 8000) == "http://192.168.1.20:8000"
    assert pick_lan_origin(found, 8443, https=True) == "https://192.168.1.20:8443"
    assert pick_lan_origin(["172.17.0.1", "100.64.0.7"], 8000) == "http://172.17.0.1:8000"


def test_serve_picks_nothing_phones_cannot_reach() -> None:
    assert pick_lan_origin([], 8000) is None
    assert pick_lan_origin(["127.0.0.1", "169.254.1.1"], 8000) is None
    # Listening on loopback only: no LAN address would answer.
    assert pick_lan_origin(["192.168.1.20"], 8000, host="127.0.0.1") is None
    # Listening on one LAN address: that one.
    assert pick_lan_origin(["192.168.1.20", "10.0.0.3"], 8000, host="10.0.0.3") == (
        "http://10.0.0.3:8000"
    )
    assert pick_lan_origin(["192.168.1.20"], 8000, host="::") == "http://192.168.1.20:8000"
