"""决议 and 公示 over HTTP: the online 公示 and its 异议, the chair's answers, the end of the
公示, the printed A4 notice, the issue page's 民决 card; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI

from app.accounts.models import User
from app.core import clock
from app.core.errors import Conflict
from app.core.privacy import mask_name, mask_phone
from app.db import Database
from app.halls.labels import issuer_of
from app.halls.models import Relation
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.voting import decision_card, labels, queries, schemas, service
from app.voting.models import Ballot, Objection, Resolution
from app.voting.rules import RuleKind
from app.web.templating import cn_date, env
from tests import factories as f
from tests.conftest import Client


def check_item(line: labels.CheckLine) -> str:
    """A check's <li> as the pages draw it (voting/_checks.html)."""
    return str(env.get_template("voting/_checks.html").module.check_item(line))  # type: ignore[attr-defined]


PHONE_RE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    clock.freeze(at)
    try:
        yield
    finally:
        clock.freeze(None)


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


@dataclass
class Publicised:
    world: f.HallWorld
    chair: User
    owners: list[User]
    issue: Issue
    ballot: Ballot
    resolution: Resolution

    @property
    def url(self) -> str:
        return f"/halls/{self.world.hall.id}/issues/{self.issue.id}/publicity"


def publicise(
    db: Database, *, names: tuple[str, ...] = ("赵小明", "钱多多", "孙一一")
) -> Publicised:
    """An owners' vote on one building (3 flats), passed 2 yes : 1 no and so in 公示."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    owners = [
        f.make_member(
            db, world, household_index=i, relation=Relation.OWNER, chair=chair, name=names[i]
        )[0]
        for i in range(3)
    ]
    issue, _ = f.make_deciding_issue(db, world, chair)
    access = f.chair_access(db, world, chair)
    with db.session() as s:
        ballot = service.create_ballot(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.BallotForm(title="是否同意加装电梯", rule=RuleKind.OWNERS_ORDINARY),
        )
    with db.session() as s:
        service.open_ballot(session=s, access=access, actor=chair, ballot_id=ballot.id or 0)
    for owner, option in zip(owners, ("yes", "yes", "no"), strict=True):
        with db.session() as s:
            service.cast_vote(
                session=s,
                access=f.member_access(db, world, owner),
                actor=owner,
                ballot_id=ballot.id or 0,
                form=schemas.VoteForm(option=option, submission_id=str(uuid.uuid4())),
            )
    with db.session() as s:
        resolution = service.close_ballot(
            session=s, access=access, actor=chair, ballot_id=ballot.id or 0
        )
    with db.session(read_only=True) as s:
        stored = s.get(Ballot, ballot.id)
        fresh = s.get(Issue, issue.id)
        assert stored is not None
        assert fresh is not None
    assert resolution.passed
    assert fresh.stage == Stage.PUBLICIZING
    return Publicised(world, chair, owners, fresh, stored, resolution)


def stage_of(db: Database, issue: Issue) -> Stage:
    with db.session(read_only=True) as s:
        row = s.get(Issue, issue.id)
        assert row is not None
        return Stage(row.stage)


def test_a_passed_vote_is_publicised_with_every_check_the_period_and_the_head_hash(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    resident = login(make_client, p.owners[2])
    page = resident.get(p.url)
    assert page.status_code == 200
    assert f"关于「{p.issue.title}」协商结果的公示" in page.text
    result = queries.stored_result(p.ballot)
    assert result is not None
    assert len(result["checks"]) == 4  # 民法典 278: area and heads, taking part and agreeing
    for line in labels.check_lines(result):
        assert check_item(line) in page.text
    assert "参与表决专有部分面积" in page.text
    # 应到 / 实到 with the areas (61.25 + 62.25 + 63.25 = 186.75 m²)
    assert "3 位业主，专有部分面积 186.75 ㎡" in page.text
    assert "同意" in page.text
    assert "2 票" in page.text
    assert "1 票" in page.text
    assert p.resolution.text in page.text
    assert "由社区居委会组织实施，办理进度将另行公示" in page.text
    assert p.resolution.publicity_starts_at is not None
    assert p.resolution.publicity_ends_at is not None
    for at in (p.resolution.publicity_starts_at, p.resolution.publicity_ends_at):
        assert cn_date(at) in page.text
    assert p.resolution.head_hash
    assert p.resolution.head_hash == p.ballot.head_hash
    assert p.resolution.head_hash in page.text
    assert f"/halls/{p.world.hall.id}/ballots/{p.ballot.id}/board" in page.text
    # how to object: the form here, and whom to ask (the chair, by name; no phone online)
    assert 'name="body"' in page.text
    assert p.chair.name in page.text
    assert not PHONE_RE.findall(page.text.split("<main", 1)[1])
    # the proposer is not named in full on a 公示 (here the chair entered it from paper)
    assert "居民书面反映，由居委会登记" in page.text


def test_objections_are_filed_answered_and_the_end_is_guarded(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    objector = login(make_client, p.owners[0])
    neighbour = login(make_client, p.owners[1])
    boss = login(make_client, p.chair)
    url = p.url
    # an empty objection: 422 with the message next to the field, as a page and as htmx
    token = objector.csrf(url)
    empty = objector.post(
        f"/halls/{p.world.hall.id}/issues/{p.issue.id}/objections",
        data={"csrf_token": token, "body": "  "},
    )
    assert empty.status_code == 422
    assert 'id="e-body"' in empty.text
    assert "此项必填" in empty.text
    assert "<html" in empty.text
    empty = objector.post(
        f"{url.rsplit('/', 1)[0]}/objections",
        data={"csrf_token": token, "body": ""},
        headers={"HX-Request": "true"},
    )
    assert empty.status_code == 422
    assert 'id="e-body"' in empty.text
    assert "<html" not in empty.text
    # filed with htmx: the card comes back with it and a flash out of band
    filed = objector.post(
        f"{url.rsplit('/', 1)[0]}/objections",
        data={"csrf_token": token, "body": "分摊方案对一层住户不公平"},
        headers={"HX-Request": "true"},
    )
    assert filed.status_code == 200
    assert f'id="issue-{p.issue.id}-objections"' in filed.text
    assert "分摊方案对一层住户不公平" in filed.text
    assert 'hx-swap-oob="innerHTML:#flash"' in filed.text
    # without JS: PRG
    second = neighbour.post_form(
        f"{url.rsplit('/', 1)[0]}/objections",
        {"body": "施工时间应避开午休"},
        token_from=url,
        follow_redirects=False,
    )
    assert second.status_code == 303
    assert second.headers["location"].startswith(url)
    with db.session(read_only=True) as s:
        rows = queries.list_objections(
            s, hall_id=p.world.hall.id or 0, resolution_id=p.resolution.id or 0
        )
    assert [r.objection.body for r in rows] == ["分摊方案对一层住户不公平", "施工时间应避开午休"]
    first_id, second_id = (r.objection.id for r in rows)
    # names: full for the chair and for the objector, masked (赵**) for everyone else
    full, masked = p.owners[0].name, mask_name(p.owners[0].name)
    assert masked == "赵**"
    seen_by_neighbour = neighbour.get(url).text
    assert masked in seen_by_neighbour
    assert full not in seen_by_neighbour
    assert full in objector.get(url).text
    chair_page = boss.get(url).text
    assert full in chair_page
    assert f"/objections/{first_id}/answer" in chair_page
    assert "/answer" not in seen_by_neighbour  # only the chair answers
    # ending early: 409 with the message under 结束公示 (htmx, and the whole page without JS)
    token = boss.csrf(url)
    early = boss.post(f"{url}/end", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert early.status_code == 409
    assert re.search(r'-e-end" role="alert">公示期还没有结束<', early.text)
    early = boss.post(f"{url}/end", data={"csrf_token": token}, follow_redirects=False)
    assert early.status_code == 409
    assert re.search(r'-e-end" role="alert">公示期还没有结束<', early.text)
    # an empty answer: 422 next to the field
    answer_url = f"/halls/{p.world.hall.id}/objections/{first_id}/answer"
    bad = boss.post(
        answer_url, data={"csrf_token": token, "answer": ""}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422
    assert 'id="e-answer"' in bad.text
    answered = boss.post(
        answer_url,
        data={"csrf_token": token, "answer": "一层住户不分摊电梯费用"},
        headers={"HX-Request": "true"},
    )
    assert answered.status_code == 200
    assert "一层住户不分摊电梯费用" in answered.text
    assert "不采纳" in answered.text
    again = boss.post(
        answer_url, data={"csrf_token": token, "answer": "再答一次"}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 409
    assert "这条异议已经答复过了" in again.text
    # after the period, with one objection still unanswered: refused
    assert p.resolution.publicity_ends_at is not None
    after = p.resolution.publicity_ends_at + timedelta(minutes=1)
    with frozen(after):
        # a week later: everyone logs in again (a chair's session lasts hours, not days)
        late_boss, late_neighbour = login(make_client, p.chair), login(make_client, p.owners[1])
        waiting = late_boss.post(
            f"{url}/end",
            data={"csrf_token": late_boss.csrf(url)},
            headers={"HX-Request": "true"},
        )
        assert waiting.status_code == 409
        assert "还有未处理的异议" in waiting.text
        # nobody may object any more
        late = late_neighbour.post_form(
            f"{url.rsplit('/', 1)[0]}/objections",
            {"body": "再提一条"},
            token_from=url,
            follow_redirects=False,
        )
        # refused under 提交异议 with what was typed (409); the page itself offers no form
        assert late.status_code == 409
        assert re.search(r'-e-object" role="alert">公示期已结束，不能再提出异议<', late.text)
        assert "再提一条</textarea>" in late.text
        assert 'name="body"' not in late_neighbour.get(url).text
    answered = boss.post_form(
        f"/halls/{p.world.hall.id}/objections/{second_id}/answer",
        {"answer": "施工安排在9点至12点、14点至18点"},
        token_from=url,
        follow_redirects=False,
    )
    assert answered.status_code == 303
    with frozen(after):
        moved = late_boss.post_form(f"{url}/end", token_from=url, follow_redirects=False)
        assert moved.status_code == 303
        assert moved.headers["location"] == f"/halls/{p.world.hall.id}/issues/{p.issue.id}"
    assert stage_of(db, p.issue) == Stage.IMPLEMENTING
    # the 公示 stays readable afterwards, with its answers, and no forms
    done = neighbour.get(url)
    assert done.status_code == 200
    assert "公示期满，已转入办理" in done.text
    assert "施工安排在9点至12点" in done.text
    assert 'name="body"' not in done.text


def test_an_upheld_objection_sends_the_issue_back_to_deliberation(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    objector = login(make_client, p.owners[2])
    boss = login(make_client, p.chair)
    filed = objector.post_form(
        f"/halls/{p.world.hall.id}/issues/{p.issue.id}/objections",
        {"body": "表决时三层业主不在家，没有收到通知"},
        token_from=p.url,
        follow_redirects=False,
    )
    assert filed.status_code == 303
    with db.session(read_only=True) as s:
        (row,) = queries.list_objections(
            s, hall_id=p.world.hall.id or 0, resolution_id=p.resolution.id or 0
        )
    upheld = boss.post_form(
        f"/halls/{p.world.hall.id}/objections/{row.objection.id}/answer",
        {"answer": "情况属实，重新协商", "upheld": "on"},
        token_from=p.url,
        follow_redirects=True,
    )
    assert upheld.status_code == 200
    assert "采纳" in upheld.text
    assert "退回协商" in upheld.text  # the end button says where the issue goes
    with db.session(read_only=True) as s:
        stored = s.get(Objection, row.objection.id)
        assert stored is not None
        assert stored.upheld is True
    assert p.resolution.publicity_ends_at is not None
    with frozen(p.resolution.publicity_ends_at + timedelta(seconds=1)):
        boss = login(make_client, p.chair)
        token = boss.csrf(p.url)
        moved = boss.post(
            f"{p.url}/end", data={"csrf_token": token}, headers={"HX-Request": "true"}
        )
    assert moved.status_code == 200
    assert moved.headers["hx-redirect"] == f"/halls/{p.world.hall.id}/issues/{p.issue.id}"
    assert stage_of(db, p.issue) == Stage.DELIBERATING
    after = objector.get(p.url)
    assert "异议被采纳，已退回协商" in after.text


def test_the_printed_notice_has_the_fields_of_a_publicity_and_masks_the_phone(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    resident = login(make_client, p.owners[1])
    page = resident.get(f"{p.url}/print")
    assert page.status_code == 200
    text = page.text
    assert f"关于「{p.issue.title}」协商结果的公示" in text
    for part in (
        "一、议题由来",
        "二、表决情况",
        "三、表决结果",
        "四、决议事项",
        "五、实施安排",
        "六、公示期",
        "七、意见反馈",
    ):
        assert part in text
    result = queries.stored_result(p.ballot)
    assert result is not None
    for line in labels.check_lines(result):
        assert check_item(line) in text
    assert "应到" in text
    assert "实到" in text
    assert p.resolution.text in text
    assert p.resolution.publicity_starts_at is not None
    assert p.resolution.publicity_ends_at is not None
    start = cn_date(p.resolution.publicity_starts_at)
    end = cn_date(p.resolution.publicity_ends_at)
    assert re.fullmatch(r"\d{4}年\d{2}月\d{2}日", start)
    assert f"自 {start} 至 {end}" in text
    # contact: the chair's name; no phone, as nobody chose one to publish: not the chair's own
    # login number, nor a masked one that nobody could call (nor anyone else's)
    assert p.chair.phone
    assert f"联系人：{p.chair.name}（社区居委会）" in text
    assert mask_phone(p.chair.phone) not in text
    assert p.chair.phone not in text
    assert not PHONE_RE.findall(text)
    # the online link as text and as a QR code, the issuer, the date, the seal box, the hash
    assert f"http://testserver{p.url}" in text
    assert 'src="data:image/png;base64,' in text
    assert "社区居民委员会" in text or "居民委员会" in text
    assert issuer_of(p.world.hall) in text
    assert "盖章处" in text
    assert "表决账本哈希" in text
    assert p.resolution.head_hash
    assert p.resolution.head_hash in text
    # a sheet, not a site page: no chrome, nothing external, nothing inline the CSP forbids
    assert 'class="topbar"' not in text
    assert "<style" not in text
    assert " style=" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", text)
    assert not re.search(r"(src|href)=\"(https?:)?//", text)


def test_issuer_is_the_residents_committee_of_the_hall() -> None:
    from app.halls.models import Hall

    def hall(name: str) -> Hall:
        return Hall(name=name, street_id=1, invite_token="x", invite_expires_at=clock.now())

    assert issuer_of(hall("青年湖社区议事厅")) == "青年湖社区居民委员会"
    assert issuer_of(hall("民旺社区")) == "民旺社区居民委员会"
    assert issuer_of(hall("草厂四条")) == "草厂四条社区居民委员会"


def test_another_halls_members_get_404_on_every_publicity_route(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    with db.session() as s:
        objection = service.file_objection(
            session=s,
            access=f.member_access(db, p.world, p.owners[0]),
            actor=p.owners[0],
            issue_id=p.issue.id or 0,
            form=schemas.ObjectionForm(body="异议"),
        )
    other = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    other_chair = f.make_chair(db, other)
    stranger = f.make_member(db, other, household_index=0, chair=other_chair)[0]
    hall, issue = p.world.hall.id, p.issue.id
    for person in (stranger, other_chair):
        outsider = login(make_client, person)
        token = outsider.csrf("/")
        gets = [p.url, f"{p.url}/print"]
        posts = [
            (f"/halls/{hall}/issues/{issue}/objections", {"body": "我也有异议"}),
            (f"/halls/{hall}/objections/{objection.id}/answer", {"answer": "答复"}),
            (f"{p.url}/end", {}),
            # their own hall's id with this hall's objection and issue
            (f"/halls/{other.hall.id}/objections/{objection.id}/answer", {"answer": "答复"}),
            (f"/halls/{other.hall.id}/issues/{issue}/publicity/end", {}),
            (f"/halls/{other.hall.id}/issues/{issue}/objections", {"body": "异议"}),
        ]
        for url in [*gets, f"/halls/{other.hall.id}/issues/{issue}/publicity"]:
            assert outsider.get(url).status_code == 404, url
            assert outsider.get(url, headers={"HX-Request": "true"}).status_code == 404, url
        for url, data in posts:
            response = outsider.post(url, data={"csrf_token": token, **data})
            assert response.status_code == 404, url
    with db.session(read_only=True) as s:
        rows = queries.list_objections(
            s, hall_id=p.world.hall.id or 0, resolution_id=p.resolution.id or 0
        )
    assert [(r.objection.body, r.objection.answer) for r in rows] == [("异议", None)]
    assert stage_of(db, p.issue) == Stage.PUBLICIZING


def test_a_plain_resident_cannot_answer_or_end_and_an_issue_without_publicity_has_none(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    resident = login(make_client, p.owners[0])
    token = resident.csrf(p.url)
    assert resident.post(f"{p.url}/end", data={"csrf_token": token}).status_code == 404
    with db.session() as s:
        objection = service.file_objection(
            session=s,
            access=f.member_access(db, p.world, p.owners[1]),
            actor=p.owners[1],
            issue_id=p.issue.id or 0,
            form=schemas.ObjectionForm(body="异议"),
        )
    answer = resident.post(
        f"/halls/{p.world.hall.id}/objections/{objection.id}/answer",
        data={"csrf_token": token, "answer": "我来答"},
    )
    assert answer.status_code == 404
    deciding, _ = f.make_deciding_issue(db, p.world, p.chair)
    bare = f"/halls/{p.world.hall.id}/issues/{deciding.id}/publicity"
    assert resident.get(bare).status_code == 404
    assert resident.get(f"{bare}/print").status_code == 404


def test_a_second_ballot_cannot_decide_an_issue_already_in_publicity(db: Database) -> None:
    """A stray ballot closed during 公示 would have made its (failed) 决议 the issue's latest
    and taken the 公示 over: objections and the end of the 公示 would have used it."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    (voter,) = (
        f.make_member(db, world, household_index=0, relation=Relation.OWNER, chair=chair)[0],
    )
    issue, _ = f.make_deciding_issue(db, world, chair)
    access = f.chair_access(db, world, chair)
    ballots = []
    for _n in range(2):
        with db.session() as s:
            made = service.create_ballot(
                session=s,
                access=access,
                actor=chair,
                issue_id=issue.id or 0,
                form=schemas.BallotForm(title="表决", rule=RuleKind.RESIDENTS_MEETING),
            )
        with db.session() as s:
            ballots.append(
                service.open_ballot(session=s, access=access, actor=chair, ballot_id=made.id or 0)
            )
    with db.session() as s:
        service.cast_vote(
            session=s,
            access=f.member_access(db, world, voter),
            actor=voter,
            ballot_id=ballots[0].id or 0,
            form=schemas.VoteForm(option="yes", submission_id=str(uuid.uuid4())),
        )
    with db.session() as s:
        passed = service.close_ballot(
            session=s, access=access, actor=chair, ballot_id=ballots[0].id or 0
        )
    assert passed.passed
    with db.session() as s, pytest.raises(Conflict) as info:
        service.close_ballot(session=s, access=access, actor=chair, ballot_id=ballots[1].id or 0)
    assert info.value.code == "stage_action_not_allowed"
    with db.session() as s:
        objection = service.file_objection(
            session=s,
            access=f.member_access(db, world, voter),
            actor=voter,
            issue_id=issue.id or 0,
            form=schemas.ObjectionForm(body="异议"),
        )
    assert objection.resolution_id == passed.id


