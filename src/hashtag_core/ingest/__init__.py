"""Getting posts in: record schema, parsers for NDJSON/CSV/JSON, dataset mappings."""
