"""Output, logging and error handling shared by the commands.

Results go to stdout (`console`), logs, progress bars and errors to stderr (`err_console`).
A command fails by raising `CliError`; `guard()` turns it, and the usual operational errors
(unreachable server, SQL error, unreadable file), into one line on stderr and an exit code:
1 for failures, 2 for usage errors.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from alembic.util.exc import CommandError as AlembicCommandError
from redis.exceptions import RedisError
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from hashtag_core.config import Settings
from hashtag_core.errors import HashtagError
from hashtag_core.logging import configure_logging

__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "CliError", "console", "err_console", "guard", "setup"]

EXIT_FAILURE = 1
EXIT_USAGE = 2

logger = logging.getLogger(__name__)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


class CliError(Exception):
    """A failure to report in one line, with the exit code to leave with."""

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


def setup(settings: Settings) -> None:
    """Log to stderr at HASHTAG_LOG_LEVEL in HASHTAG_LOG_FORMAT (see hashtag_core.logging):
    JSON lines, or text (rich on a terminal, plain lines otherwise), secrets redacted."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) as pgserver is
    # imported; it falls back to /tmp, which is fine for the embedded PostgreSQL's socket.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    handler: logging.Handler | None = None
    if settings.effective_log_format == "text" and err_console.is_terminal:
        handler = RichHandler(console=err_console, show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
    configure_logging(settings, handler=handler)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


@contextmanager
def guard() -> Iterator[None]:
    """Report failures as `error: <one line>` and exit non-zero instead of a traceback."""
    try:
        yield
    except CliError as exc:
        _fail(exc.message, exc.exit_code)
    except HashtagError as exc:  # not found, conflict, invalid input: the service's message
        _fail(_first_line(exc), EXIT_FAILURE)
    except (SQLAlchemyError, RedisError, OSError) as exc:
        orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
        _fail(f"{type(orig).__name__}: {_first_line(orig)}", EXIT_FAILURE)
    except ValueError as exc:
        _fail(_first_line(exc), EXIT_FAILURE)
    except AlembicCommandError as exc:  # no such revision, an ambiguous prefix, ...
        _fail(f"migration: {_first_line(exc)}", EXIT_FAILURE)


def _fail(message: str, exit_code: int) -> None:
    logger.debug("failure details", exc_info=True)
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(exit_code)