def test_the_issue_pages_decision_card(app: FastAPI, db: Database) -> None:
    del app  # the app knows the routes' names (links.url)
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    resident = f.make_member(db, world, household_index=0, chair=chair)[0]
    issue, _ = f.make_deciding_issue(db, world, chair)
    template = env.get_template("voting/_issue_decision.html")
    chair_access = f.chair_access(db, world, chair)
    resident_access = f.member_access(db, world, resident)

    def card(access: object, issue: Issue) -> str:
        with db.session(read_only=True) as s:
            context = decision_card.issue_decision_context(s, access, issue)  # type: ignore[arg-type]
        return template.render(hall=world.hall, issue=issue, **context)

    new = f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new"
    assert new in card(chair_access, issue)
    assert card(resident_access, issue).strip() == ""  # nothing to show a resident yet
    with db.session() as s:
        ballot = service.create_ballot(
            session=s,
            access=chair_access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.BallotForm(title="协商结果", rule=RuleKind.CONSENSUS),
        )
    assert new in card(chair_access, issue)  # a draft does not block another ballot
    assert f"/ballots/{ballot.id}" not in card(resident_access, issue)  # drafts: chair only
    with db.session() as s:
        service.record_consensus(
            session=s,
            access=chair_access,
            actor=chair,
            ballot_id=ballot.id or 0,
            form=schemas.ConsensusForm(passed=True, text="协商一致：采用方案1"),
        )
    with db.session(read_only=True) as s:
        now = s.get(Issue, issue.id)
        assert now is not None
    for access in (chair_access, resident_access):
        shown = card(access, now)
        assert "协商一致：采用方案1" in shown
        assert f"/halls/{world.hall.id}/issues/{issue.id}/publicity" in shown
        assert f"/ballots/{ballot.id}" in shown
        assert new not in shown
    # given only ballots, resolution and can_manage, the include works the flags out itself
    with db.session(read_only=True) as s:
        context = decision_card.issue_decision_context(s, resident_access, now)
    bare = template.render(
        hall=world.hall,
        issue=now,
        ballots=context["ballots"],
        resolution=context["resolution"],
        can_manage=False,
    )
    assert f"/halls/{world.hall.id}/issues/{issue.id}/publicity" in bare
