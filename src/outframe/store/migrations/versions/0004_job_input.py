"""job input, "delivered" webhooks, idempotency expiry and per-key listing

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:05:00

A job keeps what was submitted (`input`, the mask elided) for GET /v2/jobs/:id; a delivered
webhook is "delivered", as apiframe's OpenAPI document spells it (was "sent"); Idempotency-Keys
are forgotten after 24 hours, found by their age; jobs are listed per API key (scope=user).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input", sa.JSON(), nullable=True))
        batch_op.create_index("ix_jobs_key_seq", ["api_key_id", "seq"], unique=False)
    with op.batch_alter_table("idempotency", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_created_at", ["created_at"], unique=False)
    op.execute("UPDATE jobs SET webhook_status = 'delivered' WHERE webhook_status = 'sent'")
    op.execute("UPDATE webhook_deliveries SET status = 'delivered' WHERE status = 'sent'")


def downgrade() -> None:
    op.execute("UPDATE webhook_deliveries SET status = 'sent' WHERE status = 'delivered'")
    op.execute("UPDATE jobs SET webhook_status = 'sent' WHERE webhook_status = 'delivered'")
    with op.batch_alter_table("idempotency", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_created_at")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_key_seq")
        batch_op.drop_column("input")
