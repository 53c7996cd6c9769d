"""The DefiLlama answers this source reads, validated into plain (time, value) series.

The shapes, as the public API serves them:

* ``GET /tvl/{protocol}``: a bare JSON number, the protocol's current TVL in USD;
* ``GET /protocol/{protocol}``: an object whose ``tvl`` is a list of
  ``{"date": <unix seconds>, "totalLiquidityUSD": <number>}`` and whose
  ``chainTvls`` maps a chain (or a category such as ``"borrowed"`` or
  ``"Ethereum-staking"``) to ``{"tvl": [...same points...], ...}``;
  ``currentChainTvls`` maps the same keys to current numbers;
* ``GET /v2/historicalChainTvl/{chain}``: a list of ``{"date": <unix seconds>, "tvl": <number>}``;
* ``GET /v2/chains``: a list of ``{"name": ..., "tvl": <number>, "gecko_id": ..., ...}``.

Fields this source does not use are ignored, so additions to the API do not
break it; a missing or mistyped field it does use is a ``DataSourceError``
that names the URL and the exact place in the payload.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from crypto_bot_sdk import DataSourceError

# Strict: "12.5" (a string) or true is a malformed payload, not a number; NaN never passes.
Usd = Annotated[StrictFloat, Field(allow_inf_nan=False)]
Series = list[tuple[datetime, float]]
T = TypeVar("T")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _ProtocolPoint(_Payload):
    date: StrictInt
    totalLiquidityUSD: Usd


class _ChainSeries(_Payload):
    tvl: list[_ProtocolPoint]


class _Protocol(_Payload):
    name: str
    tvl: list[_ProtocolPoint]
    chainTvls: dict[str, _ChainSeries] = Field(default_factory=dict)
    currentChainTvls: dict[str, Usd] = Field(default_factory=dict)


class _ChainPoint(_Payload):
    date: StrictInt
    tvl: Usd


class _Chain(_Payload):
    name: str
    tvl: Usd


_CURRENT = TypeAdapter(Usd)
_PROTOCOL = TypeAdapter(_Protocol)
_CHAIN_HISTORY = TypeAdapter(list[_ChainPoint])
_CHAINS = TypeAdapter(list[_Chain])


def _validate(adapter: TypeAdapter[T], payload: Any, url: str, expected: str) -> T:
    try:
        return adapter.validate_python(payload)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
        )
        raise DataSourceError(
            f"GET {url}: malformed payload at {('payload' + where)!r}: {first['msg']} "
            f"(got {_short(first.get('input'))}); expected {expected}"
        ) from exc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _series(points: list[_ProtocolPoint] | list[_ChainPoint]) -> Series:
    """Sorted by time, one value per timestamp (the API repeats its latest point at times)."""
    by_ts: dict[datetime, float] = {}
    for point in points:
        value = point.totalLiquidityUSD if isinstance(point, _ProtocolPoint) else point.tvl
        by_ts[_utc(point.date)] = float(value)
    return sorted(by_ts.items())


def current_tvl(payload: Any, url: str) -> float:
    """``/tvl/{protocol}``: the bare number."""
    return float(_validate(_CURRENT, payload, url, "a number (the current TVL in USD)"))


class ProtocolTvl:
    """``/protocol/{protocol}`` reduced to what this source emits."""

    def __init__(self, payload: Any, url: str) -> None:
        parsed = _validate(
            _PROTOCOL,
            payload,
            url,
            "an object with 'name' and 'tvl': [{'date': <unix seconds>, "
            "'totalLiquidityUSD': <number>}, ...]",
        )
        self.name = parsed.name
        self.total: Series = _series(parsed.tvl)
        self._chains = parsed.chainTvls
        self._current = parsed.currentChainTvls
        self._url = url

    def chain_series(self, chain: str) -> Series:
        """History of the protocol's TVL on ``chain``; empty if it is not deployed there."""
        found = self._chains.get(chain)
        return _series(found.tvl) if found is not None else []

    def current_on(self, chain: str) -> float | None:
        value = self._current.get(chain)
        return None if value is None else float(value)


def chain_history(payload: Any, url: str) -> Series:
    """``/v2/historicalChainTvl/{chain}``."""
    return _series(
        _validate(
            _CHAIN_HISTORY, payload, url, "a list of {'date': <unix seconds>, 'tvl': <number>}"
        )
    )


def chains_current(payload: Any, url: str) -> dict[str, float]:
    """``/v2/chains``: current TVL by chain name."""
    chains = _validate(_CHAINS, payload, url, "a list of {'name': <str>, 'tvl': <number>, ...}")
    return {chain.name: float(chain.tvl) for chain in chains}
