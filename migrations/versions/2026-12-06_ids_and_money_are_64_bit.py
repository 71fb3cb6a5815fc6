"""every id and every amount in 分 is 64-bit

Revision ID: 5d1e0b7a9c23
Revises: 370fe20f74c6
Create Date: 2026-12-06 15:50:00.000000

Issue #10 §2. On PostgreSQL the ids were INTEGER (32-bit, their sequences too): a city's
audit events, votes, ledger entries, notifications and sessions outgrow 2³¹ in years, and an
id of 2³¹ sent to any route failed in the database instead of being refused. One width for
every id keeps foreign keys consistent, and the edge (app/core/fields.py `Id`) allows exactly
what a BIGINT holds. `solution.estimated_cost_fen` had the same 32-bit column under a parser
that reads ten digits of yuan (`FEN_MAX`).

SQLite's INTEGER is already 64-bit: nothing to do there (and the rowid primary keys must stay
INTEGER PRIMARY KEY).
"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '5d1e0b7a9c23'
down_revision: Union[str, Sequence[str], None] = '370fe20f74c6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# table -> its id columns (and the one amount in 分), as of this revision.
COLUMNS: dict[str, tuple[str, ...]] = {
    'login_failure': ('id',),
    'street': ('id',),
    'user': ('id',),
    'hall': ('id', 'street_id'),
    'street_admin': ('id', 'street_id', 'user_id'),
    'user_session': ('id', 'user_id'),
    'audit_event': ('id', 'hall_id', 'actor_id', 'subject_id'),
    'building': ('id', 'hall_id'),
    'entrance': ('id', 'hall_id', 'building_id'),
    'household': ('id', 'hall_id', 'entrance_id'),
    'issue': ('id', 'hall_id', 'scope_building_id', 'scope_entrance_id', 'proposer_id', 'entered_by_id', 'merged_into_id'),
    'comment': ('id', 'hall_id', 'issue_id', 'parent_id', 'author_id', 'hidden_by_id'),
    'consultation_opinion': ('issue_id', 'hall_id', 'author_id'),
    'cosign': ('id', 'hall_id', 'issue_id', 'user_id'),
    'issue_photo': ('id', 'hall_id', 'issue_id'),
    'issue_stage_event': ('id', 'hall_id', 'issue_id', 'actor_id'),
    'membership': ('id', 'hall_id', 'user_id', 'household_id', 'decided_by_id', 'entered_by_id'),
    'notification': ('id', 'hall_id', 'user_id', 'issue_id'),
    'solution': ('id', 'hall_id', 'issue_id', 'author_id', 'estimated_cost_fen'),
    'ballot': ('id', 'hall_id', 'issue_id', 'subject_solution_id', 'scope_building_id', 'scope_entrance_id', 'created_by_id'),
    'comment_report': ('id', 'hall_id', 'comment_id', 'reporter_id'),
    'membership_role': ('id', 'hall_id', 'membership_id'),
    'unit_ownership': ('id', 'hall_id', 'membership_id', 'household_id'),
    'ballot_ledger': ('ballot_id', 'hall_id'),
    'ballot_officer': ('id', 'hall_id', 'ballot_id', 'user_id'),
    'ballot_option': ('id', 'hall_id', 'ballot_id', 'solution_id'),
    'ballot_roll': ('id', 'hall_id', 'ballot_id'),
    'resolution': ('id', 'hall_id', 'issue_id', 'ballot_id'),
    'ballot_roll_caster': ('id', 'ballot_id', 'roll_id', 'user_id'),
    'objection': ('id', 'hall_id', 'issue_id', 'resolution_id', 'author_id', 'answered_by_id'),
    'paper_ballot': ('id', 'hall_id', 'ballot_id', 'roll_id', 'issued_by_id'),
    'vote': ('id', 'hall_id', 'ballot_id', 'roll_id', 'option_id', 'cast_by_id', 'confirmed_by_id', 'voided_by_id'),
    'paper_entry': ('id', 'hall_id', 'ballot_id', 'paper_id', 'option_id', 'entered_by_id', 'confirmed_by_id', 'vote_id'),
}


def _alter(width: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(f'ALTER COLUMN "{c}" TYPE {width}' for c in columns)
        op.execute(f'ALTER TABLE "{table}" {changes}')
        if "id" in columns:
            sequence = op.get_bind().exec_driver_sql(
                "SELECT pg_get_serial_sequence(%s, 'id')", (f'"{table}"',)
            ).scalar()
            if sequence:
                op.execute(f"ALTER SEQUENCE {sequence} AS {width}")


def upgrade() -> None:
    """Upgrade schema."""
    _alter("BIGINT")


def downgrade() -> None:
    """Downgrade schema (fails, as it should, once a value no longer fits 32 bits)."""
    _alter("INTEGER")
