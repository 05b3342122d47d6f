"""Pure polars analytics over the frames in `frames` (no I/O, no clock)."""
