"""Accounts may only hold time zones PostgreSQL can convert with.

The recompute turns every post's time into local weekday and hour with
`posted_at AT TIME ZONE account.timezone`, so one unknown zone stops the figures of every
account. The API and the importer validate names against Python's zoneinfo first; this CHECK is
the database's own guarantee, for rows written any other way.

`is_valid_timezone(tz)` asks PostgreSQL itself (`now() AT TIME ZONE tz` inside an exception
block) rather than looking the name up in `pg_timezone_names`, which reads the whole zone
directory on every call (about 90 ms: too slow for a check run on every account upsert of an
import). It is therefore as permissive as `AT TIME ZONE`: it also accepts POSIX specifications
such as 'UTC+5' and any letter case, which the application refuses before they get here.

It is STABLE, not IMMUTABLE: the answer depends on the zone database PostgreSQL was installed
with. A CHECK constraint does not need IMMUTABLE (indexes and generated columns do), and rows
are not rechecked after a zone-database update, which is harmless because zones are never
removed from it (renamed ones stay as links).

Rows that already hold an unusable zone (the recompute fails on them today) are reset to 'UTC'.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION is_valid_timezone(tz text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF tz IS NULL OR tz = '' OR tz <> btrim(tz) THEN
        RETURN false;
    END IF;
    PERFORM now() AT TIME ZONE tz;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute("UPDATE account SET timezone = 'UTC' WHERE NOT is_valid_timezone(timezone)")
    op.execute(
        "ALTER TABLE account ADD CONSTRAINT ck_account_timezone CHECK (is_valid_timezone(timezone))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE account DROP CONSTRAINT ck_account_timezone")
    op.execute("DROP FUNCTION is_valid_timezone(text)")
