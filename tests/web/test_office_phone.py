"""The 居委会's public number (issue #14): set on 议事规则, printed whole on the 公示 (page and
A4, a tel: link online), never the chair's own login number; a number that cannot be dialled
is refused next to its field and nothing is saved. Both databases."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import Database
from app.halls.models import Hall
from tests import factories as f
from tests.conftest import Client
from tests.web.test_hall_pages import DEFAULTS
from tests.web.test_voting_publicity import login, publicise


def _hall(db: Database, hall_id: int | None) -> Hall:
    with db.session(read_only=True) as s:
        hall = s.get(Hall, hall_id)
    assert hall is not None
    return hall


def _error(page: str) -> str | None:
    match = re.search(r'<p class="error" id="e-office_phone" role="alert">([^<]*)</p>', page)
    return html.unescape(match.group(1)) if match else None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("010-6500 1234", "010-6500 1234"),
        ("  (010) 65001234 ", "(010) 65001234"),
        ("6500123", "6500123"),  # 7 digits: a local number, the fewest allowed
        ("+86 10 6500 1234 567", "+86 10 6500 1234 567"),  # 15 digits, the most
        ("", ""),  # none published
    ],
)
def test_the_chair_sets_the_public_number(
    db: Database, make_client: Callable[[], Client], typed: str, stored: str
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=1)
    chair = f.make_chair(db, world)
    boss = login(make_client, chair)
    url = f"/halls/{world.hall.id}/settings"
    assert 'id="f-office_phone"' in boss.get(url).text
    done = boss.post_form(
        url, {**DEFAULTS, "office_phone": typed}, token_from=url, follow_redirects=False
    )
    assert done.status_code == 303
    assert _hall(db, world.hall.id).office_phone == stored
    again = boss.get(url)
    assert f'value="{html.escape(stored)}"' in again.text


@pytest.mark.parametrize(
    "typed",
    [
        "650012",  # 6 digits: one short
        "+86 10 6500 1234 5678",  # 16 digits: one too many
        "请打居委会",
        "010-6500-1234 转 8",
        "13800000000; DROP",
    ],
)
def test_a_number_that_cannot_be_dialled_is_refused_next_to_its_field(
    db: Database, make_client: Callable[[], Client], typed: str
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=1)
    chair = f.make_chair(db, world)
    boss = login(make_client, chair)
    url = f"/halls/{world.hall.id}/settings"
    form = {**DEFAULTS, "cosign_threshold": "12", "office_phone": typed}
    refused = boss.post_form(url, form, token_from=url)
    assert refused.status_code == 422
    assert (
        _error(refused.text)
        == "请填写可以拨打的电话，如 010-65001234 或 13812345678；不公布可以留空"
    )
    assert f'value="{html.escape(typed)}"' in refused.text  # what was typed is kept
    hall = _hall(db, world.hall.id)
    assert (hall.office_phone, hall.cosign_threshold) == ("", 10)  # nothing saved


def test_the_publicity_prints_the_published_number_whole_and_never_the_chairs_own(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    resident = login(make_client, p.owners[1])
    assert "tel:" not in resident.get(p.url).text  # none published yet: no phone line at all
    assert "电话：" not in resident.get(f"{p.url}/print").text
    boss = login(make_client, p.chair)
    url = f"/halls/{p.world.hall.id}/settings"
    saved = boss.post_form(
        url, {**DEFAULTS, "office_phone": "010-6500 1234"}, token_from=url, follow_redirects=False
    )
    assert saved.status_code == 303
    page = resident.get(p.url).text
    assert '<a class="tel" href="tel:010-65001234">010-6500 1234</a>' in page
    printed = resident.get(f"{p.url}/print").text
    assert "电话：010-6500 1234" in printed
    assert p.chair.phone
    for text in (page, printed):
        assert p.chair.phone not in text
        assert f"联系人：{p.chair.name}（社区居委会）" in text


def test_the_audit_chain_keeps_the_number_masked(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """The audit chain cannot be edited, so no phone number goes into it whole (SECURITY.md
    PRIV-02), a public one included: the record says it changed, with its last four digits."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=1)
    chair = f.make_chair(db, world)
    boss = login(make_client, chair)
    url = f"/halls/{world.hall.id}/settings"
    for number in ("13812345678", ""):
        saved = boss.post_form(
            url, {**DEFAULTS, "office_phone": number}, token_from=url, follow_redirects=False
        )
        assert saved.status_code == 303
    with db.session(read_only=True) as s:
        rows = s.exec(
            select(AuditEvent.data)
            .where(
                AuditEvent.hall_id == world.hall.id,
                AuditEvent.action == "halls.update_hall_settings",
            )
            .order_by(AuditEvent.id)
        ).all()
    changes = [json.loads(r)["changed"]["office_phone"] for r in rows]
    assert changes == [["", "****5678"], ["****5678", ""]]
    assert "13812345678" not in boss.get(f"/halls/{world.hall.id}/audit").text
