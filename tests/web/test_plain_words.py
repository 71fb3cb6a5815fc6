"""Speak plainly (#14): plain words first and the hashes one fold-out away, messages that fit
the reader's role, the audit trail in words, 表决中 only once a vote is open, the 方案 in the
default ballot title, the decision labelled as a decision, tally counts with a space, and the
voter's own receipt marked on the board (for them alone). On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable

from app.accounts.models import User
from app.db import Database
from app.halls.models import Relation
from app.issues.models import Issue
from app.voting import schemas, service
from app.voting.models import Ballot
from app.voting.rules import RuleKind
from tests import factories as f
from tests.conftest import Client
from tests.escalation_helpers import street_admin
from tests.web.test_voting_publicity import Publicised, publicise


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def main(page: str) -> str:
    return page.split("<main", 1)[-1].split("</main>", 1)[0]


def outside_details(page: str) -> str:
    """The page as a reader sees it before opening any fold-out."""
    return re.sub(r"<details\b.*?</details>", "", main(page), flags=re.S)


def details(page: str, cls: str) -> list[str]:
    return re.findall(rf'<details class="{cls}"[^>]*>.*?</details>', page, flags=re.S)


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment)))


def ballot_url(p: Publicised) -> str:
    return f"/halls/{p.world.hall.id}/ballots/{p.ballot.id}"


def named_ballot(db: Database) -> tuple[f.HallWorld, User, list[User], Issue, Ballot, list[str]]:
    """An open named (记名) owners' ballot over one building of three flats, everyone voted."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    owners = [
        f.make_member(db, world, household_index=i, relation=Relation.OWNER, chair=chair)[0]
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
            form=schemas.BallotForm(
                title="是否同意加装电梯", rule=RuleKind.OWNERS_ORDINARY, secret=False
            ),
        )
    with db.session() as s:
        ballot = service.open_ballot(
            session=s, access=access, actor=chair, ballot_id=ballot.id or 0
        )
    receipts = []
    for owner, option in zip(owners, ("yes", "yes", "no"), strict=True):
        with db.session() as s:
            receipts.append(
                service.cast_vote(
                    session=s,
                    access=f.member_access(db, world, owner),
                    actor=owner,
                    ballot_id=ballot.id or 0,
                    form=schemas.VoteForm(
                        option=option, submission_id=str(uuid.uuid4()), consent=True
                    ),
                ).receipt
            )
    return world, chair, owners, issue, ballot, receipts


# --- the ballot page: plain words first, 核验 on request -------------------------------------


