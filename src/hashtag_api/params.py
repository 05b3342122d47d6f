"""Parameter types the routers share."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from hashtag_core.bounds import check_instant

__all__ = ["IsoDate", "IsoDateTime"]

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _not_a_number(value: object) -> object:
    # pydantic would read "20250601" as seconds since 1970; a compact date must not silently
    # become a day in August 1970.
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        raise ValueError("must be ISO 8601 (e.g. 2025-06-01 or 2025-06-01T12:00:00Z), not a number")
    return value


#: A date-time written in ISO 8601, as the OpenAPI document says (`format: date-time`).
#: An instant that converts to UTC (years 1 to 9999 there): PostgreSQL gets it as one.
IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(check_instant)]
#: A calendar date written in ISO 8601 (`format: date`).
IsoDate = Annotated[date, BeforeValidator(_not_a_number)]
