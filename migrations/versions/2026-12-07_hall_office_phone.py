"""hall office phone

Issue #14: the 居委会's public number, set on 议事规则 and printed whole on the 公示 ("" for
none); the chair's own login number is never printed.

Revision ID: 7b1c2d3e4f50
Revises: e6d42ff5c8be
Create Date: 2026-12-07 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.AutoString


# revision identifiers, used by Alembic.
revision: str = '7b1c2d3e4f50'
down_revision: Union[str, Sequence[str], None] = 'e6d42ff5c8be'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('hall', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_phone', sqlmodel.sql.sqltypes.AutoString(length=20), server_default='', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('hall', schema=None) as batch_op:
        batch_op.drop_column('office_phone')
