"""Column helpers shared by the table models."""

from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, func

__all__ = ["count_column", "created_column", "tz_column"]


def count_column(name: str) -> Any:
    """A nullable non-negative count: NULL means the platform did not report it."""
    return Column(name, BigInteger, nullable=True)


def tz_column(name: str, *, nullable: bool = False) -> Any:
    """A timestamptz column."""
    return Column(name, DateTime(timezone=True), nullable=nullable)


def created_column(name: str = "created_at") -> Any:
    """A timestamptz column that defaults to the transaction time."""
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())
