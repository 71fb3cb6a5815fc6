"""halls: roster uploads kept between the preview and the chair's confirmation

Revision ID: 5b1e0c7d9a21
Revises: 5d1e0b7a9c23
Create Date: 2026-12-06 15:40:00.000000

Uploading a roster no longer imports it: the checked rows wait here, keyed by a random token,
while the chair reviews the preview (new, changed and unchanged rows); confirming imports
exactly these rows and deletes the upload. Uploads older than an hour are refused and swept.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.AutoString

# Ids are 64-bit (revision 5d1e0b7a9c23); SQLite keeps INTEGER PRIMARY KEY (its rowid).
Int64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


# revision identifiers, used by Alembic.
revision: str = '5b1e0c7d9a21'
down_revision: Union[str, Sequence[str], None] = '5d1e0b7a9c23'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('roster_upload',
    sa.Column('id', Int64, nullable=False),
    sa.Column('hall_id', Int64, nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_by_id', Int64, nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('content_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('rows', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['hall.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('roster_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_upload_hall_id'), ['hall_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('roster_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_upload_hall_id'))

    op.drop_table('roster_upload')
