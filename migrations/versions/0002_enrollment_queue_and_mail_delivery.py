"""enrollment queue and mail delivery

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:47:33.752651

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offerings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlist_seq', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_offerings_seats_within_capacity'), 'seats_taken >= 0 AND seats_taken <= capacity'
        )

    with op.batch_alter_table('outbound_mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('attachment_filename', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('attachment_content_type', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('attachment_body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_outbound_mails_dedupe_key'), ['dedupe_key'])



def downgrade():
    with op.batch_alter_table('outbound_mails', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_outbound_mails_dedupe_key'), type_='unique')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('attachment_body')
        batch_op.drop_column('attachment_content_type')
        batch_op.drop_column('attachment_filename')
        batch_op.drop_column('dedupe_key')

    with op.batch_alter_table('offerings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_offerings_seats_within_capacity'), type_='check')
        batch_op.drop_column('waitlist_seq')

