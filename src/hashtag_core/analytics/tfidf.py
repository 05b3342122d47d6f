"""TF-IDF cosine similarity of short texts (posts) to one query text (a campaign brief).

docs/metrics.md, "Campaign plans": a text's terms are its runs of two or more letters, digits
or underscores, lower-cased (a hashtag counts as its word: `#LEGO` -> `lego`). Over the corpus
of N texts, a term in df of them has ``idf = ln((1 + N) / (1 + df)) + 1`` (the smoothed form:
a term in every text still weighs 1); a text's weight for a term is its count times the idf,
and the query is weighed with the corpus' idf (terms the corpus lacks drop out). Similarity is
the cosine of the two weight vectors: 0 when no term is shared, 1 for the same mix of terms.
"""

import polars as pl

__all__ = ["TERM_PATTERN", "SIMILARITY_SCHEMA", "similarity", "terms"]

#: A term: two or more letters, digits or underscores (any script).
TERM_PATTERN = r"[\p{L}\p{N}_]{2,}"
SIMILARITY_SCHEMA = pl.Schema({"doc_id": pl.Int64, "similarity": pl.Float64})


def terms(text: pl.Expr) -> pl.Expr:
    """The list of a text's terms, lower-cased, in order (repeats kept)."""
    return text.str.to_lowercase().str.extract_all(TERM_PATTERN)


def _counts(frame: pl.LazyFrame) -> pl.LazyFrame:
    """(doc_id, term, tf) from (doc_id, text)."""
    return (
        frame.select("doc_id", term=terms(pl.col("text")))
        .explode("term")
        .drop_nulls("term")
        .group_by("doc_id", "term")
        .agg(tf=pl.len().cast(pl.Float64))
    )


def similarity(docs: pl.LazyFrame, query: str) -> pl.LazyFrame:
    """Cosine similarity of each text of ``docs`` (doc_id Int64, text String) to ``query``
    under the corpus' TF-IDF weights; only texts sharing a term (similarity > 0), most
    similar first (ties by doc_id), SIMILARITY_SCHEMA."""
    counts = _counts(docs)
    size = docs.select(pl.len().cast(pl.Float64).alias("n"))
    idf = (
        counts.group_by("term")
        .agg(df=pl.len().cast(pl.Float64))
        .join(size, how="cross")
        .select("term", idf=((1.0 + pl.col("n")) / (1.0 + pl.col("df"))).log() + 1.0)
    )
    weights = counts.join(idf, on="term").with_columns(w=pl.col("tf") * pl.col("idf"))
    norms = weights.group_by("doc_id").agg(norm=(pl.col("w") ** 2).sum().sqrt())
    asked = (
        _counts(pl.LazyFrame({"doc_id": [0], "text": [query]}))
        .join(idf, on="term")
        .select("term", q=pl.col("tf") * pl.col("idf"))
    )
    q_norm = asked.select(q_norm=(pl.col("q") ** 2).sum().sqrt())
    return (
        weights.join(asked, on="term")
        .group_by("doc_id")
        .agg(dot=(pl.col("w") * pl.col("q")).sum())
        .join(norms, on="doc_id")
        .join(q_norm, how="cross")
        .select(
            pl.col("doc_id").cast(pl.Int64),
            similarity=pl.col("dot") / (pl.col("norm") * pl.col("q_norm")),
        )
        .filter(pl.col("similarity") > 0)
        .sort(["similarity", "doc_id"], descending=[True, False])
    )
