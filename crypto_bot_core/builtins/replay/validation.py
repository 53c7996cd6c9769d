"""Row-by-row checks of replayed data; every refusal names the file and the row.

A backtest on silently broken data gives confident wrong answers, so the
replay refuses what a careful analyst would: rows out of time order,
repeated rows, missing bars, NaN or empty values, non-positive prices and
candles whose high/low do not bracket their open/close. One checker follows
one series across all of its files, so the boundary between two monthly files
is checked like any other pair of rows.

These checks are the reference: the block parser in ``parsing.py`` accepts a
block of plain rows only when it can prove in bulk that every row would pass
them, and otherwise runs the block through here, so every refusal carries the
message written below. The increments an instrument infers from the data are
tracked apart, by :class:`Precision`, in a pass of their own before the
stream starts (``instruments()`` must answer before the first event).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from crypto_bot_core.builtins.replay.reading import RowPosition
from crypto_bot_sdk import DataSourceError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
EARLIEST_MS = 946_684_800_000  # 2000-01-01: anything earlier is a seconds/ms mix-up
MAX_PRICE = Decimal("1e30")
"""The largest price accepted: far above any market's (and room for 30 exact digits), far
below what becomes an infinite float: ``1e400`` parses as a Decimal and used to fail only
later, in some indicator, with no row named."""
MAX_AMOUNT = Decimal("1e30")
"""The largest volume or trade amount accepted, on the same grounds."""
_DIGITS = re.compile(r"^\d+$")

OHLCV_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
TRADE_COLUMNS = ("timestamp", "id", "side", "price", "amount")
TRADE_OPTIONAL = ("symbol",)

OhlcvRecord = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]
TradeRecord = tuple[int, str, str, Decimal, Decimal]


class RowError(ValueError):
    """A problem with one row; the checker adds the file and the row's position."""


def iso(ts_ms: int) -> str:
    return (EPOCH + ts_ms * MS).isoformat().replace("+00:00", "Z")


def parse_decimal(value: object, column: str) -> Decimal:
    """A cell as an exact Decimal: text is parsed as written, floats by their shortest repr."""
    if type(value) is str:  # the CSV case, first: one parse and one finiteness test per cell
        try:
            number = Decimal(value)
        except InvalidOperation:
            if not value.strip():
                raise RowError(f"{column} is empty") from None
            raise RowError(f"{column} {value!r} is not a number") from None
    elif value is None:
        raise RowError(f"{column} is empty")
    elif isinstance(value, bool):
        raise RowError(f"{column} is a boolean, not a number")
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        if math.isnan(value):
            raise RowError(f"{column} is NaN")
        number = Decimal(repr(value))
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        raise RowError(f"{column} holds a {type(value).__name__}, not a number")
    if not number.is_finite():
        raise RowError(f"{column} is NaN" if number.is_nan() else f"{column} is infinite")
    return number


