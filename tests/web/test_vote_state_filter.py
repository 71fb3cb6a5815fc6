"""The issue list filtered by how far an issue's vote is (issue #14): each count on the hall
page links to its own list (?stage=deciding&vote=waiting / open / closed), the page and the
API's `vote` filter list exactly those issues, say in words which are shown, ignore (page) or
refuse (API, 422) a value they do not know, and the filtered list costs the same statements for
few and many issues. Issues set up through the services; on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from app.db import Database
from app.issues.lifecycle import Stage
from app.issues.models import Category, Issue
from app.voting import service
from tests import factories as f
from tests.conftest import Client
from tests.web.test_issue_pages import _queries
from tests.web.test_vote_state_labels import (
    CLOSED,
    COLLECTING,
    OPEN,
    WAITING,
    Hall,
    draft,
    login,
    open_,
    tiles,
)


class Votes(Hall):
    """Hall's two issues waiting (one with a draft ballot) and one collecting, plus one whose
    ballot is open and one whose ballot is closed (still 表决中, awaiting the chair)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.open, _ = f.make_deciding_issue(db, self.world, self.chair, title="停车位表决")
        open_(db, self.world, self.chair, draft(db, self.world, self.chair, self.open))
        self.closed, _ = f.make_deciding_issue(db, self.world, self.chair, title="绿化表决")
        ballot = draft(db, self.world, self.chair, self.closed)
        open_(db, self.world, self.chair, ballot)
        with db.session() as s:
            service.close_ballot(
                session=s,
                access=f.chair_access(db, self.world, self.chair),
                actor=self.chair,
                ballot_id=ballot.id or 0,
            )
        self.list_url = f"/halls/{self.world.hall.id}/issues"
        self.api_url = f"/api/v1/halls/{self.world.hall.id}/issues"

    def ids(self, *issues: Issue) -> set[int]:
        return {i.id or 0 for i in issues}


def listed(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'id="issue-(\d+)-row"', page)}


def shown(page: str) -> str | None:
    """The words saying which of 表决中 the list shows, if any."""
    m = re.search(r'<p class="shown-filter">([^<]*)<a href="([^"]*)"', page)
    return html.unescape(m.group(1)).strip() if m else None


def test_each_count_links_to_a_list_of_exactly_its_issues(
    db: Database, make_client: Callable[[], Client]
) -> None:
    h = Votes(db)
    resident, boss = login(make_client, h.owner), login(make_client, h.chair)
    counts = tiles(resident.get(h.url).text)
    assert counts == [
        (COLLECTING, "征集中", "1"),
        (WAITING, "待发起表决", "2"),
        (OPEN, "表决中", "1"),
        (CLOSED, "表决已截止", "1"),
    ]
    assert [q for q, _, _ in tiles(boss.get(h.url).text)] == [COLLECTING, WAITING, OPEN, CLOSED]
    expected = {
        WAITING: h.ids(h.plain, h.drafted),
        OPEN: h.ids(h.open),
        CLOSED: h.ids(h.closed),
    }
    for query, _words, n in counts:
        page = resident.get(f"{h.list_url}?{query}")
        assert page.status_code == 200
        if query in expected:
            assert listed(page.text) == expected[query], query
        assert len(listed(page.text)) == int(n)
    assert listed(resident.get(f"{h.list_url}?stage=deciding").text) == h.ids(
        h.plain, h.drafted, h.open, h.closed
    )
    # The vote alone implies 表决中.
    assert listed(resident.get(f"{h.list_url}?vote=open").text) == h.ids(h.open)


