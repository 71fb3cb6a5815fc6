"""issues: stance counts on the issue row; the comment thread index led by hall_id

Revision ID: f322da21ef06
Revises: 0cf070c08e3e
Create Date: 2026-11-25 06:40:00.000000

The issue page showed the stance counts by counting the issue's visible comments on every
request. The comment service now keeps them on the issue (like comment_count); this adds the
columns and fills them from the comments that exist.

Every comment query filters on hall_id too, and without statistics SQLite preferred the
single-column hall_id index (reading every comment of the hall) to ix_comment_issue_thread.
The thread index now leads with hall_id.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.AutoString


# revision identifiers, used by Alembic.
revision: str = 'f322da21ef06'
down_revision: Union[str, Sequence[str], None] = '0cf070c08e3e'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Stance value -> column (app.issues.models.STANCE_COUNT_COLUMN, frozen here).
COLUMNS = {
    'support': 'support_count',
    'oppose': 'oppose_count',
    'suggest': 'suggest_count',
    'neutral': 'neutral_count',
}


def upgrade() -> None:
    """Upgrade schema."""
    # Plain ALTER TABLE ... ADD COLUMN on both backends: a batch "move and copy" of the issue
    # table on SQLite would drop the full-text triggers that live on it.
    for column in COLUMNS.values():
        op.add_column('issue', sa.Column(column, sa.Integer(), server_default='0', nullable=False))
    # Backfill: visible (not hidden) comments, replies included, as the page counted them.
    for stance, column in COLUMNS.items():
        op.execute(
            f"UPDATE issue SET {column} = (SELECT count(*) FROM comment "
            f"WHERE comment.issue_id = issue.id AND comment.stance = '{stance}' "
            "AND comment.hidden_at IS NULL)"
        )
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_issue_thread')
        batch_op.create_index('ix_comment_issue_thread', ['hall_id', 'issue_id', 'parent_id', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_issue_thread')
        batch_op.create_index('ix_comment_issue_thread', ['issue_id', 'parent_id', 'id'], unique=False)
    # SQLite ≥ 3.35 drops a column in place (no table rebuild, the triggers stay).
    for column in reversed(COLUMNS.values()):
        op.drop_column('issue', column)
