"""Printed QR codes and links open on a phone (issue #10 §6), on SQLite and PostgreSQL.

The chair prints from the office laptop, whose browser is at http://127.0.0.1:8000. Every QR
code and link on the invite poster, the paper ballots and the printed 公示 uses the configured
public origin (or the LAN origin `serve` picked), never the address bar's; and while that
origin is a loopback address, every print view warns the chair on screen.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import qrcode
from PIL import Image

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.web import qr
from tests import factories as f
from tests.conftest import Client
from tests.web import voting_helpers as vh
from tests.web.test_voting_publicity import publicise

LAPTOP = "http://127.0.0.1:8000"  # where the chair's browser is
LAN = "http://192.168.1.20:8000"
WARNING = "注意：本页打印的二维码和链接打不开"

ClientFor = Callable[..., Client]


@pytest.fixture
def client_for(settings: Settings, db: Database) -> Iterator[ClientFor]:
    """A client at `base_url` of an app whose settings have `overrides`."""
    clients: list[Client] = []

    def make(base_url: str = LAPTOP, origin: str | None = None, **overrides: Any) -> Client:
        app = create_app(settings.model_copy(update=overrides), database=db)
        c = Client(app, base_url=base_url, headers={"Origin": origin or base_url})
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def png_of(text: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(text, box_size=10, border=2).save(buffer)
    return Image.open(buffer).convert("L").tobytes()


def print_views(db: Database) -> tuple[Any, dict[str, str], dict[str, str]]:
    """A chair, the three print views (name → path), and the link each must print."""
    p = publicise(db)
    ballot = vh.open_ballot(db, p.world, p.chair)
    vh.issue_papers(db, p.world, p.chair, ballot)
    code, _ = vh.papers(db, ballot)[0]
    hall = p.world.hall.id
    ballot_url = f"/halls/{hall}/ballots/{ballot.id}"
    views = {
        "invite": f"/halls/{hall}/invite",
        "paper": f"{ballot_url}/paper/print",
        "publicity": f"{p.url}/print",
    }
    links = {
        "invite": f"/join/{p.world.hall.invite_token}",
        "paper": f"{ballot_url}/paper?code={code}",
        "publicity": p.url,
    }
    return p, views, links


def assert_prints(
    client: Client, views: dict[str, str], links: dict[str, str], origin: str
) -> None:
    invite = client.get(views["invite"])
    assert invite.status_code == 200
    assert f'value="{origin}{links["invite"]}"' in invite.text
    png = client.get(views["invite"] + ".png")
    assert png.status_code == 200
    assert Image.open(io.BytesIO(png.content)).convert("L").tobytes() == png_of(
        origin + links["invite"]
    )
    paper = client.get(views["paper"])
    assert paper.status_code == 200
    assert qr.path(origin + links["paper"]).d in paper.text
    notice = client.get(views["publicity"])
    assert notice.status_code == 200
    assert origin + links["publicity"] in notice.text
    assert qr.data_uri(origin + links["publicity"]) in notice.text


def test_a_configured_public_origin_is_printed_even_from_the_laptops_loopback(
    db: Database, client_for: ClientFor
) -> None:
    p, views, links = print_views(db)
    chair = client_for(LAPTOP, origin=LAN, public_origin=LAN + "/")
    chair.login(p.chair.phone or "", f.PASSWORD)
    assert_prints(chair, views, links, LAN)
    for path in views.values():
        page = chair.get(path).text
        assert WARNING not in page
        assert LAPTOP not in page


def test_the_lan_origin_serve_picked_is_printed_when_none_is_configured(
    db: Database, client_for: ClientFor
) -> None:
    p, views, links = print_views(db)
    chair = client_for(LAPTOP, lan_origin=LAN)
    chair.login(p.chair.phone or "", f.PASSWORD)  # CSRF still takes the laptop's own origin
    assert_prints(chair, views, links, LAN)
    assert all(WARNING not in chair.get(path).text for path in views.values())


@pytest.mark.parametrize(
    ("base_url", "overrides"),
    [
        (LAPTOP, {}),
        ("http://localhost:8000", {}),
        (LAN, {"public_origin": "http://127.0.0.1:8000"}),
        ("http://[::1]:8000", {}),
    ],
)
def test_every_print_view_warns_while_the_printed_origin_is_loopback(
    db: Database, client_for: ClientFor, base_url: str, overrides: dict[str, str]
) -> None:
    p, views, links = print_views(db)
    origin = overrides.get("public_origin", base_url)
    chair = client_for(base_url, origin=origin, **overrides)
    chair.login(p.chair.phone or "", f.PASSWORD)
    assert_prints(chair, views, links, origin)
    for name, path in views.items():
        page = chair.get(path).text
        assert WARNING in page, name
        assert f"它们指向 {origin}" in page, name
        assert "YST_PUBLIC_ORIGIN" in page, name
    # Seen from a phone on the LAN, nothing warns.
    lan = client_for(LAN)
    lan.login(p.chair.phone or "", f.PASSWORD)
    assert all(WARNING not in lan.get(path).text for path in views.values())
