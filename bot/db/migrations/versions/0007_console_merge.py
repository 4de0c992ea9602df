"""merge the console's migration branches (one per area, built side by side)

Revision ID: 0007_console_merge
Revises: the 0006 migrations of the console areas
Create Date: 2026-12-04 18:40:00

No schema change: it joins the heads so that ``upgrade head`` has one target.
"""

revision = '0007_console_merge'
down_revision = ('0006_console_texts', '0006_handoff_desk', '0006_training_models', '0006_training_data', '0006_catalogue')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
