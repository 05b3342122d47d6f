"""Period change: a date range against the period of the same length before it."""
