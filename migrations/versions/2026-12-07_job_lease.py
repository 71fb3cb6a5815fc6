"""job lease: one row per periodic job

Revision ID: b333a6834082
Revises: fe9f2a91252d
Create Date: 2026-12-07 02:04:10.460497

The periodic jobs (app/jobs, issue #13): who holds a job's lease and until when, so that of
several app processes one runs each job per period, and what its runs left behind.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.AutoString


# revision identifiers, used by Alembic.
revision: str = 'b333a6834082'
down_revision: Union[str, Sequence[str], None] = 'fe9f2a91252d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('job_lease',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('leased_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_count', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('job_lease')
