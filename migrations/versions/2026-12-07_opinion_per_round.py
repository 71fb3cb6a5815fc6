"""a 协商意见 per round

An issue sent back to 民议 (a failed vote settled 退回民议, or an upheld 异议 at the end of its
公示) is closed again with a new 协商意见. The table was keyed by the issue, so the second
结束协商 failed on the key and the issue stayed in 民议 for good. Now each round's opinion is
its own row (an id key, the issue indexed); readers take the latest. PostgreSQL changes the key in place; SQLite,
which cannot, rebuilds the table with its rows in their order. Downgrade keeps each issue's
latest opinion, the one in force.

Revision ID: a0e4f5061728
Revises: 9d3e4f506172
Create Date: 2026-12-07 12:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - the column types below

# Ids are 64-bit (revision 5d1e0b7a9c23); SQLite keeps INTEGER PRIMARY KEY (its rowid).
Int64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


# revision identifiers, used by Alembic.
revision: str = 'a0e4f5061728'
down_revision: Union[str, Sequence[str], None] = '9d3e4f506172'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = 'issue_id, hall_id, agreements, disagreements, author_id, created_at'


def _table(name: str, *, per_round: bool) -> None:
    key = [sa.Column('id', Int64, primary_key=True, autoincrement=True)] if per_round else []
    op.create_table(
        name,
        *key,
        sa.Column('issue_id', Int64, nullable=False, primary_key=not per_round),
        sa.Column('hall_id', Int64, nullable=False),
        sa.Column('agreements', sa.Text(), nullable=False),
        sa.Column('disagreements', sa.Text(), nullable=False),
        sa.Column('author_id', Int64, nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['user.id']),
        sa.ForeignKeyConstraint(['hall_id'], ['hall.id']),
        sa.ForeignKeyConstraint(['issue_id', 'hall_id'], ['issue.id', 'issue.hall_id']),
    )


def _swap(*, per_round: bool, rows: str) -> None:
    """SQLite cannot change a primary key in place: a new table, the rows copied, a rename."""
    _table('consultation_opinion_new', per_round=per_round)
    op.execute(f'INSERT INTO consultation_opinion_new ({COLUMNS}) {rows}')
    with op.batch_alter_table('consultation_opinion', schema=None) as batch_op:
        batch_op.drop_index('ix_consultation_opinion_hall_id')
        if not per_round:
            batch_op.drop_index('ix_consultation_opinion_issue_id')
    op.drop_table('consultation_opinion')
    op.rename_table('consultation_opinion_new', 'consultation_opinion')
    with op.batch_alter_table('consultation_opinion', schema=None) as batch_op:
        batch_op.create_index('ix_consultation_opinion_hall_id', ['hall_id'], unique=False)
        if per_round:
            batch_op.create_index('ix_consultation_opinion_issue_id', ['issue_id'], unique=False)


def _primary_key() -> str:
    name = sa.inspect(op.get_bind()).get_pk_constraint('consultation_opinion')['name']
    assert name
    return str(name)


LATER = (
    'EXISTS (SELECT 1 FROM consultation_opinion AS later '
    'WHERE later.issue_id = o.issue_id AND later.id > o.id)'
)


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name != 'postgresql':
        _swap(per_round=True, rows=f'SELECT {COLUMNS} FROM consultation_opinion ORDER BY created_at, issue_id')
        return
    # PostgreSQL changes the key in place; the ids follow the opinions' order.
    key = _primary_key()
    op.drop_constraint(key, 'consultation_opinion', type_='primary')
    op.add_column('consultation_opinion', sa.Column('id', Int64, nullable=True))
    op.execute('CREATE SEQUENCE consultation_opinion_id_seq OWNED BY consultation_opinion.id')
    op.execute(
        'UPDATE consultation_opinion AS o SET id = n.rn FROM (SELECT issue_id, '
        'row_number() OVER (ORDER BY created_at, issue_id) AS rn FROM consultation_opinion) AS n '
        'WHERE n.issue_id = o.issue_id'
    )
    op.execute(
        "SELECT setval('consultation_opinion_id_seq', "
        'COALESCE((SELECT max(id) FROM consultation_opinion), 0) + 1, false)'
    )
    op.execute(
        'ALTER TABLE consultation_opinion '
        "ALTER COLUMN id SET DEFAULT nextval('consultation_opinion_id_seq'), "
        'ALTER COLUMN id SET NOT NULL'
    )
    op.create_primary_key(key, 'consultation_opinion', ['id'])
    op.create_index('ix_consultation_opinion_issue_id', 'consultation_opinion', ['issue_id'])


def downgrade() -> None:
    """Downgrade schema: each issue keeps its latest opinion, the one in force."""
    if op.get_bind().dialect.name != 'postgresql':
        _swap(per_round=False, rows=f'SELECT {COLUMNS} FROM consultation_opinion AS o WHERE NOT {LATER}')
        return
    op.execute(f'DELETE FROM consultation_opinion AS o WHERE {LATER}')
    op.drop_index('ix_consultation_opinion_issue_id', 'consultation_opinion')
    key = _primary_key()
    op.drop_constraint(key, 'consultation_opinion', type_='primary')
    op.drop_column('consultation_opinion', 'id')  # its sequence goes with it (OWNED BY)
    op.create_primary_key(key, 'consultation_opinion', ['issue_id'])
