"""Slot lift, best slots and sentiment per time window.

`hashtag_slot`, `hashtag_best_slot` and `hashtag_sentiment` get a `"window"` column (the names
of `analytics.frames.WINDOWS`, as in `hashtag_lift`) and it joins their primary keys, so the
report and the endpoints can show these figures for the window asked for, not all history
whatever the window. Rows already there were computed over all history and become the
`'all'` rows; the other windows' rows appear with the next full recompute (the worker runs one
every HASHTAG_RECOMPUTE_CRON_MINUTES, or `hashtag-analysis recompute --force`).

The downgrade keeps the `'all'` rows, which are what the earlier schema held.

Revision ID: 0007_windowed_slots_sentiment
Revises: 0006_incremental_recompute
Create Date: 2026-12-01
"""

from alembic import op

revision = "0007_windowed_slots_sentiment"
down_revision = "0006_incremental_recompute"
branch_labels = None
depends_on = None

#: table -> its primary key columns after "window" (the scope columns come first).
_KEYS = {
    "hashtag_slot": ("hashtag_id", "weekday", "hour"),
    "hashtag_best_slot": ("hashtag_id", "rank"),
    "hashtag_sentiment": ("hashtag_id",),
}


def _primary_key(table: str, columns: tuple[str, ...]) -> str:
    return f"ALTER TABLE {table} ADD PRIMARY KEY ({', '.join(columns)})"


def upgrade() -> None:
    for table, keys in _KEYS.items():
        op.execute(f"""ALTER TABLE {table} ADD COLUMN "window" text NOT NULL DEFAULT 'all'""")
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "window" DROP DEFAULT')
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.execute(_primary_key(table, ("platform", "account_id", '"window"', *keys)))


def downgrade() -> None:
    for table, keys in _KEYS.items():
        op.execute(f"""DELETE FROM {table} WHERE "window" <> 'all'""")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.execute(f'ALTER TABLE {table} DROP COLUMN "window"')
        op.execute(_primary_key(table, ("platform", "account_id", *keys)))
