"""Log lines: JSON objects or text, with the bound request/job context, secrets redacted."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from hashtag_core.config import Settings
from hashtag_core.logging import (
    REDACTED,
    RedactSecrets,
    configure_logging,
    current_request_id,
    log_context,
    secrets_of,
)
from tests.logs import captured_logs

API_KEY = "api-key-0123456789"
TOKEN = "EAAB-platform-token-42"
DB_PASSWORD = "pg-pass-w0rd"
REDIS_PASSWORD = "redis-pass-99"


def _settings(**overrides) -> Settings:
    return Settings(
        api_keys=f"{API_KEY},short",
        platform_tokens={"brand": TOKEN},
        database_url=f"postgresql://svc:{DB_PASSWORD}@db.example:5432/hashtags",
        redis_url=f"redis://:{REDIS_PASSWORD}@cache.example:6379/0",
        **overrides,
    )


@pytest.fixture
def logs() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    """JSON logs of _settings() into a buffer; the logging setup is restored afterwards."""
    with captured_logs(_settings(log_format="json", log_level="DEBUG")) as stream:
        yield stream, logging.getLogger("tests.logging")


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """The test's own lines (asyncio and others may log at DEBUG too)."""
    found = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in found if line["logger"].startswith(("tests.", "uvicorn"))]


class TestJsonLines:
    def test_one_object_per_record_with_context_and_extras(self, logs):
        stream, log = logs
        log.info("outside")
        with log_context(request_id="r-1"), log_context(job="recompute", job_id="recompute:3"):
            log.warning("inside %s", "job", extra={"rows": 12})
        first, second = _lines(stream)

        assert first["message"] == "outside"
        assert first["request_id"] is None
        assert "job" not in first
        assert second == {
            "time": second["time"],
            "level": "WARNING",
            "logger": "tests.logging",
            "message": "inside job",
            "request_id": "r-1",
            "job": "recompute",
            "job_id": "recompute:3",
            "rows": 12,
        }
        assert second["time"].endswith("Z")

    def test_a_traceback_is_one_field_of_the_line(self, logs):
        stream, log = logs
        try:
            raise RuntimeError("broken")
        except RuntimeError:
            log.exception("failed")
        (line,) = _lines(stream)
        assert line["level"] == "ERROR"
        assert "RuntimeError: broken" in line["exception"]

    async def test_context_follows_tasks_and_threads_but_not_siblings(self, logs):
        stream, log = logs
        seen: dict[str, str | None] = {}

        async def request(rid: str) -> None:
            with log_context(request_id=rid):
                await asyncio.sleep(0)
                seen[rid] = await asyncio.to_thread(current_request_id)
                log.info("handled")

        await asyncio.gather(request("a"), request("b"))
        assert seen == {"a": "a", "b": "b"}
        assert sorted(line["request_id"] for line in _lines(stream)) == ["a", "b"]
        assert current_request_id() is None


class TestRedaction:
    def test_settings_secrets_are_collected(self):
        found = set(secrets_of(_settings()))
        assert {API_KEY, TOKEN, DB_PASSWORD, REDIS_PASSWORD} <= found

    def test_no_secret_reaches_the_output(self, logs):
        stream, log = logs
        log.info("key %s and token %s", API_KEY, TOKEN)
        log.info("connecting to %s", _settings().database_url, extra={"url": _settings().redis_url})
        log.info("GET https://graph.example/v22.0/me?fields=id&access_token=unconfigured-123")
        log.info("sent Authorization: Bearer another-unknown-key")
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            log.exception("job failed")

        text = stream.getvalue()
        for secret in (API_KEY, TOKEN, DB_PASSWORD, REDIS_PASSWORD, "unconfigured-123"):
            assert secret not in text
        assert "another-unknown-key" not in text
        assert text.count(REDACTED) >= 7
        assert "access_token=[REDACTED]" in text
        assert "svc:[REDACTED]@db.example" in text

    def test_short_values_and_ordinary_words_are_left_alone(self):
        redact = RedactSecrets(["short", API_KEY]).redact
        assert redact("a short token_ref 'brand' is not configured") == (
            "a short token_ref 'brand' is not configured"
        )
        assert redact("Error validating access token: Session has expired") == (
            "Error validating access token: Session has expired"
        )
        assert redact(f"x{API_KEY}x") == f"x{REDACTED}x"


