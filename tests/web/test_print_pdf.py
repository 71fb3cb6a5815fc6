"""The print pack's PDFs through the real app, on SQLite and PostgreSQL (issue #12).

The chair's laptop is at http://127.0.0.1:8000 and the public origin is configured: every
PDF is downloaded over HTTP from there, read back with pypdf (its Chinese text, its pages,
its fonts) and drawn with pdftoppm. Each is the same template as its A4 view on screen.
"""

from __future__ import annotations

from urllib.parse import quote

from app.core.privacy import mask_phone
from app.db import Database
from app.halls.labels import issuer_of
from app.web import qr
from app.web.templating import cn_date
from tests import factories as f
from tests import print_helpers as ph
from tests.conftest import A4_POINTS, LAPTOP, PUBLIC, Client, ClientAs
from tests.web import voting_helpers as vh
from tests.web.test_voting_publicity import Publicised, publicise


def download(client: Client, path: str, filename: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].endswith(f"''{quote(filename)}")
    assert response.headers["cache-control"] == "no-store"  # personal data, like every page
    content: bytes = response.content
    assert int(response.headers["content-length"]) == len(content)
    return content


def assert_a4_with_embedded_cjk_fonts(content: bytes) -> None:
    for page in ph.reader(content).pages:
        assert (round(page.mediabox.width), round(page.mediabox.height)) == A4_POINTS
    fonts = ph.fonts(content)
    assert fonts, "no fonts: the text would not be text"
    assert all(fonts.values()), f"fonts not embedded: {fonts}"
    assert any("Noto-Serif-CJK-SC" in name for name in fonts), fonts


def publicity_pdf(p: Publicised) -> str:
    return f"/halls/{p.world.hall.id}/ballots/{p.ballot.id}/print/publicity.pdf"


def test_the_publicity_pdf_is_the_notice_in_selectable_chinese_on_one_a4_sheet(
    db: Database, laptop: ClientAs
) -> None:
    p = publicise(db)
    resident = laptop(p.owners[2])  # a member: the notice is public to the hall, as its view
    content = download(resident, publicity_pdf(p), f"公示-{p.issue.title}.pdf")
    pages = ph.page_texts(content)
    assert len(pages) == 1
    text = pages[0]
    # DOMAIN.md §6.2: the title, how the topic arose, the vote, the result, the plan, the period,
    # how to object, the issuer and the date; the ledger head for anyone to check
    for expected in (
        f"关于「{p.issue.title}」协商结果的公示",
        "一、议题由来",
        f"议题{p.issue.title}",
        "二、表决情况",
        f"应到{p.ballot.roll_count}位业主",
        "实到3位业主",
        "三、表决结果",
        "表决通过",
        "同意2票",
        "反对1票",
        "弃权0票",
        "四、决议事项",
        "五、实施安排",
        "六、公示期",
        f"自{cn_date(p.resolution.publicity_starts_at)}至{cn_date(p.resolution.publicity_ends_at)}",
        "七、意见反馈",
        f"联系人：{p.chair.name}（社区居委会）",
        f"网上提出：{PUBLIC}{p.url}",
        "盖章处",
        issuer_of(p.world.hall) + cn_date(p.resolution.publicity_starts_at),
        f"表决账本哈希：{p.resolution.head_hash}",
    ):
        assert ph.squeeze(expected) in text, expected
    # the running header and the page number
    assert issuer_of(p.world.hall) + "协商结果公示" in text
    assert "第1页共1页" in text
    # no phone nobody chose to publish (whole or masked); no link points at the laptop
    assert (p.chair.phone or "") not in text
    assert ph.squeeze(mask_phone(p.chair.phone or "")) not in text
    assert "127.0.0.1" not in text
    # the screen's tools are not printed
    assert "下载PDF" not in text
    assert "返回网上公示" not in text
    assert_a4_with_embedded_cjk_fonts(content)


def test_the_publicity_view_and_its_pdf_are_one_template_and_one_policy(
    db: Database, laptop: ClientAs
) -> None:
    p = publicise(db)
    resident = laptop(p.owners[0])
    view = resident.get(f"{p.url}/print")
    assert view.status_code == 200
    assert f'href="{publicity_pdf(p)}"' in view.text  # the A4 view offers its PDF
    assert qr.data_uri(PUBLIC + p.url) in view.text
    # a ballot whose 决议 is not (or not yet) in 公示 has no notice to print
    open_ballot = vh.open_ballot(db, p.world, p.chair)
    missing = resident.get(f"/halls/{p.world.hall.id}/ballots/{open_ballot.id}/print/publicity.pdf")
    assert missing.status_code == 404
    # another hall's chair, sending this hall's ids: no such hall for them
    other = f.make_hall(db, buildings=1, entrances=1, rooms=1)
    stranger = laptop(f.make_chair(db, other))
    assert stranger.get(publicity_pdf(p)).status_code == 404


def test_the_join_poster_pdf_carries_the_invite_as_a_qr_code_on_the_public_origin(
    db: Database, laptop: ClientAs
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    hall = world.hall
    join_url = f"{PUBLIC}/join/{hall.invite_token}"
    client = laptop(chair)
    content = download(client, f"/halls/{hall.id}/print/poster.pdf", f"{hall.name}-加入海报.pdf")
    pages = ph.page_texts(content)
    assert len(pages) == 1
    text = pages[0]
    for expected in (
        hall.name,
        "扫码加入社区议事厅",
        join_url,
        "扫码注册",
        "选择楼栋房号",
        "居委会核对",
        "参与议事",
        f"二维码有效期至{cn_date(hall.invite_expires_at)}",
        issuer_of(hall),
    ):
        assert ph.squeeze(expected) in text, expected
    assert "127.0.0.1" not in text
    assert "页共" not in text  # a poster has no page numbers
    assert_a4_with_embedded_cjk_fonts(content)
    # drawn, the QR code is the invite link, module for module
    (page,) = ph.png_pages(content, dpi=150)
    assert ph.qr_mismatches(page, join_url) == 0
    assert ph.qr_mismatches(page, f"{LAPTOP}/join/{hall.invite_token}") > 100

    # the A4 view: the same poster, its QR drawn inline, a link to the PDF
    view = client.get(f"/halls/{hall.id}/print/poster")
    assert view.status_code == 200
    assert qr.path(join_url).d in view.text
    assert f'href="/halls/{hall.id}/print/poster.pdf"' in view.text
    assert client.get(f"/halls/{hall.id}/invite").text.count(f"/halls/{hall.id}/print/poster") == 1

    # chairs only, as the invite: a resident is told there is no such page
    resident, _ = f.make_member(db, world, household_index=1, chair=chair)
    neighbour = laptop(resident)
    assert neighbour.get(f"/halls/{hall.id}/print/poster.pdf").status_code == 404
    assert neighbour.get(f"/halls/{hall.id}/print/poster").status_code == 404
