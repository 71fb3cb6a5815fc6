"""replies take no stance

Issue #14: a reply answers a comment and takes no stance of its own, so it is in no stance count
(it used to count as 中立). The counts are recounted from the visible top comments.

Revision ID: 8c2d3e4f5061
Revises: 7b1c2d3e4f50
Create Date: 2026-12-07 09:10:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '8c2d3e4f5061'
down_revision: Union[str, Sequence[str], None] = '7b1c2d3e4f50'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = {
    "support": "support_count",
    "oppose": "oppose_count",
    "suggest": "suggest_count",
    "neutral": "neutral_count",
}


def _recount(replies: bool) -> None:
    reply_clause = "" if replies else " AND comment.parent_id IS NULL"
    for stance, column in COLUMNS.items():
        op.execute(
            f"UPDATE issue SET {column} = (SELECT count(*) FROM comment"  # noqa: S608 - constants
            f" WHERE comment.issue_id = issue.id AND comment.hidden_at IS NULL"
            f" AND comment.stance = '{stance}'{reply_clause})"
        )


def upgrade() -> None:
    """Upgrade schema."""
    _recount(replies=False)


def downgrade() -> None:
    """Downgrade schema."""
    _recount(replies=True)
