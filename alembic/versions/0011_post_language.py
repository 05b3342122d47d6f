"""Language per post; sentiment only in the languages a validated scorer reads.

- `post.language`: the text's language (hashtag_core.language: an ISO 639-1 code, or
  'unknown'). NOT NULL; the default 'unknown' only covers rows written by code that predates
  this revision.
- Existing posts are backfilled here, on upgrade, in batches of `_BATCH` posts by id: their
  language is detected and their sentiment re-scored (`hashtag_core.sentiment.score_posts`),
  so a Danish post gets its AFINN score and a Japanese one, which VADER scored 0, NULL
  ("not scored"). About 0.1 ms per post (one core): a minute or two per million posts.
- `hashtag_language`: posts per language per (scope, window, hashtag), and how many carry a
  score; it is filled by the next full recompute, which the data-version bump below asks for
  (the sentiment figures are recomputed by the same pass). It has the read-cache trigger of
  0008 like every other aggregate table.

Revision ID: 0011_post_language
Revises: 0010_first_comment_hashtags
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from hashtag_core.language import detect_languages
from hashtag_core.sentiment import score_posts

revision = "0011_post_language"
down_revision = "0010_first_comment_hashtags"
branch_labels = None
depends_on = None

_BATCH = 5000

_READ = sa.text("SELECT id, text FROM post WHERE id > :after ORDER BY id LIMIT :limit")
_WRITE = sa.text(
    "UPDATE post SET language = u.language, sentiment = u.sentiment "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:languages AS text[]), "
    "CAST(:scores AS double precision[])) AS u(id, language, sentiment) WHERE post.id = u.id"
)


def _backfill() -> None:
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(_READ, {"after": after, "limit": _BATCH}).all()
        if not rows:
            return
        texts = [row.text for row in rows]
        languages = detect_languages(texts)
        scores = score_posts(texts, languages)
        ids = [row.id for row in rows]
        bind.execute(_WRITE, {"ids": ids, "languages": languages, "scores": scores})
        after = ids[-1]


def upgrade() -> None:
    op.execute("ALTER TABLE post ADD COLUMN language text NOT NULL DEFAULT 'unknown'")
    _backfill()
    op.execute(
        """
        CREATE TABLE hashtag_language (
            platform text NOT NULL,
            account_id bigint NOT NULL,
            "window" text NOT NULL,
            hashtag_id bigint NOT NULL,
            language text NOT NULL,
            posts bigint NOT NULL,
            scored_posts bigint NOT NULL,
            PRIMARY KEY (platform, account_id, "window", hashtag_id, language)
        )"""
    )
    op.execute(
        "CREATE TRIGGER hashtag_language_read_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON hashtag_language FOR EACH STATEMENT EXECUTE FUNCTION hashtag_read_cache_notify()"
    )
    op.execute("UPDATE data_version SET version = version + 1 WHERE id = 1")


def downgrade() -> None:
    op.execute("DROP TABLE hashtag_language")
    op.execute("ALTER TABLE post DROP COLUMN language")
