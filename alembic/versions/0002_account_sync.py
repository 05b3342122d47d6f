"""Account sync state (token reference, status, watermark, schedule) and the post re-fetch
schedule used for re-analysis at fixed post ages.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = [
    """
    ALTER TABLE account
        ADD COLUMN token_ref text,
        ADD COLUMN collect_enabled boolean NOT NULL DEFAULT false,
        ADD COLUMN status text NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'needs_reauth', 'error', 'paused')),
        ADD COLUMN sync_interval_minutes integer NOT NULL DEFAULT 60
            CHECK (sync_interval_minutes BETWEEN 1 AND 10080),
        ADD COLUMN last_sync_at timestamptz,
        ADD COLUMN next_sync_at timestamptz,
        ADD COLUMN last_error text,
        ADD COLUMN watermark_since_id text,
        ADD COLUMN watermark_since_time timestamptz
    """,
    "CREATE INDEX ix_account_due ON account (next_sync_at) WHERE collect_enabled",
    """
    CREATE TABLE post_refresh (
        post_id bigint NOT NULL REFERENCES post(id) ON DELETE CASCADE,
        age_label text NOT NULL,
        due_at timestamptz NOT NULL,
        done_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        PRIMARY KEY (post_id, age_label)
    )
    """,
    "CREATE INDEX ix_post_refresh_due ON post_refresh (due_at) WHERE done_at IS NULL",
]

DOWNGRADE = [
    "DROP TABLE post_refresh",
    "DROP INDEX ix_account_due",
    """
    ALTER TABLE account
        DROP COLUMN token_ref, DROP COLUMN collect_enabled, DROP COLUMN status,
        DROP COLUMN sync_interval_minutes, DROP COLUMN last_sync_at, DROP COLUMN next_sync_at,
        DROP COLUMN last_error, DROP COLUMN watermark_since_id, DROP COLUMN watermark_since_time
    """,
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
