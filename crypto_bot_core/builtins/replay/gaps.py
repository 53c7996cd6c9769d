"""What a series of OHLCV files looks like before it is replayed: its bar spacing and its gaps.

Real exchange data has holes (an outage, a delisting pause), and a file's
name does not always say its timeframe. :func:`scan_series` reads only the
timestamps of a series' files, in order, and answers the most common
spacing between consecutive rows (the timeframe the files were saved at)
and every run of missing bars against the interval it is given (or that
spacing): how many, the largest, where. ``cryptobot backtest`` reports it
and lets the user choose to refuse, skip or carry forward; the replay's
row checks stay the reference for everything else (rows out of order,
duplicates, bad values are refused there, with their own messages).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from crypto_bot_core.builtins.replay.config import timeframe_of
from crypto_bot_core.builtins.replay.parsing import block_rows
from crypto_bot_core.builtins.replay.reading import open_reader
from crypto_bot_core.builtins.replay.validation import OHLCV_COLUMNS, RowError, iso, parse_timestamp


@dataclass(frozen=True)
class Gap:
    """Bars missing between two consecutive rows of a series."""

    path: Path
    """The file of the row after the gap."""
    after_ms: int
    before_ms: int
    missing: int

    def describe(self, timeframe: str) -> str:
        return (
            f"{self.missing:,} {timeframe} bar(s) between {iso(self.after_ms)} and "
            f"{iso(self.before_ms)} ({self.path})"
        )


@dataclass
class SeriesScan:
    """The timestamps of one series: rows, spacing and the gaps against ``interval_ms``."""

    rows: int = 0
    spacing_ms: int | None = None
    """The most common step between consecutive rows (ties: the smallest); None under 2 rows."""
    interval_ms: int | None = None
    """The interval gaps are counted against: the one asked for, else ``spacing_ms``."""
    gaps: list[Gap] = field(default_factory=list)
    empty_files: list[Path] = field(default_factory=list)

    @property
    def timeframe(self) -> str | None:
        """``spacing_ms`` as a timeframe (``"30m"``); None when no timeframe spells it."""
        return None if self.spacing_ms is None else timeframe_of(self.spacing_ms)

    @property
    def missing(self) -> int:
        return sum(gap.missing for gap in self.gaps)

    @property
    def largest(self) -> Gap | None:
        return max(self.gaps, key=lambda gap: gap.missing, default=None)

    def report(self, timeframe: str) -> str:
        """One line: how many gaps, how many bars missing, the largest and where."""
        largest = self.largest
        if largest is None:
            return f"no gaps in {self.rows:,} {timeframe} bars"
        return (
            f"{len(self.gaps):,} gap(s), {self.missing:,} {timeframe} bar(s) missing in "
            f"{self.rows:,} rows; the largest: {largest.describe(timeframe)}; the first: "
            f"{self.gaps[0].describe(timeframe)}"
        )


def _timestamps(path: Path, file_format: str) -> array[int]:
    """The file's parseable timestamps in file order (rows that do not parse are left to the
    replay's checks, which refuse them with the row named)."""
    found: array[int] = array("q")
    with open_reader(path, file_format, OHLCV_COLUMNS) as reader:
        counter = [0]
        for block in reader.blocks():
            for _position, values in block_rows(block, reader.header, counter, strict=False):
                try:
                    found.append(parse_timestamp(values[0]))
                except RowError:
                    continue
    return found


def scan_series(files: Sequence[tuple[Path, str]], interval_ms: int | None = None) -> SeriesScan:
    """Scan ``files`` ((path, format), in series order) as one series of bars.

    Gaps are counted against ``interval_ms`` when given, else against the most
    common spacing. Steps that are not a positive multiple of it (rows out of
    order, duplicates, bars off the grid) are not gaps: the replay refuses them.
    """
    scan = SeriesScan()
    steps: Counter[int] = Counter()
    series: list[tuple[Path, array[int]]] = []
    previous: int | None = None
    for path, file_format in files:
        stamps = _timestamps(path, file_format)
        if not stamps:
            scan.empty_files.append(path)
            continue
        series.append((path, stamps))
        scan.rows += len(stamps)
        if previous is not None:
            steps[stamps[0] - previous] += 1
        steps.update(b - a for a, b in pairwise(stamps))
        previous = stamps[-1]
    positive = [(count, step) for step, count in steps.items() if step > 0]
    if positive:
        top = max(count for count, _ in positive)
        scan.spacing_ms = min(step for count, step in positive if count == top)
    scan.interval_ms = interval_ms or scan.spacing_ms
    interval = scan.interval_ms
    if interval is None:
        return scan
    previous = None
    for path, stamps in series:
        for stamp in stamps:
            if previous is not None:
                step = stamp - previous
                if step > interval and step % interval == 0:
                    scan.gaps.append(Gap(path, previous, stamp, step // interval - 1))
            previous = stamp
    return scan
