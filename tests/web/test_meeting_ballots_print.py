"""The ballots of a meeting on paper (issue #12, the print pack), on SQLite and PostgreSQL:
表决票 (one per voter of each open ballot held at the meeting, the codes the voting desk
issues, unique, a QR that is the paper desk's entry link on the public origin), the 领票登记
of a 无记名 ballot (no code), the 计票表 (options, blank / invalid, totals, 应到 / 实到, the
rule's thresholds, the signatures), each read back with pypdf; who may print which."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import select

from app.core.privacy import mask_room
from app.db import Database
from app.halls.models import Household
from app.meetings.models import Meeting
from app.meetings.rules import MeetingKind
from app.voting.models import Ballot
from app.voting.rules import RuleKind
from app.web import qr
from tests import factories as f
from tests import meeting_helpers as mh
from tests import print_helpers as ph
from tests.conftest import LAPTOP, PUBLIC, Client, ClientAs
from tests.web import voting_helpers as vh

CODE = re.compile(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}")
NAMES = ("李建国", "赵春梅", "孙立华", "周大海")


def _held_at(db: Database, ballot: Ballot, meeting: Meeting) -> Ballot:
    """The ballot is held at the meeting (the tie the voting desk sets: Ballot.meeting_id)."""
    with db.session() as session:
        row = session.get(Ballot, ballot.id)
        assert row is not None
        row.meeting_id = meeting.id
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def _world(db: Database, names: tuple[str, ...] = NAMES) -> tuple[f.HallWorld, Any, list[Any], Any]:
    """A hall of four residents (two on the 议事会) and its chair; a 居民会议."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world, name="王秀英")
    members = []
    for i, name in enumerate(names):
        user, _ = f.make_member(db, world, household_index=i, chair=chair, name=name)
        members.append(user)
    for user in members[:2]:
        mh.give_roles(db, world, chair, user, "council")
    meeting = mh.schedule(
        db, world, chair, mh.form(MeetingKind.RESIDENTS, title="电梯加装居民会议")
    )
    return world, chair, members, meeting


def _pdf(client: Client, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, response.text[:400]
    assert response.headers["content-type"] == "application/pdf"
    assert all(ph.fonts(response.content).values())
    return response.content


def _rooms(db: Database, world: f.HallWorld) -> set[str]:
    with db.session(read_only=True) as session:
        return set(
            session.exec(select(Household.room).where(Household.hall_id == world.hall.id)).all()
        )


def _open_at(
    db: Database, world: f.HallWorld, chair: Any, meeting: Meeting, **values: Any
) -> Ballot:
    ballot = vh.open_ballot(
        db, world, chair, rule=RuleKind.RESIDENTS_MEETING, voter_unit="person", **values
    )
    return _held_at(db, ballot, meeting)


def _issue(client: Client, base: str, ballot: Ballot) -> Any:
    return client.post_form(
        f"{base}/ballots/issue",
        {"ballot_id": str(ballot.id)},
        token_from=base.removesuffix("/print"),  # the meeting page
        follow_redirects=False,
    )


def _first_qr(content: bytes) -> Any:
    """The first slip's QR, cut out of page 1 (drawn at 150 dpi): the right-hand column of the
    top slip, where it is the tallest dark block."""
    page = ph.png_pages(content, dpi=150)[0]
    width, height = page.size
    return page.crop((int(width * 0.62), 0, width, int(height * 0.36)))


def test_a_secret_ballot_prints_one_coded_slip_per_voter_and_nothing_of_them(
    db: Database, laptop: ClientAs
) -> None:
    world, chair, _, meeting = _world(db)
    secret = _open_at(db, world, chair, meeting, secret=True)
    elsewhere = vh.open_ballot(db, world, chair, rule=RuleKind.RESIDENTS_MEETING)  # no meeting
    vh.issue_papers(db, world, chair, elsewhere)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}/print"
    boss = laptop(chair)
    before = boss.get(f"{base}/ballots")
    assert before.status_code == 200
    assert "还有 4 位投票人没有纸质票" in before.text
    assert "生成纸质票" in before.text
    assert not CODE.findall("".join(ph.page_texts(_pdf(boss, f"{base}/ballots.pdf"))))
    # The voting desk's own use case issues them, once: a second press issues none.
    for _ in range(2):
        issued = _issue(boss, base, secret)
        assert issued.status_code == 303  # type: ignore[attr-defined]
        assert issued.headers["location"] == f"{base}/ballots"  # type: ignore[attr-defined]
    codes = [code for code, _ in vh.papers(db, secret)]
    assert len(codes) == secret.roll_count == 4
    assert "没有纸质票" not in boss.get(f"{base}/ballots").text

    content = _pdf(boss, f"{base}/ballots.pdf")
    pages = ph.page_texts(content)
    text = "".join(pages)
    printed = CODE.findall(text)
    assert sorted(printed) == sorted(codes)  # one slip per voter, each code once …
    assert len(set(printed)) == len(printed)  # … and unique
    assert not {code for code, _ in vh.papers(db, elsewhere)} & set(printed)
    assert text.count("表决事项") == 4
    assert len(pages) == 2  # three slips to a sheet, none cut across two
    # 无记名: no name, no building, no room, full or masked.
    for name in NAMES:
        assert name not in text
    assert "号楼" not in text  # every address on the roll is "N号楼N单元…"
    assert "**" not in text  # nor masked
    assert "127.0.0.1" not in text
    # The QR is the paper desk's entry link with the code, on the public origin, exactly as
    # the voting desk's own print page draws it (what a 计票人 scans).
    entry = f"{PUBLIC}/halls/{world.hall.id}/ballots/{secret.id}/paper?code={codes[0]}"
    crop = _first_qr(content)
    assert ph.qr_mismatches(crop, entry) == 0
    assert ph.qr_mismatches(crop, entry.replace(PUBLIC, LAPTOP)) > 100
    desk = boss.get(f"/halls/{world.hall.id}/ballots/{secret.id}/paper/print")
    assert qr.path(entry).d in desk.text


