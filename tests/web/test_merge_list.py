"""The chair's 合并 list in a hall of many issues (issue #14): at most MERGE_CHOICES rows, those
whose titles are closest to the issue's first and then the newest, only issues that can take a
merge (lifecycle.MERGE_TARGETS), each with its number, title and stage; a search by number or
words (a GET, without JavaScript) finds any other; the page costs the same queries for few and
many issues; and merging through the list works. Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from app.accounts.models import User
from app.db import Database
from app.issues import schemas as issue_schemas
from app.issues import search
from app.issues import service as issue_service
from app.issues.lifecycle import MERGE_TARGETS, Stage
from app.issues.models import Category, Issue
from app.issues.queries import MERGE_CHOICES
from tests import factories as f
from tests.conftest import Client
from tests.web.test_issue_pages import Counter, _queries

STAGES = list(Stage)


def login(make_client: Callable[[], Client], user: User, *, lang: str = "zh") -> Client:
    c = make_client()
    if lang == "en":
        c.cookies.set("lang", "en")
    c.login(user.phone or "", f.PASSWORD)
    return c


def rows(page: str) -> list[tuple[int, str, str]]:
    """The merge list's rows: (the id sent, the row's number and title, its stage)."""
    found = re.findall(
        r'<label class="merge-row" data-merge-row><input type="radio" name="target_id" '
        r'value="(\d+)"> <span class="merge-text"><span class="merge-title">([^<]*)</span> '
        r'<span class="badge stage-\w+">([^<]*)</span></span></label>',
        page,
    )
    return [(int(i), html.unescape(t), html.unescape(s)) for i, t, s in found]


def bulk(
    db: Database,
    world: f.HallWorld,
    proposer: User,
    titles: list[tuple[str, Stage]],
    *,
    description: str = "批量",
) -> None:
    """Issues written straight into the table (with their search terms), in this order."""
    with db.session() as session:
        for title, stage in titles:
            session.add(
                Issue(
                    hall_id=world.hall.id or 0,
                    title=title,
                    description=description,
                    category=Category.OTHER,
                    proposer_id=proposer.id or 0,
                    stage=stage,
                    search_text=search.index_text(title, description),
                )
            )
            session.flush()
        session.commit()


class Hall:
    """A hall with an issue waiting for review (3号楼路灯不亮), two older issues whose titles
    are like it (one closer than the other), one like it that has ended, then `n` issues in
    every stage in turn."""

    def __init__(self, db: Database, n: int) -> None:
        self.db = db
        self.world = f.make_hall(db)
        self.chair = f.make_chair(db, self.world)
        self.resident, _ = f.make_member(db, self.world, chair=self.chair)
        bulk(
            db,
            self.world,
            self.resident,
            [
                ("3号楼路灯不亮了", Stage.DELIBERATING),  # shares 5 terms with the title
                ("楼道路灯坏了", Stage.COLLECTING),  # shares 路灯 only
                ("3号楼路灯不亮吗", Stage.REJECTED),  # close, but ended
            ],
        )
        bulk(db, self.world, self.resident, [(f"批量议题{i}", STAGES[i % 12]) for i in range(n)])
        with db.session() as s:
            self.issue = issue_service.enter_issue_on_behalf(
                session=s,
                access=f.chair_access(db, self.world, self.chair),
                actor=self.chair,
                form=issue_schemas.OnBehalfIssueForm(
                    title="3号楼路灯不亮", description="三单元门口。", category=Category.SAFETY
                ),
            )
        self.path = f"/halls/{self.world.hall.id}/issues/{self.issue.id}"
        with db.session(read_only=True) as s:
            self.all = list(s.exec(Issue.__table__.select()).all())  # type: ignore[attr-defined]

    def targets(self) -> list[int]:
        """Every issue the rule allows, newest first."""
        return sorted(
            (
                r.id
                for r in self.all
                if r.hall_id == self.world.hall.id
                and r.id != self.issue.id
                and Stage(r.stage) in MERGE_TARGETS
            ),
            reverse=True,
        )

    def title_of(self, issue_id: int) -> str:
        return str(next(r.title for r in self.all if r.id == issue_id))

    def id_of(self, title: str) -> int:
        return next(r.id for r in self.all if r.title == title and r.hall_id == self.world.hall.id)


def test_the_list_offers_the_closest_titles_first_then_the_newest_and_only_targets(
    db: Database, make_client: Callable[[], Client]
) -> None:
    h = Hall(db, 120)
    boss = login(make_client, h.chair)
    page = boss.get(h.path)
    assert page.status_code == 200
    offered = rows(page.text)
    ids = [i for i, _, _ in offered]
    closest, like = h.id_of("3号楼路灯不亮了"), h.id_of("楼道路灯坏了")
    newest = [i for i in h.targets() if i not in (closest, like)]
    assert ids == [closest, like, *newest[: MERGE_CHOICES - 2]]
    assert len(ids) == MERGE_CHOICES < len(h.targets())
    assert set(ids) <= set(h.targets())
    assert h.id_of("3号楼路灯不亮吗") not in ids  # ended: never offered
    assert h.issue.id not in ids
    # each row: its number and title, its stage as the chair reads it
    assert offered[0][1:] == (f"#{closest} 3号楼路灯不亮了", "协商中")
    stages = {title.split(" ", 1)[1]: stage for _, title, stage in offered}
    deciding = [t for t, s in stages.items() if s == "待您发起表决"]
    assert deciding, stages  # 表决中 only once a ballot is open
    assert "表决中" not in stages.values()
    assert "已撤回" not in stages.values()
    assert "不予受理" not in stages.values()
    # the rows are the form's only choices: no <select> of every issue
    assert "<select" not in page.text.split('class="merge"', 1)[1].split("</form>\n    </div>")[0]
    assert "标题相近的排在前面" in page.text
    # a resident sees no merge list
    assert "data-merge" not in login(make_client, h.resident).get(h.path).text


def _review(db: Database, h: f.HallWorld, chair: User, title: str) -> Issue:
    with db.session() as s:
        return issue_service.enter_issue_on_behalf(
            session=s,
            access=f.chair_access(db, h, chair),
            actor=chair,
            form=issue_schemas.OnBehalfIssueForm(
                title=title, description="三单元。", category=Category.SAFETY
            ),
        )


def test_the_closest_title_is_offered_first_in_a_busy_hall(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """Titles are compared with titles: a near twin comes first even behind 120 newer issues
    whose descriptions (not titles) speak of the same lift, and however long the title is."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair)
    bulk(db, world, resident, [("3号楼电梯经常停运", Stage.DELIBERATING)])
    bulk(db, world, resident, [("物业公司更换", Stage.COLLECTING)])  # shares 物业 only
    bulk(
        db,
        world,
        resident,
        [(f"批量议题{i}", Stage.COLLECTING) for i in range(120)],
        description="电梯经常停运，3号楼电梯也是",
    )
    issue = _review(db, world, chair, "3号楼电梯经常停运，请物业尽快安排维修")
    path = f"/halls/{world.hall.id}/issues/{issue.id}"
    boss = login(make_client, chair)
    offered = [t for _, t, _ in rows(boss.get(path).text)]
    assert len(offered) == MERGE_CHOICES
    assert offered[0].endswith(" 3号楼电梯经常停运"), offered
    assert offered[1].endswith(" 物业公司更换"), offered  # one shared word: next
    assert offered[2].endswith(" 批量议题119"), offered  # then the newest
    # a long title: the twin shares only terms that sort after its first twelve
    tail = _review(db, world, chair, "业主反映小区里面好几处路灯晚上不亮，东门外面尤其黑暗")
    bulk(db, world, resident, [("路灯晚上黑暗", Stage.DELIBERATING)])
    bulk(db, world, resident, [(f"其他议题{i}", Stage.COLLECTING) for i in range(20)])
    path = f"/halls/{world.hall.id}/issues/{tail.id}"
    offered = [t for _, t, _ in rows(boss.get(path).text)]
    assert offered[0].endswith(" 路灯晚上黑暗"), offered


