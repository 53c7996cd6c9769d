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

import re
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from operator import ne, sub
from pathlib import Path

from crypto_bot_core.builtins.replay.config import timeframe_of
from crypto_bot_core.builtins.replay.parsing import block_rows, split_cells
from crypto_bot_core.builtins.replay.reading import TextBlock, open_reader
from crypto_bot_core.builtins.replay.validation import (
    EARLIEST_MS,
    OHLCV_COLUMNS,
    RowError,
    iso,
    parse_timestamp,
)


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


_LEADING_STAMP = re.compile(r"\n(\d+),")
"""A timestamp opening a line (searched in the block with a line break put before it: a
literal first character lets the regular expression engine skip ahead, twice as fast as ``^``
in multiline mode)."""


def _fast_stamps(block: TextBlock, column: int, width: int) -> list[int] | None:
    """A plain block's timestamps without splitting every cell, or None (then row by row).

    The usual file has the timestamp first: one regular expression finds them all, and
    the count proves every line had one. Otherwise one split, when every line has the
    header's fields.
    """
    if column == 0:
        found = _LEADING_STAMP.findall("\n" + block.text)
        if len(found) == block.lines:
            return list(map(int, found))
    split = split_cells(block, width)
    if split is None:
        return None
    cells = split[0]
    stamps = cells[column : len(cells) - 1 : width]
    if not all(map(str.isdigit, stamps)):
        return None
    return list(map(int, stamps))


def _timestamps(path: Path, file_format: str) -> array[int]:
    """The file's parseable timestamps in file order (rows that do not parse are left to the
    replay's checks, which refuse them with the row named)."""
    found: array[int] = array("q")
    with open_reader(path, file_format, OHLCV_COLUMNS) as reader:
        header = reader.header
        column = header.indexes[0]
        counter = [0]
        for block in reader.blocks():
            if isinstance(block, TextBlock) and column is not None:
                values = _fast_stamps(block, column, header.width)
                if values is not None and (not values or min(values) >= EARLIEST_MS):
                    found.extend(values)
                    counter[0] += len(values)
                    continue
            for _position, row in block_rows(block, header, counter, strict=False):
                try:
                    found.append(parse_timestamp(row[0]))
                except RowError:
                    continue
    return found


def scan_series(files: Sequence[tuple[Path, str]], interval_ms: int | None = None) -> SeriesScan:
    """Scan ``files`` ((path, format), in series order) as one series of bars.

    Gaps are counted against ``interval_ms`` when given, else against the most
    common spacing. Steps that are not a positive multiple of it (rows out of
    order, duplicates, bars off the grid) are not gaps: the replay refuses them.
    Every per-row step runs in C (``map``, ``compress``): a million bars take a second.
    """
    scan = SeriesScan()
    steps: Counter[int] = Counter()
    series: list[tuple[Path, array[int], list[int]]] = []
    previous: int | None = None
    for path, file_format in files:
        stamps = _timestamps(path, file_format)
        if not stamps:
            scan.empty_files.append(path)
            continue
        scan.rows += len(stamps)
        # The step into each row from the one before it (across files too).
        first = [] if previous is None else [stamps[0] - previous]
        diffs = first + list(map(sub, stamps[1:], stamps[:-1]))
        series.append((path, stamps, diffs))
        steps.update(diffs)
        previous = stamps[-1]
    positive = [(count, step) for step, count in steps.items() if step > 0]
    if positive:
        top = max(count for count, _ in positive)
        scan.spacing_ms = min(step for count, step in positive if count == top)
    scan.interval_ms = interval_ms or scan.spacing_ms
    interval = scan.interval_ms
    if interval is None:
        return scan
    carried = False  # whether the file's first step comes from the previous file
    for path, stamps, diffs in series:
        offset = 0 if carried else 1  # diffs[i] is the step into stamps[i + offset]
        for index in compress(count(), map(ne, diffs, repeat(interval))):
            step = diffs[index]
            if step > interval and step % interval == 0:
                at = stamps[index + offset]
                scan.gaps.append(Gap(path, at - step, at, step // interval - 1))
        carried = True
    return scan
