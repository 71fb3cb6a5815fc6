"""meetings held: live mode, speeches, minutes; ballots at a meeting

Revision ID: fe9f2a91252d
Revises: 7c3a9e5d1f42
Create Date: 2026-12-07 00:43:27.552252

协商会议 as they are held (issue #12, second slice): the speaker queue and the recorder's
speeches, absences with reasons, the minutes (会议纪要) with their sign-off and 更正, the
meeting's live state (current item, started, rescheduled) and the meeting a ballot is held at
(its sign-in is the ballot's attendance).

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.AutoString

# Ids are 64-bit (revision 5d1e0b7a9c23); SQLite keeps INTEGER PRIMARY KEY (its rowid).
Int64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


# revision identifiers, used by Alembic.
revision: str = 'fe9f2a91252d'
down_revision: Union[str, Sequence[str], None] = '7c3a9e5d1f42'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('meeting_minutes',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('meeting_id', Int64, nullable=False),
    sa.Column('status', sa.Enum('draft', 'signed', name='minutesstatus', native_enum=False, length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('resolutions', sa.Text(), nullable=False),
    sa.Column('tasks', sa.Text(), nullable=False),
    sa.Column('publicity', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('chair_signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('chair_signed_by_id', Int64, nullable=True),
    sa.Column('recorder_signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('recorder_signed_by_id', Int64, nullable=True),
    sa.Column('locked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('audit_event_id', Int64, nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_by_id', Int64, nullable=True),
    sa.ForeignKeyConstraint(['chair_signed_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['meeting_id', 'hall_id'], ['meeting.id', 'meeting.hall_id'], ),
    sa.ForeignKeyConstraint(['recorder_signed_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id', 'hall_id'),
    sa.UniqueConstraint('meeting_id')
    )
    with op.batch_alter_table('meeting_minutes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_minutes_hall_id'), ['hall_id'], unique=False)

    op.create_table('meeting_minutes_correction',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('minutes_id', Int64, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('made_by_id', Int64, nullable=False),
    sa.Column('made_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('audit_event_id', Int64, nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['made_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['minutes_id', 'hall_id'], ['meeting_minutes.id', 'meeting_minutes.hall_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('minutes_id', 'position')
    )
    with op.batch_alter_table('meeting_minutes_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_minutes_correction_hall_id'), ['hall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_minutes_correction_minutes_id'), ['minutes_id'], unique=False)

    op.create_table('meeting_absence',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('meeting_id', Int64, nullable=False),
    sa.Column('membership_id', Int64, nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('recorded_by_id', Int64, nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['meeting_id', 'hall_id'], ['meeting.id', 'meeting.hall_id'], ),
    sa.ForeignKeyConstraint(['membership_id', 'hall_id'], ['membership.id', 'membership.hall_id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'membership_id')
    )
    with op.batch_alter_table('meeting_absence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_absence_hall_id'), ['hall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_absence_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_speaker',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('meeting_id', Int64, nullable=False),
    sa.Column('item_id', Int64, nullable=True),
    sa.Column('membership_id', Int64, nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'speaking', 'done', 'withdrawn', name='speakerstatus', native_enum=False, length=24), nullable=False),
    sa.Column('raised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('added_by_id', Int64, nullable=False),
    sa.CheckConstraint("membership_id IS NOT NULL OR name <> ''", name='member_or_name'),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['meeting_item.id'], ),
    sa.ForeignKeyConstraint(['meeting_id', 'hall_id'], ['meeting.id', 'meeting.hall_id'], ),
    sa.ForeignKeyConstraint(['membership_id', 'hall_id'], ['membership.id', 'membership.hall_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meeting_speaker', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_speaker_hall_id'), ['hall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_speaker_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_speaker_status'), ['status'], unique=False)
        batch_op.create_index('uq_meeting_speaker_waiting', ['meeting_id', 'membership_id'], unique=True, sqlite_where=sa.text("status IN ('waiting', 'speaking')"), postgresql_where=sa.text("status IN ('waiting', 'speaking')"))

    op.create_table('meeting_speech',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('meeting_id', Int64, nullable=False),
    sa.Column('item_id', Int64, nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('membership_id', Int64, nullable=True),
    sa.Column('speaker_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', Int64, nullable=False),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['meeting_item.id'], ),
    sa.ForeignKeyConstraint(['meeting_id', 'hall_id'], ['meeting.id', 'meeting.hall_id'], ),
    sa.ForeignKeyConstraint(['membership_id', 'hall_id'], ['membership.id', 'membership.hall_id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'position')
    )
    with op.batch_alter_table('meeting_speech', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_speech_hall_id'), ['hall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_speech_meeting_id'), ['meeting_id'], unique=False)

    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_id', Int64, nullable=True))
        batch_op.create_index(batch_op.f('ix_ballot_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_foreign_key('fk_ballot_meeting', 'meeting', ['meeting_id', 'hall_id'], ['id', 'hall_id'])

    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rescheduled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('notice_count', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('current_item_id', Int64, nullable=True))
        batch_op.add_column(sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('started_at')
        batch_op.drop_column('current_item_id')
        batch_op.drop_column('notice_count')
        batch_op.drop_column('rescheduled_at')

    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ballot_meeting', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_ballot_meeting_id'))
        batch_op.drop_column('meeting_id')

    with op.batch_alter_table('meeting_speech', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_speech_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_speech_hall_id'))

    op.drop_table('meeting_speech')
    with op.batch_alter_table('meeting_speaker', schema=None) as batch_op:
        batch_op.drop_index('uq_meeting_speaker_waiting', sqlite_where=sa.text("status IN ('waiting', 'speaking')"), postgresql_where=sa.text("status IN ('waiting', 'speaking')"))
        batch_op.drop_index(batch_op.f('ix_meeting_speaker_status'))
        batch_op.drop_index(batch_op.f('ix_meeting_speaker_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_speaker_hall_id'))

    op.drop_table('meeting_speaker')
    with op.batch_alter_table('meeting_absence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_absence_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_absence_hall_id'))

    op.drop_table('meeting_absence')
    with op.batch_alter_table('meeting_minutes_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_minutes_correction_minutes_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_minutes_correction_hall_id'))

    op.drop_table('meeting_minutes_correction')
    with op.batch_alter_table('meeting_minutes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_minutes_hall_id'))

    op.drop_table('meeting_minutes')
