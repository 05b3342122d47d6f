"""API keys with scopes, stored only as hashes.

A key is `hk_<prefix>_<secret>`: the prefix (8 hex characters) identifies it in listings and
in `keys revoke`; the secret is 32 random bytes. Only `key_hash`, the SHA-256 of the whole key
(hex), is stored. A fast hash is right here, unlike for passwords: the key carries 256 bits of
randomness, so there is nothing to guess by brute force, and a slow hash (bcrypt, argon2)
would only add its cost to every request that presents a key.

`scopes` holds read, write and/or admin (admin implies write implies read; see
hashtag_core.keys.schemas). A key is refused once `revoked_at` is set or `expires_at` has
passed; `last_used_at` is updated at most once a minute per key.

Revision ID: 0005_api_keys
Revises: 0004
Create Date: 2026-11-26
"""

from alembic import op

revision = "0005_api_keys"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = [
    """
    CREATE TABLE api_key (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL CONSTRAINT uq_api_key_name UNIQUE
            CONSTRAINT ck_api_key_name CHECK (length(name) BETWEEN 1 AND 64 AND name = btrim(name)),
        prefix text NOT NULL CONSTRAINT uq_api_key_prefix UNIQUE
            CONSTRAINT ck_api_key_prefix CHECK (prefix ~ '^hk_[0-9a-f]{8}$'),
        key_hash text NOT NULL CONSTRAINT uq_api_key_hash UNIQUE
            CONSTRAINT ck_api_key_hash CHECK (key_hash ~ '^[0-9a-f]{64}$'),
        scopes text[] NOT NULL CONSTRAINT ck_api_key_scopes CHECK (
            cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'admin']::text[]
        ),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz
    )
    """,
]

DOWNGRADE = ["DROP TABLE api_key"]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
