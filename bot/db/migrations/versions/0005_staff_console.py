"""staff console: accounts, sessions, audit log

Revision ID: 0005_staff_console
Revises: 0004_analytics_rollups
Create Date: 2026-12-04 17:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_staff_console'
down_revision = '0004_analytics_rollups'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_users',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('username', sa.String(64), nullable=False, unique=True),
                    sa.Column('display_name', sa.String(120), nullable=False),
                    sa.Column('password_hash', sa.String(255), nullable=False),
                    sa.Column('role', sa.String(20), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()),
                    sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('locked_until', sa.DateTime(), nullable=True),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('last_login_at', sa.DateTime(), nullable=True))
    op.create_table('staff_sessions',
                    sa.Column('token_hash', sa.String(64), primary_key=True),
                    sa.Column('user_id', sa.Integer(), sa.ForeignKey('staff_users.id', ondelete='CASCADE'),
                              nullable=False),
                    sa.Column('csrf_token', sa.String(64), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
                    sa.Column('expires_at', sa.DateTime(), nullable=False))
    op.create_index('ix_staff_sessions_user_id', 'staff_sessions', ['user_id'])
    op.create_index('ix_staff_sessions_expires_at', 'staff_sessions', ['expires_at'])
    op.create_table('audit_log',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('at', sa.DateTime(), nullable=False),
                    sa.Column('actor', sa.String(64), nullable=False),
                    sa.Column('action', sa.String(60), nullable=False),
                    sa.Column('entity', sa.String(60), nullable=False),
                    sa.Column('entity_id', sa.String(120), nullable=True),
                    sa.Column('before', sa.JSON(), nullable=True),
                    sa.Column('after', sa.JSON(), nullable=True),
                    sa.Column('note', sa.Text(), nullable=True))
    op.create_index('ix_audit_log_at', 'audit_log', ['at'])
    op.create_index('ix_audit_log_actor', 'audit_log', ['actor'])
    op.create_index('ix_audit_log_entity_id', 'audit_log', ['entity_id'])


def downgrade() -> None:
    op.drop_table('audit_log')
    op.drop_table('staff_sessions')
    op.drop_table('staff_users')
