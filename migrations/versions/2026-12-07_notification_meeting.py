"""notification meeting

Issue #14: a meeting's notice (会议通知, 议程, 改期, 取消) links to that meeting's page, so the
notice names its meeting. Nullable: other notices have none, and those written before this
revision keep linking to the hall's meeting list. The key is composite (meeting, hall), as
the meeting's other rows, so a notice never points at another hall's meeting.

Revision ID: 9d3e4f506172
Revises: 8c2d3e4f5061
Create Date: 2026-12-07 11:45:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# Ids are 64-bit (revision 5d1e0b7a9c23); SQLite keeps INTEGER PRIMARY KEY (its rowid).
Int64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


# revision identifiers, used by Alembic.
revision: str = '9d3e4f506172'
down_revision: Union[str, Sequence[str], None] = '8c2d3e4f5061'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_id', Int64, nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_foreign_key('fk_notification_meeting', 'meeting', ['meeting_id', 'hall_id'], ['id', 'hall_id'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notification_meeting', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notification_meeting_id'))
        batch_op.drop_column('meeting_id')
