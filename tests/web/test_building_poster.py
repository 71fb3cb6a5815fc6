"""The join poster of one building (issue #12, the print pack), on SQLite and PostgreSQL:
`/halls/{id}/buildings/{id}/poster.pdf` carries the building's name and a QR that opens
the join form with that building chosen, on the public origin; read back with pypdf and
decoded module by module from pdftoppm's drawing. Offered on the invite page; the building
is kept through registering."""

from __future__ import annotations

from urllib.parse import quote

from app.db import Database
from app.halls import queries
from app.halls.labels import issuer_of
from app.web import qr
from tests import factories as f
from tests import print_helpers as ph
from tests.conftest import LAPTOP, PUBLIC, ClientAs
from tests.web.test_print_pdf import assert_a4_with_embedded_cjk_fonts, download


def test_a_buildings_poster_opens_the_join_form_at_that_building(
    db: Database, laptop: ClientAs, make_client: object
) -> None:
    world = f.make_hall(db, buildings=2)
    chair = f.make_chair(db, world)
    hall = world.hall
    with db.session(read_only=True) as session:
        first, second = queries.list_buildings(session, hall_id=hall.id or 0)
    client = laptop(chair)
    invite = client.get(f"/halls/{hall.id}/invite").text
    for b in (first, second):
        assert f'href="/halls/{hall.id}/buildings/{b.id}/poster"' in invite

    join_url = f"{PUBLIC}/join/{hall.invite_token}?building_id={second.id}"
    content = download(
        client,
        f"/halls/{hall.id}/buildings/{second.id}/poster.pdf",
        f"{hall.name}{second.name}-加入海报.pdf",
    )
    (text,) = ph.page_texts(content)
    for expected in (hall.name, f"{second.name} 居民", "扫码加入社区议事厅", join_url):
        assert ph.squeeze(expected) in text, expected
    assert ph.squeeze(issuer_of(hall)) in text
    assert "127.0.0.1" not in text
    assert_a4_with_embedded_cjk_fonts(content)
    (page,) = ph.png_pages(content, dpi=150)
    assert ph.qr_mismatches(page, join_url) == 0
    assert ph.qr_mismatches(page, f"{PUBLIC}/join/{hall.invite_token}") > 100
    assert ph.qr_mismatches(page, join_url.replace(PUBLIC, LAPTOP)) > 100
    view = client.get(f"/halls/{hall.id}/buildings/{second.id}/poster")
    assert qr.path(join_url).d in view.text
    assert f'href="/halls/{hall.id}/buildings/{second.id}/poster.pdf"' in view.text
    # The whole hall's poster is as it was.
    (whole,) = ph.page_texts(
        download(client, f"/halls/{hall.id}/print/poster.pdf", f"{hall.name}-加入海报.pdf")
    )
    assert "居民" not in whole.split("扫码加入")[0].replace(hall.name, "")
    # Another hall's building, a resident: not found.
    other = f.make_hall(db)
    with db.session(read_only=True) as session:
        foreign = queries.list_buildings(session, hall_id=other.hall.id or 0)[0]
    assert client.get(f"/halls/{hall.id}/buildings/{foreign.id}/poster.pdf").status_code == 404
    resident, _ = f.make_member(db, world, chair=chair)
    assert laptop(resident).get(f"/halls/{hall.id}/buildings/{first.id}/poster").status_code == 404

    # Scanned: someone without an account keeps the building through registering …
    path = join_url.removeprefix(PUBLIC)
    anonymous = make_client()  # type: ignore[operator]
    page_html = anonymous.get(path).text
    assert f"next={quote(path, safe='/')}" in page_html
    # … and a logged-in neighbour finds it chosen.
    newcomer = f.make_user(db)
    phone = make_client()  # type: ignore[operator]
    phone.login(newcomer.phone or "", f.PASSWORD)
    form = phone.get(path).text
    assert f'<option value="{second.id}" selected>{second.name}</option>' in form
    assert 'id="f-entrance"' in form  # the next step: that building's entrances
