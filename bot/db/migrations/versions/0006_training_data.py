"""training data: intents, examples, synonyms, intent proposals, the NLU inbox

Revision ID: 0006_training_data
Revises: 0005_staff_console
Create Date: 2026-12-05 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_training_data'
down_revision = '0005_staff_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('training_files',
                    sa.Column('name', sa.String(80), primary_key=True),
                    sa.Column('header', sa.Text(), nullable=True),
                    sa.Column('position', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('training_intents',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('name', sa.String(80), nullable=False, unique=True),
                    sa.Column('file_name', sa.String(80), nullable=False),
                    sa.Column('position', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('training_examples',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('intent_id', sa.Integer(),
                              sa.ForeignKey('training_intents.id', ondelete='CASCADE'), nullable=False),
                    sa.Column('text', sa.String(600), nullable=False),
                    sa.Column('plain', sa.String(600), nullable=False),
                    sa.Column('folded', sa.String(600), nullable=False),
                    sa.Column('position', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('source', sa.String(20), nullable=False, server_default='console'),
                    sa.Column('created_by', sa.String(64), nullable=True),
                    sa.Column('created_at', sa.DateTime(), nullable=False))
    op.create_index('ix_training_examples_folded', 'training_examples', ['folded'])
    op.create_index('ix_training_examples_intent_position', 'training_examples', ['intent_id', 'position'])
    op.create_table('training_synonyms',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('value', sa.String(120), nullable=False),
                    sa.Column('text', sa.String(300), nullable=False),
                    sa.Column('folded', sa.String(300), nullable=False, unique=True),
                    sa.Column('created_by', sa.String(64), nullable=True),
                    sa.Column('created_at', sa.DateTime(), nullable=False))
    op.create_table('training_data_state',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('changed', sa.Boolean(), nullable=False, server_default=sa.false()),
                    sa.Column('changed_at', sa.DateTime(), nullable=True),
                    sa.Column('changed_by', sa.String(64), nullable=True),
                    sa.Column('change', sa.String(80), nullable=True))
    op.create_table('training_intent_proposals',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('name', sa.String(80), nullable=False),
                    sa.Column('note', sa.Text(), nullable=False),
                    sa.Column('sample', sa.Text(), nullable=True),
                    sa.Column('inbox_item_id', sa.Integer(), nullable=True),
                    sa.Column('status', sa.String(20), nullable=False, server_default='open'),
                    sa.Column('created_by', sa.String(64), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False))
    op.create_table('nlu_inbox_items',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('key', sa.String(300), nullable=False, unique=True),
                    sa.Column('text', sa.Text(), nullable=False),
                    sa.Column('entities', sa.JSON(), nullable=False),
                    sa.Column('count', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('first_seen', sa.DateTime(), nullable=False),
                    sa.Column('last_seen', sa.DateTime(), nullable=False),
                    sa.Column('reasons', sa.JSON(), nullable=False),
                    sa.Column('guesses', sa.JSON(), nullable=False),
                    sa.Column('status', sa.String(20), nullable=False, server_default='open'),
                    sa.Column('intent', sa.String(80), nullable=True),
                    sa.Column('example_id', sa.Integer(), nullable=True),
                    sa.Column('note', sa.Text(), nullable=True),
                    sa.Column('resolved_by', sa.String(64), nullable=True),
                    sa.Column('resolved_at', sa.DateTime(), nullable=True))
    op.create_index('ix_nlu_inbox_items_last_seen', 'nlu_inbox_items', ['last_seen'])
    op.create_index('ix_nlu_inbox_items_status', 'nlu_inbox_items', ['status'])
    op.create_table('nlu_inbox_occurrences',
                    sa.Column('event_id', sa.BigInteger(), primary_key=True, autoincrement=False),
                    sa.Column('item_id', sa.Integer(),
                              sa.ForeignKey('nlu_inbox_items.id', ondelete='CASCADE'), nullable=False),
                    sa.Column('reasons', sa.JSON(), nullable=False),
                    sa.Column('seen_at', sa.DateTime(), nullable=False))
    op.create_index('ix_nlu_inbox_occurrences_item_id', 'nlu_inbox_occurrences', ['item_id'])
    op.create_table('nlu_inbox_state',
                    sa.Column('source', sa.String(20), primary_key=True),
                    sa.Column('last_id', sa.BigInteger(), nullable=True),
                    sa.Column('last_run_at', sa.DateTime(), nullable=True),
                    sa.Column('updated_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    for table in ('nlu_inbox_state', 'nlu_inbox_occurrences', 'nlu_inbox_items', 'training_intent_proposals',
                  'training_data_state', 'training_synonyms', 'training_examples', 'training_intents',
                  'training_files'):
        op.drop_table(table)