def test_a_search_finds_any_target_by_number_or_words_and_nothing_else(
    db: Database, make_client: Callable[[], Client]
) -> None:
    h = Hall(db, 120)
    boss = login(make_client, h.chair)
    targets = set(h.targets())

    def found(q: str) -> list[int]:
        return [i for i, _, _ in rows(boss.get(h.path, params={"merge_q": q}).text)]

    bulk_targets = [i for i in h.targets() if h.title_of(i).startswith("批量议题")]
    assert found("批量议题") == bulk_targets[:MERGE_CHOICES]  # all its words, newest first
    seven = [i for i in bulk_targets if h.title_of(i) == "批量议题7"]
    assert seven
    assert found("批量议题 7") == seven  # "7" is a word of its own: not 70, 71 …
    oldest = min(i for i in targets if i != h.id_of("3号楼路灯不亮了"))
    for q in (str(oldest), f"#{oldest}", f"＃{oldest}"):
        page = boss.get(h.path, params={"merge_q": q}).text
        assert [i for i, _, _ in rows(page)] == [oldest], q
        assert f'value="{html.escape(q)}"' in page  # the search keeps what was typed
    ended = h.id_of("3号楼路灯不亮吗")
    for q in (str(ended), str(h.issue.id), "没有这样的议题"):
        page = boss.get(h.path, params={"merge_q": q}).text
        assert rows(page) == [], q
        none = re.search(r'<p class="hint" data-merge-none( hidden)?>', page)
        assert none, q
        assert none.group(1) is None, q  # "没有找到" shown
    assert boss.get(h.path, params={"merge_q": "x" * 61}).status_code == 422
    english = login(make_client, h.chair, lang="en").get(h.path).text
    assert "Duplicate? Merge into:" in english
    assert 'placeholder="Number or title"' in english