def parse_timestamp(value: object) -> int:
    """Milliseconds since the epoch, as ccxt writes them; Parquet timestamps are converted."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # Parquet timestamps without zone are UTC
        ms, rest = divmod(value - EPOCH, MS)
        if rest:
            raise RowError(f"timestamp {value.isoformat()} has a sub-millisecond part")
        ts = int(ms)
    elif isinstance(value, str) and _DIGITS.match(value.strip()):
        ts = int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        ts = value
    elif isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        ts = int(value)
    elif value is None or (isinstance(value, str) and not value.strip()):
        raise RowError("timestamp is empty")
    else:
        raise RowError(
            f"timestamp {value!r} is not a whole number of milliseconds since 1970-01-01 UTC"
        )
    if ts < EARLIEST_MS:
        raise RowError(
            f"timestamp {ts} is before 2000-01-01; ccxt timestamps are milliseconds, not seconds"
        )
    return ts


def _exponent(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def _finer(number: Decimal, step: Decimal) -> bool:
    """True if ``number`` has digits below ``step`` (a power of ten)."""
    try:
        return number != number.quantize(step)
    except InvalidOperation:  # too many digits for the context: look at the exponent instead
        return _exponent(number) < _exponent(step)


def _positive(value: object, column: str, limit: Decimal = MAX_PRICE) -> Decimal:
    number = parse_decimal(value, column)
    if number <= 0:
        raise RowError(f"{column} {number} is not positive; prices and amounts must be > 0")
    return _bounded(number, column, limit)


def _bounded(number: Decimal, column: str, limit: Decimal) -> Decimal:
    if number > limit:
        raise RowError(
            f"{column} {value_text(number)} is out of range (at most {value_text(limit)}); "
            "check the file's number format and units"
        )
    return number


def value_text(number: Decimal) -> str:
    """A number as a person writes it: ``1E+400`` as ``1e400``, ``1E+15`` as ``1e15``."""
    return str(number).replace("E+", "e").replace("E", "e")


@dataclass
class Precision:
    """The finest decimal increments seen in a series: the inferred tick and lot sizes.

    ``finest_price`` and ``finest_size`` are the smallest decimal exponents of
    values that were finer than everything before them, so the inferred tick
    is ``10 ** finest_price``: every replayed price lies on it.
    """

    finest_price: int = 0
    finest_size: int = 0
    _price_step: Decimal = Decimal(1)
    _size_step: Decimal = Decimal(1)

    @property
    def price_digits(self) -> int:
        """Fraction digits of the price increment so far (0 for whole numbers)."""
        return -self.finest_price

    @property
    def size_digits(self) -> int:
        return -self.finest_size

    def note(self, prices: Sequence[Decimal], size: Decimal) -> None:
        # Comparing with a quantized copy is about twice as fast as as_tuple(); the exponent
        # is only looked at when a value is finer than anything seen so far.
        for price in prices:
            if _finer(price, self._price_step):
                self.finest_price = min(self.finest_price, _exponent(price))
                self._price_step = Decimal(1).scaleb(self.finest_price)
        if _finer(size, self._size_step):
            self.finest_size = min(self.finest_size, _exponent(size))
            self._size_step = Decimal(1).scaleb(self.finest_size)


@dataclass
class SeriesChecker:
    """Checks one series (one symbol, venue and kind) row after row, across its files."""

    path: Path = field(default_factory=Path)
    last_ts: int | None = None
    last_position: RowPosition | None = None
    last_path: Path = field(default_factory=Path)

    def start_file(self, path: Path) -> None:
        self.path = path

    def check(self, position: RowPosition, values: Sequence[object]) -> tuple[Any, ...]:
        """The row as a typed record; raises :class:`DataSourceError` naming file and row."""
        raise NotImplementedError

    def fail(self, position: RowPosition, message: str) -> DataSourceError:
        return DataSourceError(f"{self.path}: {position.describe()}: {message}")

    @property
    def last_where(self) -> str:
        """Where the previous row was, for messages (formatted only when one is needed)."""
        if self.last_position is None:
            return ""
        return f"{self.last_position.describe()} of {self.last_path}"

    def remember(self, ts: int, position: RowPosition) -> None:
        self.last_ts = ts
        self.last_position = position
        self.last_path = self.path


@dataclass
class OhlcvChecker(SeriesChecker):
    interval_ms: int = 60_000
    timeframe: str = "1m"
    allow_gaps: bool = False
    """Missing bars pass (the replay's gaps: skip or carry-forward)."""

    def check(self, position: RowPosition, values: Sequence[object]) -> OhlcvRecord:
        try:
            ts = parse_timestamp(values[0])
            o, h, low, c = (
                _positive(v, n) for v, n in zip(values[1:5], OHLCV_COLUMNS[1:5], strict=True)
            )
            volume = parse_decimal(values[5], "volume")
            if volume < 0:
                raise RowError(f"volume {volume} is negative")
            _bounded(volume, "volume", MAX_AMOUNT)
            if low > min(o, c) or h < max(o, c):
                raise RowError(
                    f"low {low} and high {h} must bracket open {o} and close {c} "
                    "(low <= open, close <= high)"
                )
            self._check_order(ts)
        except RowError as exc:
            raise self.fail(position, str(exc)) from None
        self.remember(ts, position)
        return ts, o, h, low, c, volume

    def _check_order(self, ts: int) -> None:
        if self.last_ts is None:
            return
        step = ts - self.last_ts
        if step == self.interval_ms:
            return  # the normal case; the messages below are built only for a problem
        previous = f"the previous row's {self.last_ts} ({iso(self.last_ts)}, {self.last_where})"
        if step < 0:
            raise RowError(
                f"timestamp {ts} ({iso(ts)}) is earlier than {previous}; rows must be sorted "
                "oldest first"
            )
        if step == 0:
            raise RowError(f"timestamp {ts} ({iso(ts)}) duplicates {previous}")
        if step % self.interval_ms:
            raise RowError(
                f"timestamp {ts} ({iso(ts)}) is {step} ms after {previous}; {self.timeframe} "
                f"bars must be a multiple of {self.interval_ms} ms apart"
            )
        missing = step // self.interval_ms - 1
        if missing and not self.allow_gaps:
            raise RowError(
                f"gap: {missing} {self.timeframe} bar(s) missing between "
                f"{iso(self.last_ts)} and {iso(ts)}; fill them in, or set the replay's "
                "gaps: skip (replay the bars there are) or gaps: carry-forward (a flat bar at "
                "the last close in each missing slot)"
            )


@dataclass
class TradeChecker(SeriesChecker):
    symbol: str = ""
    files: list[Path] = field(default_factory=list)
    # Trade id -> (index into files, data row) of its first appearance; small ints keep a
    # few million ids affordable.
    seen_ids: dict[str, tuple[int, int]] = field(default_factory=dict)

    def start_file(self, path: Path) -> None:
        self.path = path
        self.files.append(path)

    def check(self, position: RowPosition, values: Sequence[object]) -> TradeRecord:
        try:
            ts = parse_timestamp(values[0])
            trade_id = "" if values[1] is None else str(values[1]).strip()
            if not trade_id:
                raise RowError("id is empty; every trade needs its venue trade id")
            side = "" if values[2] is None else str(values[2]).strip()
            if side not in ("buy", "sell"):
                raise RowError(f"side {values[2]!r} must be 'buy' or 'sell'")
            price = _positive(values[3], "price")
            amount = _positive(values[4], "amount", MAX_AMOUNT)
            symbol = values[5]
            if symbol is not None and str(symbol).strip() != self.symbol:
                raise RowError(
                    f"symbol {symbol!r} differs from the file's configured symbol {self.symbol!r}"
                )
            if self.last_ts is not None and ts < self.last_ts:
                raise RowError(
                    f"timestamp {ts} ({iso(ts)}) is earlier than the previous row's "
                    f"{self.last_ts} ({iso(self.last_ts)}, {self.last_where}); rows must be "
                    "sorted oldest first"
                )
            first = self.seen_ids.get(trade_id)
            if first is not None:
                raise RowError(
                    f"trade id {trade_id!r} duplicates the trade at data row {first[1]} of "
                    f"{self.files[first[0]]}"
                )
        except RowError as exc:
            raise self.fail(position, str(exc)) from None
        self.remember(ts, position)
        self.seen_ids[trade_id] = (len(self.files) - 1, position.row)
        return ts, trade_id, side, price, amount