def test_a_named_ballot_carries_its_voter_masked(db: Database, laptop: ClientAs) -> None:
    world, chair, _, meeting = _world(db)
    named = _open_at(db, world, chair, meeting, secret=False)
    vh.issue_papers(db, world, chair, named)
    boss = laptop(chair)
    text = "".join(
        ph.page_texts(_pdf(boss, f"/halls/{world.hall.id}/meetings/{meeting.id}/print/ballots.pdf"))
    )
    for code, roll in vh.papers(db, named):
        assert code in text
        assert ph.squeeze(roll.masked_label) in text  # 李建国·1号楼1单元1**
        assert ph.squeeze(roll.label) not in text  # never the room in full
    assert text.count("投票人签名") == 4
    assert "记名" in text


def test_the_issued_sheet_lists_who_took_a_ballot_never_which(
    db: Database, laptop: ClientAs
) -> None:
    world, chair, _, meeting = _world(db)
    secret = _open_at(db, world, chair, meeting, secret=True)
    vh.issue_papers(db, world, chair, secret)
    boss = laptop(chair)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}/print"
    assert f'href="{base}/issued"' in boss.get(f"{base}/ballots").text
    text = "".join(ph.page_texts(_pdf(boss, f"{base}/issued.pdf")))
    assert ph.squeeze("领票登记表") in text
    assert "领票签名" in text
    for name in NAMES:
        assert name in text
    rooms = _rooms(db, world)
    assert any(mask_room(room) in text for room in rooms)
    for code, _ in vh.papers(db, secret):
        assert code not in text
    assert not CODE.findall(text)


def test_the_tally_sheet_gives_the_counters_what_they_check(db: Database, laptop: ClientAs) -> None:
    world, chair, members, meeting = _world(db)
    ballot = _open_at(
        db, world, chair, meeting, secret=True, counters=(members[0],), scrutineers=(members[1],)
    )
    vh.issue_papers(db, world, chair, ballot)
    counter = laptop(members[0])  # a 计票人 prints the tally sheet
    text = "".join(
        ph.page_texts(
            _pdf(counter, f"/halls/{world.hall.id}/meetings/{meeting.id}/print/tally.pdf")
        )
    )
    for expected in (
        "计票表",
        f"表决事项：{ballot.title}",
        "同意",
        "反对",
        "弃权",
        "正字计票",
        "有效票合计",
        "空白票",
        "无效票",
        "收回票数合计",
        "会议应到4人，签到实到0人；投票人名单4，已发纸质票4张。",
        # 居民会议 (组织法 art. 9): more than half present, more than half of them agreeing —
        # app.voting.rules.Rule.of(RESIDENTS_MEETING): > 1/2 of 4 is 3.
        "法定人数：实到须>投票人名单的1/2；名单4人，至少实到3人。",
        "通过：同意票须>实到人数的1/2。",
        "计票人（签字）：李建国",
        "监票人（签字）：赵春梅",
        "主持人（签字）：王秀英",
    ):
        assert ph.squeeze(expected) in text, expected
    assert not CODE.findall(text)


