"""checklist responses keep the number of items their answers leave to fix

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN, never a batch copy of the table on SQLite: dropping the old copy
    # would delete every answer through its ON DELETE CASCADE.
    op.add_column('checklist_responses', sa.Column('items_to_fix', sa.Integer(), nullable=True))
    bind = op.get_bind()
    if bind.execute(sa.text('SELECT 1 FROM checklist_responses LIMIT 1')).first() is not None:
        # Responses stored before are evaluated by the app's own scoring, as their results page
        # evaluates them (the models of this revision: a database with responses upgrades past
        # it before checklist tables change again). Within Alembic's transaction.
        from wellness.health.checklists import count_items_to_fix

        count_items_to_fix(Session(bind=bind))


def downgrade():
    op.drop_column('checklist_responses', 'items_to_fix')
