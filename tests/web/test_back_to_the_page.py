"""The preference buttons (大字模式, language) go back to the page they were pressed on, and
only ever to one of ours: a Referer whose path a browser would read as another host
("//evil.example/x") goes to a path on this host, never off-site (SECURITY.md, open redirects)."""

from __future__ import annotations

import pytest

from tests.conftest import Client


@pytest.mark.parametrize(
    ("referer", "location"),
    [
        ("http://testserver/halls/1?tab=2", "/halls/1?tab=2"),
        ("http://testserver/", "/"),
        ("http://testserver//evil.example/x", "/evil.example/x"),
        ("http://testserver/\\evil.example/x", "/evil.example/x"),
        ("http://evil.example/halls/1", "/"),
        ("http://testserver.evil.example/x", "/"),
        ("", "/"),
    ],
)
def test_the_preferences_go_back_to_our_own_page_only(
    client: Client, referer: str, location: str
) -> None:
    token = client.csrf("/login")
    headers = {"Referer": referer} if referer else {}
    for path, data in (("/prefs/elder", {"on": "1"}), ("/prefs/locale", {"locale": "en"})):
        response = client.post(
            path, data={"csrf_token": token, **data}, headers=headers, follow_redirects=False
        )
        assert response.status_code == 303, path
        assert response.headers["location"] == location, (path, referer)
        assert not response.headers["location"].startswith("//")
