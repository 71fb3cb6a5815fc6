"""Sharing an issue (issue #14): the share box on the issue page, the QR and the A5 slip on the
public origin (never the laptop's loopback), its PDF read back; another hall's user gets 404."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.web import qr
from tests import factories as f
from tests import print_helpers as ph
from tests.conftest import Client
from tests.web.test_print_origin import png_of

LAPTOP = "http://127.0.0.1:8000"
LAN = "http://192.168.1.20:8000"

ClientFor = Callable[..., Client]


@pytest.fixture
def client_for(settings: Settings, db: Database) -> Iterator[ClientFor]:
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


def test_a_proposer_shares_a_collecting_issue_by_link_qr_and_slip(
    db: Database, client_for: ClientFor
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    proposer, _ = f.make_member(db, world, household_index=0, chair=chair, name="提议人")
    issue = f.make_issue(
        db, world, proposer, title="楼道灯坏了半年", description="3号楼2单元楼道灯一直不亮。" * 20
    )
    her = client_for(LAPTOP, origin=LAN, public_origin=LAN + "/")
    her.login(proposer.phone or "", f.PASSWORD)
    base = f"/halls/{world.hall.id}/issues/{issue.id}"
    link = LAN + base

    page = her.get(base)
    assert page.status_code == 200
    assert '<details class="card share-box" open>' in page.text  # open while collecting
    assert f'value="{link}"' in page.text
    assert LAPTOP not in page.text

    png = her.get(base + "/share.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).convert("L").tobytes() == png_of(link)

    slip = her.get(base + "/share")
    assert slip.status_code == 200
    assert "楼道灯坏了半年" in slip.text
    assert "扫码附议" in slip.text
    assert qr.path(link).d in slip.text
    assert "…" in slip.text  # the description is cut to its start

    document = her.get(base + "/share.pdf")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    (text,) = ph.page_texts(document.content)  # one A5 page
    assert "楼道灯坏了半年" in text
    assert ph.squeeze(link) in text
    box = ph.reader(document.content).pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (148, 210)
    (image,) = ph.png_pages(document.content, dpi=200)
    assert ph.qr_mismatches(image, link) == 0


def test_another_halls_resident_cannot_share_it(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    issue = f.make_deliberating_issue(db, world, chair)
    other = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    stranger, _ = f.make_member(db, other, household_index=0, name="外人")
    c = make_client()
    c.login(stranger.phone or "", f.PASSWORD)  # type: ignore[attr-defined]
    base = f"/halls/{world.hall.id}/issues/{issue.id}"
    for path in ("/share", "/share.pdf", "/share.png"):
        assert c.get(base + path).status_code == 404  # type: ignore[attr-defined]