def test_the_page_costs_the_same_queries_for_few_and_many_issues(
    db: Database, make_client: Callable[[], Client]
) -> None:
    counts = []
    for n in (10, 300):
        h = Hall(db, n)
        boss = login(make_client, h.chair)
        assert len(rows(boss.get(h.path).text)) == min(MERGE_CHOICES, len(h.targets()))
        counts.append(
            (_queries(boss, db, h.path), _queries(boss, db, f"{h.path}?merge_q=批量议题1"))
        )
    assert counts[0] == counts[1], counts
    assert max(counts[1]) <= 40, counts


def test_merging_through_the_list_works_with_and_without_htmx(
    db: Database, make_client: Callable[[], Client]
) -> None:
    h = Hall(db, 30)
    boss = login(make_client, h.chair)
    offered = [i for i, _, _ in rows(boss.get(h.path).text)]
    refused = boss.post_form(f"{h.path}/merge", {}, token_from=h.path)  # none chosen
    assert refused.status_code == 422
    assert 'id="e-target_id"' in refused.text
    assert rows(refused.text)  # the list is offered again next to the message
    done = boss.post_form(
        f"{h.path}/merge", {"target_id": str(offered[0])}, token_from=h.path, follow_redirects=False
    )
    assert done.status_code == 303
    with db.session(read_only=True) as s:
        after = s.get(Issue, h.issue.id)
        assert after is not None
        assert (after.stage, after.merged_into_id) == (Stage.MERGED, offered[0])
    assert "data-merge" not in boss.get(h.path).text  # merged: nothing left to merge

    other = Hall(db, 30)
    boss = login(make_client, other.chair)
    second = [i for i, _, _ in rows(boss.get(other.path).text)][1]
    swapped = boss.post_form(
        f"{other.path}/merge",
        {"target_id": str(second)},
        token_from=other.path,
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200
    assert "已合并到：" in swapped.text
    with db.session(read_only=True) as s:
        after = s.get(Issue, other.issue.id)
        assert after is not None
        assert (after.stage, after.merged_into_id) == (Stage.MERGED, second)


def test_a_merge_search_is_read_fresh_and_never_kept(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """The chair's searches are too many distinct texts to keep: each is read and rendered for
    them alone (as the issue list's own search), so they neither fill the stage panel's memo
    (which starts again when full, for every hall) nor answer from it; the plain page's panel
    is still kept."""
    h = Hall(db, 30)
    boss = login(make_client, h.chair)
    assert boss.get(h.path).status_code == 200  # the plain page: its panel kept
    panels = db.memos["fragment:issues/_stage_panel.html"]
    kept = len(panels._entries)
    assert kept >= 1

    def cost(q: str) -> tuple[int, list[int]]:
        with Counter(db) as counter:
            page = boss.get(h.path, params={"merge_q": q})
        assert page.status_code == 200
        return counter.count, [i for i, _, _ in rows(page.text)]

    first = cost("批量议题1")
    again = cost("批量议题1")
    assert again == first  # not answered from a memo: the same queries, the same rows
    assert first[1]
    for i in range(20):
        cost(f"批量议题{i}")
    assert len(panels._entries) == kept
    with Counter(db) as counter:
        assert boss.get(h.path).status_code == 200
    assert counter.count < first[0]  # the plain page's panel still kept: fewer queries
