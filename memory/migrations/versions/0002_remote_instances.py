"""Remote instances: which DICOMweb server (PACS) each image came from.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('remote_instances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=512), nullable=False),
    sa.Column('study_uid', sa.String(length=128), nullable=False),
    sa.Column('series_uid', sa.String(length=128), nullable=False),
    sa.Column('sop_uid', sa.String(length=128), nullable=False),
    sa.Column('retrieved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'sop_uid', name='uq_remote_instances_source_sop')
    )
    with op.batch_alter_table('remote_instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remote_instances_image_id'), ['image_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('remote_instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_instances_image_id'))
    op.drop_table('remote_instances')
