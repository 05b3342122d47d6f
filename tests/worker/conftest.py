"""Fixtures of the worker tests."""

from tests.worker.collection_rig import make_rig

__all__ = ["make_rig"]
