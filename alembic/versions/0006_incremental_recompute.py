"""Incremental recompute: dirty posts, frozen baselines and prior, and its bookkeeping.

`dirty_post` gets one row per single-post update, written in the update's own transaction
with its data version (so it survives Redis being down): the post and the hashtags it had
before the update (a text change moves it off those). The incremental pass recomputes the
per-hashtag rows of the hashtags these posts touch; a full recompute deletes the rows its
snapshot covered.

`account_baseline` (median goal value per account, window and goal) and `lift_prior` (the
empirical-Bayes pooled variance and tau2 per scope, window and goal) are written by every full
recompute and held fixed by the incremental passes in between.

`recompute_state` learns which data version and time the last full recompute covered
(`full_version`, `full_computed_at`: the incremental passes anchor their windows there) and up
to which version dirty posts have been applied (`applied_version`).

The four incrementally updated aggregate tables get an index on `hashtag_id`, so one
hashtag's rows are replaced without scanning the table.

Revision ID: 0006_incremental_recompute
Revises: 0005_api_keys
Create Date: 2026-11-25
"""

from alembic import op

revision = "0006_incremental_recompute"
down_revision = "0005_api_keys"
branch_labels = None
depends_on = None

_INDEXED = ("hashtag_performance", "hashtag_lift", "hashtag_trend_cell", "hashtag_daily")

UPGRADE = [
    """
    CREATE TABLE dirty_post (
        version bigint NOT NULL,
        post_id bigint NOT NULL,
        old_hashtag_ids bigint[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (version, post_id)
    )""",
    """
    CREATE TABLE account_baseline (
        account_id bigint NOT NULL,
        "window" text NOT NULL,
        goal text NOT NULL,
        baseline double precision NOT NULL,
        PRIMARY KEY (account_id, "window", goal)
    )""",
    """
    CREATE TABLE lift_prior (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        "window" text NOT NULL,
        goal text NOT NULL,
        pooled_var double precision,
        tau2 double precision NOT NULL,
        PRIMARY KEY (platform, account_id, "window", goal)
    )""",
    "ALTER TABLE recompute_state ADD COLUMN full_version bigint, "
    "ADD COLUMN full_computed_at timestamptz, "
    "ADD COLUMN applied_version bigint NOT NULL DEFAULT 0",
    *(f"CREATE INDEX ix_{table}_hashtag ON {table} (hashtag_id)" for table in _INDEXED),
]

DOWNGRADE = [
    *(f"DROP INDEX ix_{table}_hashtag" for table in _INDEXED),
    "ALTER TABLE recompute_state DROP COLUMN full_version, DROP COLUMN full_computed_at, "
    "DROP COLUMN applied_version",
    "DROP TABLE lift_prior",
    "DROP TABLE account_baseline",
    "DROP TABLE dirty_post",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
