"""Tell the API's read caches when a key is revoked, changed or removed.

The read cache (hashtag_api.readcache) also remembers the stored keys the usual path verified,
so that its fast path can serve their cached reads without the database. A statement-level
trigger on `api_key` sends `NOTIFY hashtag_read_cache` when a statement changes what a key
allows (its revocation, expiry, scopes or hash) or removes keys, and every API process then
forgets every key and answer it holds. Writing `last_used_at` (at most once a minute per key)
does not notify: it allows nothing new.

Revision ID: 0015_api_key_notify
Revises: 0014_lift_prior_var
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015_api_key_notify"
down_revision = "0014_lift_prior_var"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # hashtag_read_cache_notify() comes from migration 0008.
    op.execute(
        "CREATE TRIGGER api_key_read_cache "
        "AFTER UPDATE OF revoked_at, expires_at, scopes, key_hash OR DELETE OR TRUNCATE "
        "ON api_key FOR EACH STATEMENT EXECUTE FUNCTION hashtag_read_cache_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER api_key_read_cache ON api_key")
