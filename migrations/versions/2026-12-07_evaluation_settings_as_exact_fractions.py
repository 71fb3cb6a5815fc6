"""evaluation settings as exact fractions

Revision ID: c56e955869ab
Revises: b333a6834082
Create Date: 2026-12-07 02:04:08.288785

民评 settings as exact fractions (issue #13): the 基本满意 weight and the reopen threshold are
kept as num/den like the 议事会 quorum, so no rule rounds (app.evaluations.rules).

- basic_satisfied_weight_pct p becomes basic_satisfied_weight_num/den = p/100 reduced
  (90 → 9/10, 80 → 4/5, 0 → 0/1, 100 → 1/1).
- reopen_threshold_pct meant "reopen when satisfaction is below this"; the new threshold means
  "reopen when 不满意 is more than num/den of the valid answers". The old value cannot be
  read in the new sense, so every hall gets the new default 1/3.

Downgrade: the weight back to a percentage (rounded half up), the old threshold to its old
default 50. Works on SQLite (batch) and PostgreSQL.

"""
from math import gcd
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.AutoString


# revision identifiers, used by Alembic.
revision: str = 'c56e955869ab'
down_revision: Union[str, Sequence[str], None] = 'b333a6834082'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('hall', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basic_satisfied_weight_num', sa.Integer(), nullable=False, server_default='9'))
        batch_op.add_column(sa.Column('basic_satisfied_weight_den', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('reopen_threshold_num', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('reopen_threshold_den', sa.Integer(), nullable=False, server_default='3'))

    conn = op.get_bind()
    pcts = conn.execute(sa.text('SELECT DISTINCT basic_satisfied_weight_pct FROM hall')).scalars()
    for pct in list(pcts):
        p = min(max(int(pct), 0), 100)  # the form kept it in 0–100
        g = gcd(p, 100)
        conn.execute(
            sa.text(
                'UPDATE hall SET basic_satisfied_weight_num = :num, basic_satisfied_weight_den = :den'
                ' WHERE basic_satisfied_weight_pct = :pct'
            ),
            {'num': p // g, 'den': 100 // g, 'pct': pct},
        )

    with op.batch_alter_table('hall', schema=None) as batch_op:
        batch_op.drop_column('basic_satisfied_weight_pct')
        batch_op.drop_column('reopen_threshold_pct')
        for name in ('basic_satisfied_weight_num', 'basic_satisfied_weight_den', 'reopen_threshold_num', 'reopen_threshold_den'):
            batch_op.alter_column(name, existing_type=sa.Integer(), existing_nullable=False, server_default=None)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('hall', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basic_satisfied_weight_pct', sa.Integer(), nullable=False, server_default='90'))
        batch_op.add_column(sa.Column('reopen_threshold_pct', sa.Integer(), nullable=False, server_default='50'))

    conn = op.get_bind()
    pairs = conn.execute(
        sa.text('SELECT DISTINCT basic_satisfied_weight_num, basic_satisfied_weight_den FROM hall')
    ).all()
    for num, den in pairs:
        pct = (200 * int(num) + int(den)) // (2 * int(den))  # num/den in percent, half up
        conn.execute(
            sa.text(
                'UPDATE hall SET basic_satisfied_weight_pct = :pct'
                ' WHERE basic_satisfied_weight_num = :num AND basic_satisfied_weight_den = :den'
            ),
            {'pct': pct, 'num': num, 'den': den},
        )

    with op.batch_alter_table('hall', schema=None) as batch_op:
        batch_op.drop_column('reopen_threshold_den')
        batch_op.drop_column('reopen_threshold_num')
        batch_op.drop_column('basic_satisfied_weight_den')
        batch_op.drop_column('basic_satisfied_weight_num')
        for name in ('basic_satisfied_weight_pct', 'reopen_threshold_pct'):
            batch_op.alter_column(name, existing_type=sa.Integer(), existing_nullable=False, server_default=None)
