"""The CLI tests' shared fixtures (defined beside the tests that introduced them)."""

from tests.cli.test_cli import _restore_logging, cli_env

__all__ = ["_restore_logging", "cli_env"]
