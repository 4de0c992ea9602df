"""retraining: training jobs and model versions

Revision ID: 0006_training_models
Revises: 0005_staff_console
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_training_models'
down_revision = '0005_staff_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_versions',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('file_name', sa.String(200), nullable=False),
                    sa.Column('model_hash', sa.String(64), nullable=False, unique=True),
                    sa.Column('rasa_model_id', sa.String(64), nullable=True),
                    sa.Column('size_bytes', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('data_hash', sa.String(64), nullable=True),
                    sa.Column('config_name', sa.String(200), nullable=True),
                    sa.Column('config_text', sa.Text(), nullable=True),
                    sa.Column('metrics', sa.JSON(), nullable=True),
                    sa.Column('gate_passed', sa.Boolean(), nullable=True),
                    sa.Column('trained_by', sa.String(64), nullable=False),
                    sa.Column('trained_at', sa.DateTime(), nullable=False),
                    sa.Column('job_id', sa.Integer(), nullable=True),
                    sa.Column('active_slot', sa.Integer(), nullable=True, unique=True),
                    sa.Column('activated_at', sa.DateTime(), nullable=True),
                    sa.Column('activated_by', sa.String(64), nullable=True),
                    sa.Column('note', sa.Text(), nullable=True))
    op.create_table('training_jobs',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('state', sa.String(20), nullable=False, server_default='queued'),
                    sa.Column('trigger', sa.String(20), nullable=False, server_default='manual'),
                    sa.Column('requested_by', sa.String(64), nullable=False),
                    sa.Column('config_name', sa.String(200), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('started_at', sa.DateTime(), nullable=True),
                    sa.Column('finished_at', sa.DateTime(), nullable=True),
                    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
                    sa.Column('worker', sa.String(120), nullable=True),
                    sa.Column('running_slot', sa.Integer(), nullable=True, unique=True),
                    sa.Column('progress', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('stage', sa.String(200), nullable=True),
                    sa.Column('log_tail', sa.Text(), nullable=True),
                    sa.Column('data_hash', sa.String(64), nullable=True),
                    sa.Column('metrics', sa.JSON(), nullable=True),
                    sa.Column('gate', sa.JSON(), nullable=True),
                    sa.Column('error', sa.Text(), nullable=True),
                    sa.Column('model_version_id', sa.Integer(),
                              sa.ForeignKey('model_versions.id', ondelete='SET NULL'), nullable=True))
    op.create_index('ix_training_jobs_state', 'training_jobs', ['state'])


def downgrade() -> None:
    op.drop_index('ix_training_jobs_state', table_name='training_jobs')
    op.drop_table('training_jobs')
    op.drop_table('model_versions')
