"""meetings: meetings, agenda items, invitees and attendance

Revision ID: 7c3a9e5d1f42
Revises: 5b1e0c7d9a21
Create Date: 2026-12-06 21:46:16.225898

协商会议 (issue #12, first slice): a meeting of a kind (议事会, 居民会议, 居民代表会议, 恳谈会,
听证会) with its notice, agenda items (an issue or a free title), invitees (members by role, or
guests by name, organisation and kind) and one attendance (签到): a member signs in once
(unique per meeting and membership), a proxy holder holds one proxy.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.AutoString

# Ids are 64-bit (revision 5d1e0b7a9c23); SQLite keeps INTEGER PRIMARY KEY (its rowid).
Int64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


# revision identifiers, used by Alembic.
revision: str = '7c3a9e5d1f42'
down_revision: Union[str, Sequence[str], None] = '5b1e0c7d9a21'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('meeting',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('kind', sa.Enum('council', 'residents', 'representatives', 'forum', 'hearing', name='meetingkind', native_enum=False, length=24), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('chair_id', Int64, nullable=False),
    sa.Column('recorder_id', Int64, nullable=True),
    sa.Column('status', sa.Enum('scheduled', 'cancelled', 'held', name='meetingstatus', native_enum=False, length=24), nullable=False),
    sa.Column('notice_sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('short_notice_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('signin_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('quorum_num', sa.Integer(), nullable=False),
    sa.Column('quorum_den', sa.Integer(), nullable=False),
    sa.Column('created_by_id', Int64, nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name='ends_after_start'),
    sa.ForeignKeyConstraint(['chair_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['recorder_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id', 'hall_id'),
    sa.UniqueConstraint('signin_token')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_hall_id'), ['hall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_status'), ['status'], unique=False)

    op.create_table('meeting_item',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('meeting_id', Int64, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('issue_id', Int64, nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.CheckConstraint("issue_id IS NOT NULL OR title <> ''", name='issue_or_title'),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['issue_id', 'hall_id'], ['issue.id', 'issue.hall_id'], ),
    sa.ForeignKeyConstraint(['meeting_id', 'hall_id'], ['meeting.id', 'meeting.hall_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'position')
    )
    with op.batch_alter_table('meeting_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_item_hall_id'), ['hall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_item_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_item_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_attendance',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('meeting_id', Int64, nullable=False),
    sa.Column('membership_id', Int64, nullable=True),
    sa.Column('proxy_membership_id', Int64, nullable=True),
    sa.Column('guest_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('guest_org', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('guest_kind', sa.Enum('property', 'owners_committee', 'unit', 'department', 'deputy', name='guestkind', native_enum=False, length=24), nullable=True),
    sa.Column('how', sa.Enum('self_qr', 'by_chair', name='signinhow', native_enum=False, length=24), nullable=False),
    sa.Column('signed_in_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_id', Int64, nullable=False),
    sa.CheckConstraint('(membership_id IS NOT NULL) <> (guest_kind IS NOT NULL)', name='member_or_guest'),
    sa.CheckConstraint('proxy_membership_id IS NULL OR proxy_membership_id <> membership_id', name='proxy_is_someone_else'),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['meeting_id', 'hall_id'], ['meeting.id', 'meeting.hall_id'], ),
    sa.ForeignKeyConstraint(['membership_id', 'hall_id'], ['membership.id', 'membership.hall_id'], ),
    sa.ForeignKeyConstraint(['proxy_membership_id', 'hall_id'], ['membership.id', 'membership.hall_id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'membership_id'),
    sa.UniqueConstraint('meeting_id', 'proxy_membership_id')
    )
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_attendance_hall_id'), ['hall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_attendance_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_attendance_membership_id'), ['membership_id'], unique=False)

    op.create_table('meeting_invitee',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('meeting_id', Int64, nullable=False),
    sa.Column('membership_id', Int64, nullable=True),
    sa.Column('role', sa.Enum('resident', 'resident_rep', 'council', 'chair', 'recorder', 'property_rep', 'owners_committee_rep', 'unit_rep', 'department_rep', 'observer', name='role', native_enum=False, length=24), nullable=True),
    sa.Column('guest_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('guest_org', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('guest_kind', sa.Enum('property', 'owners_committee', 'unit', 'department', 'deputy', name='guestkind', native_enum=False, length=24), nullable=True),
    sa.CheckConstraint('(membership_id IS NOT NULL) <> (guest_kind IS NOT NULL)', name='member_or_guest'),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['meeting_id', 'hall_id'], ['meeting.id', 'meeting.hall_id'], ),
    sa.ForeignKeyConstraint(['membership_id', 'hall_id'], ['membership.id', 'membership.hall_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'membership_id')
    )
    with op.batch_alter_table('meeting_invitee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_invitee_hall_id'), ['hall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_invitee_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_invitee_membership_id'), ['membership_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('meeting_invitee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_invitee_membership_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_invitee_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_invitee_hall_id'))

    op.drop_table('meeting_invitee')
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_attendance_membership_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_attendance_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_attendance_hall_id'))

    op.drop_table('meeting_attendance')
    with op.batch_alter_table('meeting_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_item_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_item_issue_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_item_hall_id'))

    op.drop_table('meeting_item')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_status'))
        batch_op.drop_index(batch_op.f('ix_meeting_starts_at'))
        batch_op.drop_index(batch_op.f('ix_meeting_hall_id'))

    op.drop_table('meeting')