def test_the_ballot_page_keeps_hashes_in_a_verify_fold_out_and_spaces_the_counts(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    page = login(make_client, p.owners[0]).get(ballot_url(p))
    assert page.status_code == 200
    seen = outside_details(page.text)
    # what a resident reads first: no hash, no ledger height, no “名单哈希”
    assert "名单哈希" not in seen
    assert "账本头哈希" not in seen
    assert not re.search(r"[0-9a-f]{12}", seen), re.findall(r"[0-9a-f]{12,}", seen)
    assert not re.search(r"#\d+ [0-9a-f]{8}", seen)
    # … and the verification is one fold-out away, whole
    verify = details(page.text, "verify")
    joined = "".join(verify)
    assert "<summary>核验</summary>" in joined
    assert p.ballot.roll_hash in joined
    assert p.ballot.head_hash in joined
    assert f"/ballots/{p.ballot.id}/board" in seen  # the receipt board stays in plain sight
    # tally counts: “同意 2”, not “同意2”
    tally = text_of(page.text.split('class="split"', 1)[1].split("</ul>", 1)[0])
    assert "同意 2" in tally
    assert "反对 1" in tally
    assert "同意2" not in tally


def test_the_live_tally_shows_no_ledger_codes(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world, _chair, owners, _, ballot, _ = named_ballot(db)
    live = login(make_client, owners[0]).get(f"/halls/{world.hall.id}/ballots/{ballot.id}")
    assert live.status_code == 200
    tally = live.text.split(f'id="ballot-{ballot.id}-tally"', 1)[1].split("</div>", 1)[0]
    assert not re.search(r"#\d+ [0-9a-f]{8}", tally)
    assert "已投票 3 / 3" in text_of(tally)


def test_the_publicity_page_and_the_minutes_keep_their_hashes_folded(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    page = login(make_client, p.owners[2]).get(p.url)
    assert page.status_code == 200
    assert p.resolution.head_hash not in outside_details(page.text)
    assert p.resolution.head_hash in "".join(details(page.text, "verify"))
    assert "核对您的投票" in outside_details(page.text)


# --- messages that fit the reader -------------------------------------------------------------


def test_not_on_the_roll_is_said_to_the_chair_and_the_street_as_themselves(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world, chair, _, _, ballot, _ = named_ballot(db)
    url = f"/halls/{world.hall.id}/ballots/{ballot.id}"
    outsider = f.make_member(db, world, household_index=0, relation=Relation.TENANT, chair=chair)[0]
    official = street_admin(db, world)
    resident = text_of(main(login(make_client, outsider).get(url).text))
    assert "您不在本次表决的投票人名单中" in resident
    assert "如有疑问请联系居委会" in resident
    boss = login(make_client, chair).get(url)
    assert boss.status_code == 200
    said = text_of(main(boss.text))
    assert "您不在本次表决的投票人名单中" in said
    assert "联系居委会" not in said  # she is the 居委会
    assert "“投票人名单”页核对名单" in said
    street = login(make_client, official).get(url)
    assert street.status_code == 200
    told = text_of(main(street.text))
    assert "您以街道工作人员的身份查看本次表决" in told
    assert "联系居委会" not in told


def test_login_and_error_words_also_address_staff(client: Client) -> None:
    page = client.get("/login")
    assert "居委会和街道的工作人员请联系系统管理员" in page.text


# --- the audit trail in words -------------------------------------------------------------------


def test_the_audit_trail_says_who_did_what_to_which_issue_with_the_raw_record_folded(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    page = login(make_client, p.chair).get(f"/halls/{p.world.hall.id}/audit")
    assert page.status_code == 200
    seen = outside_details(page.text)
    entries = re.findall(r'<li id="audit-\d+">.*?</li>', seen, flags=re.S)
    words = [text_of(e).strip() for e in entries]
    opened = next(w for w in words if "开始投票（冻结投票人名单）" in w)
    assert opened.startswith(p.chair.name)
    assert "表决：是否同意加装电梯" in opened
    assert f"议题：{p.issue.title}" in opened
    opened_html = next(e for e in entries if "开始投票（冻结投票人名单）" in e)
    assert f'href="/halls/{p.world.hall.id}/ballots/{p.ballot.id}"' in opened_html
    assert f'href="/halls/{p.world.hall.id}/issues/{p.issue.id}"' in opened_html
    closed = next(w for w in words if "截止投票并计票" in w)
    assert "结果：通过" in closed
    staged = [w for w in words if "议题进入下一阶段" in w]
    assert any("阶段：从“协商中”到“表决阶段”" in w for w in staged)
    assert any("阶段：从“表决阶段”到“公示中”" in w for w in staged)
    assert any("发表了意见" in w or "提出了方案" in w for w in words)
    # no raw code, no key=value, no None in what is read first…
    for raw in ("voting.open_ballot", "from=deliberating", "to=deciding", "cost_fen=", "None"):
        assert raw not in seen, raw
    # …but the raw record is one fold-out away
    folded = "".join(details(page.text, "audit-raw"))
    assert "voting.open_ballot" in folded
    assert "from=deliberating; to=deciding" in folded
    assert "<summary>原始记录</summary>" in folded


def test_every_audit_code_on_a_busy_page_has_words(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """Whatever the demo-like history writes, the chair reads words, never a bare code."""
    p = publicise(db)
    page = login(make_client, p.chair).get(f"/halls/{p.world.hall.id}/audit")
    for entry in re.findall(r'<p class="audit-what">(.*?)</p>', page.text, flags=re.S):
        assert not re.search(r"\b[a-z]+\.[a-z_]+\b", entry), entry


# --- 民决 on the issue page and the list ---------------------------------------------------


def test_after_closing_deliberation_the_issue_waits_for_a_ballot_then_shows_voting(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    owner = f.make_member(db, world, household_index=0, relation=Relation.OWNER, chair=chair)[0]
    issue, _ = f.make_deciding_issue(db, world, chair)
    issue_url = f"/halls/{world.hall.id}/issues/{issue.id}"
    list_url = f"/halls/{world.hall.id}/issues"
    resident, boss = login(make_client, owner), login(make_client, chair)

    def badge(page: str) -> str:
        m = re.search(r'<span class="badge stage-deciding">([^<]*)</span>', page)
        assert m, "no stage badge"
        return m.group(1)

    assert badge(resident.get(issue_url).text) == "等待居委会发起表决"
    assert badge(boss.get(issue_url).text) == "待您发起表决"
    row = resident.get(list_url).text.split(f'id="issue-{issue.id}-row"', 1)[1]
    assert badge(row) == "等待居委会发起表决"
    access = f.chair_access(db, world, chair)
    with db.session() as s:
        ballot = service.create_ballot(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.BallotForm(title="是否同意", rule=RuleKind.OWNERS_ORDINARY),
        )
    assert badge(resident.get(issue_url).text) == "等待居委会发起表决"  # a draft is not a vote
    with db.session() as s:
        service.open_ballot(session=s, access=access, actor=chair, ballot_id=ballot.id or 0)
    assert badge(resident.get(issue_url).text) == "表决中"
    assert badge(boss.get(issue_url).text) == "表决中"
    row = resident.get(list_url).text.split(f'id="issue-{issue.id}-row"', 1)[1]
    assert badge(row) == "表决中"


def test_the_default_ballot_title_names_the_chosen_solution(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    boss = login(make_client, chair)
    one, (only,) = f.make_deciding_issue(db, world, chair, solutions=1)
    page = boss.get(f"/halls/{world.hall.id}/issues/{one.id}/ballots/new")
    assert page.status_code == 200
    title = re.search(r'name="title" maxlength="80" value="([^"]*)"', page.text)
    assert title
    assert html.unescape(title.group(1)) == f"是否同意「{one.title}」采用方案「方案1」"
    assert f'<option value="{only}" selected>方案1</option>' in page.text
    two, _ = f.make_deciding_issue(db, world, chair, solutions=2)
    page = boss.get(f"/halls/{world.hall.id}/issues/{two.id}/ballots/new")
    title = re.search(r'name="title" maxlength="80" value="([^"]*)"', page.text)
    assert title
    assert html.unescape(title.group(1)) == f"「{two.title}」采用哪个方案"


def test_the_decision_in_the_issue_history_is_labelled_as_the_decision(
    db: Database, make_client: Callable[[], Client]
) -> None:
    p = publicise(db)
    page = login(make_client, p.owners[0]).get(f"/halls/{p.world.hall.id}/issues/{p.issue.id}")
    assert page.status_code == 200
    history = text_of(page.text.split("<h3>经过</h3>", 1)[1].split("</ol>", 1)[0])
    assert f"决议内容：{p.resolution.text}" in history
    assert "原因：" not in history


def test_a_rejection_in_the_history_keeps_its_reason(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    resident = f.make_member(db, world, household_index=0, relation=Relation.OWNER, chair=chair)[0]
    issue = f.make_issue(db, world, resident)
    boss = login(make_client, chair)
    issue_url = f"/halls/{world.hall.id}/issues/{issue.id}"
    # the proposer's issue goes to review at the threshold; the chair can also reject it there
    f.set_hall_rules(db, world, cosign_threshold=1)
    cosigner = f.make_member(db, world, household_index=1, relation=Relation.OWNER, chair=chair)[0]
    login(make_client, cosigner).post_form(f"{issue_url}/cosign", token_from=issue_url)
    rejected = boss.post_form(
        f"{issue_url}/reject", {"reason": "不属于社区事务"}, token_from=issue_url
    )
    assert rejected.status_code == 200, rejected.text[:300]
    history = text_of(boss.get(issue_url).text.split("<h3>经过</h3>", 1)[1])
    assert "不予受理的原因：不属于社区事务" in history


# --- the receipt board ---------------------------------------------------------------------


def test_the_named_board_marks_the_voters_own_receipt_for_them_alone(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world, _, owners, _, ballot, receipts = named_ballot(db)
    url = f"/halls/{world.hall.id}/ballots/{ballot.id}/board"
    mine = login(make_client, owners[0]).get(url)
    assert mine.status_code == 200
    marked = re.findall(r'<tr class="mine" aria-current="true">(.*?)</tr>', mine.text, flags=re.S)
    assert len(marked) == 1
    assert f'<td class="mono">{receipts[0]}</td>' in marked[0]
    assert "这是您的回执" in marked[0]
    # the choice is named as on the ballot, never by its code
    assert '<span class="nowrap">同意</span>' in marked[0]
    assert not re.search(r">(yes|no|abstain)<", mine.text)
    other = login(make_client, owners[1]).get(url)
    row = other.text.split(receipts[0], 1)[1].split("</tr>", 1)[0]
    assert "这是您的回执" not in row
    assert other.text.count("这是您的回执") == mine.text.count("这是您的回执")
    # the code stays whole (one text run) and the sheet keeps it from breaking at 390 px
    css = login(make_client, owners[0]).get("/static/css/app.css").text
    rule = re.search(r"\.board td\.mono[^{]*\{([^}]*)\}", css)
    assert rule
    assert "white-space: nowrap" in rule.group(1)


def test_the_secret_board_marks_the_voters_own_receipt_after_the_close(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """无记名: the server already knows each voter's receipt (their vote card shows it), so it
    marks the row in the voter's own page; nobody else's page changes."""
    p = publicise(db)
    assert p.ballot.secret
    url = f"{ballot_url(p)}/board"
    voter = login(make_client, p.owners[1])
    card = voter.get(ballot_url(p)).text
    receipt = re.search(r'class="mono receipt-code">([A-Z2-7]{12})<', card)
    assert receipt
    mine = voter.get(url).text
    marked = re.findall(r'<tr class="mine" aria-current="true">(.*?)</tr>', mine, flags=re.S)
    assert len(marked) == 1
    assert receipt.group(1) in marked[0]
    assert "这是您的回执" in marked[0]
    stranger = login(make_client, p.chair).get(url).text
    assert 'class="mine"' not in stranger
    assert receipt.group(1) in stranger
    assert "这是您的回执" not in stranger.split("<table", 1)[1]
