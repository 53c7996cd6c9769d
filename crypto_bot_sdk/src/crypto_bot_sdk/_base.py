"""Shared building blocks of the domain models: immutability, UTC time and exact money.

Every model is frozen and rejects unknown fields, so an object that passed
validation stays valid and a typo in a field name is an error, not a silently
ignored value. Money is ``Decimal``: floats never reach an order, a fill, the
ledger or a report (DESIGN rule 7); JSON carries decimals as strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer


class FrozenModel(BaseModel):
    """Base of all SDK models: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"timestamp {value.isoformat()} has no time zone; pass an aware datetime "
            "(for example datetime(..., tzinfo=UTC))"
        )
    return value.astimezone(UTC)


def _no_float(value: Any) -> Any:
    # Floats carry binary rounding error (0.1 is not 1/10); go through repr so the
    # shortest round-tripping decimal is used, never the float's exact binary value.
    if isinstance(value, float):
        return repr(value)
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]
"""A timezone-aware timestamp, normalised to UTC."""

_decimal_as_str = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")

Money = Annotated[
    Decimal, BeforeValidator(_no_float), Field(allow_inf_nan=False), _decimal_as_str
]
"""An exact amount (price, quantity, fee, balance): finite, serialised as a string."""

PositiveMoney = Annotated[
    Decimal, BeforeValidator(_no_float), Field(gt=0, allow_inf_nan=False), _decimal_as_str
]
NonNegativeMoney = Annotated[
    Decimal, BeforeValidator(_no_float), Field(ge=0, allow_inf_nan=False), _decimal_as_str
]
