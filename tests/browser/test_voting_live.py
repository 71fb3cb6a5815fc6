"""The live tally (server-sent events via the htmx sse extension), in a real browser on both
backends: a vote cast anywhere shows on an open ballot page within one second."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from app.halls.models import Relation
from app.voting import schemas, service
from app.voting.models import VoterUnit
from app.voting.rules import RuleKind
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import log_in, make_community
from tests.factories import chair_access, make_deciding_issue, make_member

pytestmark = pytest.mark.browser


def test_the_tally_follows_each_vote_within_a_second(
    live_server: LiveServer, phone: Callable[..., Phone]
) -> None:
    live = live_server
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    issue, _ = make_deciding_issue(db, world, chair)
    voters = [
        make_member(db, world, household_index=i, relation=Relation.OWNER, chair=chair)[0]
        for i in range(3)
    ]
    access = chair_access(db, world, chair)
    with db.session() as s:
        ballot = service.create_ballot(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.BallotForm(
                title="现场表决：桶站挪位",
                rule=RuleKind.RESIDENTS_MEETING,
                voter_unit=VoterUnit.HOUSEHOLD,
                live_results=True,
                secret=False,  # a 无记名 ballot shows no split before the close
            ),
        )
    with db.session() as s:
        service.open_ballot(session=s, access=access, actor=chair, ballot_id=ballot.id or 0)
    screen = phone()
    page = screen.page
    log_in(page, live, chair)
    page.goto(live(f"/halls/{world.hall.id}/ballots/{ballot.id}"))
    tally = page.locator(f"#ballot-{ballot.id}-tally .turnout")
    expect(tally).to_contain_text(f"已投票 0 / {len(world.households)}")
    lags = []
    for n, voter in enumerate(voters, start=1):
        voter_access = chair_access(db, world, voter)
        with db.session() as s:
            service.cast_vote(
                session=s,
                access=voter_access,
                actor=voter,
                ballot_id=ballot.id or 0,
                form=schemas.VoteForm(option="yes", submission_id=str(uuid.uuid4()), consent=True),
            )
        cast_at = time.monotonic()
        expect(tally).to_contain_text(f"已投票 {n} / ", timeout=1000)
        lags.append(time.monotonic() - cast_at)
    assert max(lags) < 1.0, lags
    expect(page.locator(f"#ballot-{ballot.id}-tally .split")).to_contain_text("同意")
    screen.watch.assert_clean()
