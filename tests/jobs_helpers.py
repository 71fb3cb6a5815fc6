"""Issues in 公示 for the periodic job's tests (a 协商一致 decision: no votes to cast)."""

from __future__ import annotations

from typing import Any

from app.accounts.models import User
from app.db import Database
from app.issues.models import Issue
from app.voting import schemas, service
from app.voting.models import Objection, Resolution
from app.voting.rules import RuleKind
from tests import factories as f


def publicizing_issue(
    db: Database, world: f.HallWorld, chair: User, **form: Any
) -> tuple[Issue, Resolution]:
    """An issue whose 协商一致 passed: it is 公示中 until the resolution's publicity_ends_at.
    `form` overrides the issue's fields (its title, say)."""
    issue, _ = f.make_deciding_issue(db, world, chair, **form)
    access = f.chair_access(db, world, chair)
    with db.session() as s:
        ballot = service.create_ballot(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.BallotForm(title="是否同意加装电梯", rule=RuleKind.CONSENSUS),
        )
    with db.session() as s:
        resolution = service.record_consensus(
            session=s,
            access=access,
            actor=chair,
            ballot_id=ballot.id or 0,
            form=schemas.ConsensusForm(passed=True, text="协商一致：采用方案1"),
        )
    assert resolution.publicity_ends_at is not None
    return issue, resolution


def object_to(
    db: Database,
    world: f.HallWorld,
    objector: User,
    issue: Issue,
    *,
    answer_by: User | None = None,
    upheld: bool = False,
) -> Objection:
    """`objector` files an 异议; with `answer_by`, that chair answers it (upheld or not)."""
    with db.session() as s:
        objection = service.file_objection(
            session=s,
            access=f.member_access(db, world, objector),
            actor=objector,
            issue_id=issue.id or 0,
            form=schemas.ObjectionForm(body="分摊方案对一层不公平"),
        )
    if answer_by is not None:
        with db.session() as s:
            objection = service.answer_objection(
                session=s,
                access=f.chair_access(db, world, answer_by),
                actor=answer_by,
                objection_id=objection.id or 0,
                form=schemas.AnswerForm(answer="已研究", upheld=upheld),
            )
    return objection