def test_who_may_print_which(db: Database, laptop: ClientAs) -> None:
    world, chair, members, meeting = _world(db)
    ballot = _open_at(db, world, chair, meeting, counters=(members[0],), scrutineers=(members[1],))
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}/print"
    docs = ("ballots", "ballots.pdf", "issued", "issued.pdf", "tally", "tally.pdf")
    resident = laptop(members[2])
    for doc in docs:
        assert resident.get(f"{base}/{doc}").status_code == 404, doc
    assert _issue(resident, base, ballot).status_code == 404
    counter = laptop(members[0])  # 计票人: the tally sheet only
    assert counter.get(f"{base}/tally").status_code == 200
    assert counter.get(f"{base}/ballots").status_code == 404
    outsider = laptop(f.make_chair(db, f.make_hall(db)))
    for doc in docs:
        assert outsider.get(f"{base}/{doc}").status_code == 404, doc
    # The meeting's 记录人 prints, but codes are issued by the chair (the voting desk's rule).
    recorder_meeting = mh.schedule(
        db, world, chair, mh.form(MeetingKind.RESIDENTS, recorder_id=members[3].id)
    )
    other = _open_at(db, world, chair, recorder_meeting)
    recorder = laptop(members[3])
    rbase = f"/halls/{world.hall.id}/meetings/{recorder_meeting.id}/print"
    page = recorder.get(f"{rbase}/ballots")
    assert page.status_code == 200
    assert "请居委会在表决的纸质票页生成" in page.text
    refused = recorder.post_form(
        f"{rbase}/ballots/issue",
        {"ballot_id": str(other.id)},
        token_from=rbase.removesuffix("/print"),
        follow_redirects=True,
    )
    assert "您没有权限进行这个操作" in refused.text  # type: ignore[attr-defined]
    assert vh.papers(db, other) == []
    # A ballot of another meeting cannot be issued through this one.
    assert _issue(laptop(chair), rbase, ballot).status_code == 404  # type: ignore[attr-defined]
    assert vh.papers(db, ballot) == []
    # The meeting page offers the print pack to its officers.
    detail = laptop(chair).get(f"/halls/{world.hall.id}/meetings/{meeting.id}").text
    for doc in ("ballots", "issued", "tally"):
        assert f'href="{base}/{doc}"' in detail


def test_the_print_pages_run_a_fixed_number_of_queries(db: Database, laptop: ClientAs) -> None:
    """However many voters: the statements per page do not grow with the roll (one query for
    the slips, one for the 领票登记's rows, a few per ballot)."""
    from tests.web.test_hall_pages import count_statements

    counts: dict[str, list[int]] = {"ballots": [], "issued": [], "tally": []}
    for names in (NAMES[:2], NAMES):
        world, chair, _, meeting = _world(db, names)
        ballot = _open_at(db, world, chair, meeting, secret=True)
        vh.issue_papers(db, world, chair, ballot)
        boss = laptop(chair)
        base = f"/halls/{world.hall.id}/meetings/{meeting.id}/print"
        for doc, shown in counts.items():
            assert boss.get(f"{base}/{doc}").status_code == 200  # warm-up
            with count_statements(db) as statements:
                page = boss.get(f"{base}/{doc}")
            assert page.status_code == 200
            shown.append(len(statements))
        assert boss.get(f"{base}/ballots").text.count('class="ballot-slip"') == len(names)
    for doc, (small, large) in counts.items():
        assert small == large, (doc, counts)
        assert small < 30, (doc, counts)