def test_the_list_says_which_votes_it_shows_in_both_languages(
    db: Database, make_client: Callable[[], Client]
) -> None:
    h = Votes(db)
    resident = login(make_client, h.owner)
    resident_en = login(make_client, h.owner, lang="en")
    words = {
        WAITING: ("只显示：待发起表决", "Showing only: Awaiting vote"),
        OPEN: ("只显示：表决中", "Showing only: Voting"),
        CLOSED: ("只显示：表决已截止", "Showing only: Voting closed"),
    }
    for query, (zh, en) in words.items():
        page = resident.get(f"{h.list_url}?{query}").text
        assert shown(page) == zh
        assert shown(resident_en.get(f"{h.list_url}?{query}").text) == en
        vote = query.rsplit("=", 1)[1]
        assert f'<option value="{vote}" selected>' in page  # the filter form says it too
        # Its way back: the same list without the vote.
        back = html.unescape(re.findall(r'<p class="shown-filter">[^<]*<a href="([^"]*)"', page)[0])
        kept = parse_qs(urlsplit(back).query)
        assert kept["stage"] == ["deciding"]
        assert "vote" not in kept
        assert listed(resident.get(back).text) == h.ids(h.plain, h.drafted, h.open, h.closed)
    assert shown(resident.get(f"{h.list_url}?stage=deciding").text) is None
    # htmx asks for the results alone: they say it as well.
    partial = resident.get(f"{h.list_url}?{OPEN}", headers={"HX-Request": "true"}).text
    assert shown(partial) == "只显示：表决中"
    assert listed(partial) == h.ids(h.open)


def test_a_vote_the_page_does_not_know_is_ignored_like_a_bad_stage(
    db: Database, make_client: Callable[[], Client]
) -> None:
    h = Votes(db)
    resident = login(make_client, h.owner)
    every_deciding = h.ids(h.plain, h.drafted, h.open, h.closed)
    for vote in ("bogus", "OPEN", "", "deciding"):
        page = resident.get(f"{h.list_url}?stage=deciding&vote={vote}")
        assert page.status_code == 200
        assert listed(page.text) == every_deciding
        assert shown(page.text) is None
    # Beside another stage the vote means nothing: that stage's list, as asked.
    collecting = resident.get(f"{h.list_url}?stage=collecting&vote=open")
    assert len(listed(collecting.text)) == 1
    assert listed(collecting.text).isdisjoint(every_deciding)
    assert shown(collecting.text) is None


def test_the_api_filters_by_vote_and_refuses_a_value_it_does_not_know(
    db: Database, make_client: Callable[[], Client]
) -> None:
    h = Votes(db)
    resident = login(make_client, h.owner)

    def api(**params: str) -> dict[int, str | None]:
        response = resident.get(h.api_url, params=params)
        assert response.status_code == 200, response.text
        return {i["id"]: i["vote"] for i in response.json()["issues"]}

    assert api(vote="waiting") == dict.fromkeys(h.ids(h.plain, h.drafted), "waiting")
    assert api(vote="open") == {h.open.id: "open"}
    assert api(vote="closed") == {h.closed.id: "closed"}
    assert api(stage="deciding", vote="open") == {h.open.id: "open"}
    assert api(stage="collecting", vote="open") == {}
    assert len(api()) == 5
    for bad in ("bogus", "OPEN", ""):
        response = resident.get(h.api_url, params={"vote": bad})
        assert response.status_code == 422, bad
        assert "vote" in response.text
    openapi = resident.get("/openapi.json").json()
    params = openapi["paths"]["/api/v1/halls/{hall_id}/issues"]["get"]["parameters"]
    vote = next(p for p in params if p["name"] == "vote")
    assert "waiting" in str(vote["schema"]) or "VoteState" in str(vote["schema"])


def _bulk(db: Database, h: Votes, n: int) -> None:
    """`n` issues put straight into 表决中 (no ballot: waiting)."""
    with db.session() as session:
        session.add_all(
            Issue(
                hall_id=h.world.hall.id or 0,
                title=f"批量议题{i}",
                description="批量",
                category=Category.OTHER,
                proposer_id=h.owner.id or 0,
                stage=Stage.DECIDING,
            )
            for i in range(n)
        )
        session.commit()


def test_the_filtered_list_costs_the_same_statements_for_few_and_many_issues(
    db: Database, make_client: Callable[[], Client]
) -> None:
    counts = []
    for n in (3, 60):
        h = Votes(db)
        _bulk(db, h, n)
        resident = login(make_client, h.owner)
        assert len(listed(resident.get(f"{h.list_url}?{WAITING}").text)) == min(n + 2, 30)
        counts.append(
            tuple(_queries(resident, db, f"{h.list_url}?{q}") for q in (WAITING, OPEN, CLOSED))
        )
    assert counts[0] == counts[1], counts
