"""The equity curve: one (time, equity) point per processed timestamp, stored compactly.

A million-bar backtest has a million points. Kept as a list of
``(datetime, Decimal)`` tuples that is ~150 MB and a second of object
creation; here times are microseconds since the epoch in an ``array`` and
equities a list in which a flat stretch repeats one ``Decimal`` object, and
the tuples are built only when someone reads them. It reads like the list it
replaces (``curve[-1][1]``, ``for ts, equity in curve``, ``len``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import repeat
from typing import overload

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(ts: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact: no float on the way)."""
    return (ts - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class EquityCurve(Sequence[tuple[datetime, Decimal]]):
    """Equity after each processed timestamp, oldest first."""

    def __init__(self) -> None:
        self._micros = array("q")
        self._values: list[Decimal] = []

    def append(self, point: tuple[datetime, Decimal]) -> None:
        ts, equity = point
        self._micros.append(to_micros(ts))
        self._values.append(equity)

    def extend_micros(self, micros: bytes, values: Iterable[Decimal]) -> None:
        """Append many points at once: ``micros`` is native int64 bytes (``ndarray.tobytes``)."""
        before = len(self._micros)
        self._micros.frombytes(micros)
        self._values.extend(values)
        if len(self._values) != len(self._micros):
            del self._micros[before:]
            del self._values[before:]
            raise ValueError("an equity curve extension needs one value per timestamp")

    def extend_flat(self, micros: bytes, equity: Decimal) -> None:
        """Append a stretch over which equity did not change (one shared object)."""
        self._micros.frombytes(micros)
        self._values.extend(repeat(equity, len(self._micros) - len(self._values)))

    def values(self) -> list[Decimal]:
        """The equities alone (analytics read these without building timestamps)."""
        return self._values

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> tuple[datetime, Decimal]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[datetime, Decimal]]: ...

    def __getitem__(
        self, index: int | slice
    ) -> tuple[datetime, Decimal] | list[tuple[datetime, Decimal]]:
        if isinstance(index, slice):
            return [
                (from_micros(m), v)
                for m, v in zip(self._micros[index], self._values[index], strict=True)
            ]
        return from_micros(self._micros[index]), self._values[index]

    def __iter__(self) -> Iterator[tuple[datetime, Decimal]]:
        for micros, value in zip(self._micros, self._values, strict=True):
            yield from_micros(micros), value
