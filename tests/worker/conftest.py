"""Fixtures of the worker tests."""

from collections.abc import Iterator

import pytest

from tests.worker.collection_rig import make_rig
from tests.worker.smtp import Inbox, smtp_inbox

__all__ = ["make_rig", "smtp_server"]


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    """A real SMTP server on a loopback port, keeping the messages it receives."""
    with smtp_inbox() as inbox:
        yield inbox
