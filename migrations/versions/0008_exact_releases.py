"""exact releases stored until the data changes, and the analytics data version

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exact_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('query_key', sa.String(length=500), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('data_version', sa.BigInteger(), nullable=False),
    sa.Column('result_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_exact_releases_employer_id_employers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exact_releases')),
    sa.UniqueConstraint('employer_id', 'query_key', 'day', name=op.f('uq_exact_releases_employer_id_query_key_day'))
    )
    # The data version (wellness/analytics/data_version.py): a sequence on PostgreSQL; SQLite
    # keeps it in the database header (PRAGMA user_version), which needs no schema.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE SEQUENCE analytics_data_version AS bigint')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP SEQUENCE IF EXISTS analytics_data_version')
    op.drop_table('exact_releases')
