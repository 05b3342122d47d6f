"""Capturing what `configure_logging` writes, without leaving the logging setup changed."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from hashtag_core.config import Settings
from hashtag_core.logging import QUIET_LOGGERS, configure_logging

__all__ = ["captured_logs"]

_TOUCHED = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


@contextmanager
def captured_logs(settings: Settings, *, loud: tuple[str, ...] = ()) -> Iterator[io.StringIO]:
    """The logs of `settings` in a buffer, with the `loud` loggers not quietened. Everything
    configure_logging changes (root level, handlers, propagation) is restored afterwards, so
    that later tests (caplog included) see the logging they expect."""
    loggers = [logging.getLogger(name or None) for name in _TOUCHED]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    stream = io.StringIO()
    quiet = [name for name in QUIET_LOGGERS if name not in loud]
    configure_logging(settings, stream=stream, quiet=quiet)
    try:
        yield stream
    finally:
        for lg, level, handlers, propagate in saved:
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate
