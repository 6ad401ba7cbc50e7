"""pain rollup keyed region, month, person: HR's reads by region and month use the key, writers
a person's months by a new index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _key(columns, index, old_index, index_columns):
    # SQLite cannot change a key in place: the batch copies pain_months, which no table
    # references, so no cascade can reach other rows. The rows stay where they are until the
    # next rebuild (wellness rebuild-rollups, nightly) writes them in the key's order.
    with op.batch_alter_table('pain_months', schema=None) as batch_op:
        batch_op.drop_index(old_index)
        batch_op.drop_constraint('pk_pain_months', type_='primary')
        batch_op.create_primary_key('pk_pain_months', columns)
        batch_op.create_index(index, index_columns, unique=False)


def upgrade():
    _key(
        ['region', 'month', 'employee_id'],
        'ix_pain_months_employee_month',
        'ix_pain_months_region_month',
        ['employee_id', 'month'],
    )


def downgrade():
    _key(
        ['employee_id', 'month', 'region'],
        'ix_pain_months_region_month',
        'ix_pain_months_employee_month',
        ['region', 'month'],
    )