class TestFormats:
    def test_text_lines_carry_the_context(self):
        with (
            captured_logs(_settings(log_format="text")) as stream,
            log_context(request_id="r-9", job="collect_account"),
        ):
            logging.getLogger("tests.text").info("token %s used", TOKEN)
        line = stream.getvalue().strip()
        assert line.endswith(
            f"INFO    tests.text: token {REDACTED} used [request_id=r-9 job=collect_account]"
        )

    @pytest.mark.parametrize(
        ("env", "configured", "expected"),
        [
            ("production", None, "json"),
            ("development", None, "text"),
            ("production", "text", "text"),
            ("development", "json", "json"),
        ],
    )
    def test_format_defaults_to_json_in_production(self, env, configured, expected):
        settings = Settings(env=env, log_format=configured)
        assert settings.effective_log_format == expected

    def test_configuring_twice_keeps_one_handler_and_routes_uvicorn_through_it(self):
        root = logging.getLogger()
        with captured_logs(_settings(log_format="json")) as first_stream:
            first = root.handlers[-1]
            stream = io.StringIO()
            second = configure_logging(_settings(log_format="json"), stream=stream)
            assert first not in root.handlers
            assert second in root.handlers
            logging.getLogger("uvicorn.error").warning("Started server process")
            # The API writes its own access lines (with the request id); uvicorn's are off.
            assert not logging.getLogger("uvicorn.access").hasHandlers()
        assert [line["logger"] for line in _lines(stream)] == ["uvicorn.error"]
        assert first_stream.getvalue() == ""
        assert second not in root.handlers


def test_chatty_libraries_show_only_warnings_and_keep_their_levels(logs):
    stream, _ = logs
    before = logging.getLogger("httpx").level
    logging.getLogger("httpx").info("HTTP Request: GET http://example/ 200")
    logging.getLogger("httpcore.connection").debug("connect_tcp.started")
    logging.getLogger("httpx").warning("retrying")
    found = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in found] == [("httpx", "retrying")]
    assert logging.getLogger("httpx").level == before


class TestForging:
    """Input that reaches a log line (a path, a header) cannot start a line of its own."""

    FORGED = "x\n2026-12-07 01:00:00,000 ERROR FORGED\r\x1b[2J\u2028end"

    def test_text_lines_escape_control_characters(self):
        with (
            captured_logs(_settings(log_format="text")) as stream,
            log_context(request_id="r\nid"),
        ):
            logging.getLogger("tests.forge").info("GET /hashtags/%s 404", self.FORGED)
        [line] = stream.getvalue().splitlines()
        assert "\\n2026-12-07 01:00:00,000 ERROR FORGED\\r\\x1b[2J\\u2028end 404" in line
        assert line.endswith("[request_id=r\\nid]")

    def test_a_traceback_cannot_pass_for_a_record(self):
        with captured_logs(_settings(log_format="text")) as stream:
            try:
                raise ValueError(self.FORGED)
            except ValueError:
                logging.getLogger("tests.forge").exception("failed")
        first, *rest = stream.getvalue().rstrip("\n").split("\n")
        assert first.endswith("failed")
        assert rest
        assert all(line.startswith("    ") for line in rest)

    def test_json_lines_stay_one_object(self):
        with captured_logs(_settings(log_format="json")) as stream:
            logging.getLogger("tests.forge").info("%s", self.FORGED)
        [line] = stream.getvalue().splitlines()
        assert json.loads(line)["message"] == self.FORGED
