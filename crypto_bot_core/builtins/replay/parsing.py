"""Blocks of a file into checked chunks, and the increments pass that runs before streaming.

Reading a row with the ``csv`` module, parsing its cells and checking them
one by one costs several microseconds; a million-bar backtest cannot spend
that on its input. An OHLCV :class:`~.reading.TextBlock` is therefore parsed
in bulk: one ``translate`` proves that every line has exactly the header's
number of fields and only digits and dots in them, one ``split`` cuts all
cells, and the checks of ``validation.py`` run as whole-column operations
(``map(int)``, ``map(Decimal)``, ``ts == range(...)``, ``all(map(le, low,
open))``...). Cells with other characters (spaces, exponents, an extra text
column) stay on this path with a finiteness check added, as long as every
line has the header's number of fields. The bulk checks only *accept*: when
one fails, or a line is blank or has another number of fields, the block is
read again row by row through the checkers of ``validation.py``, which raise
the exact message (file, line, data row, column, value, what to do) or accept
rows the bulk path was too strict for. So the fast path changes speed, never
results. Parquet batches of int timestamps and float, string or decimal
columns take the same bulk checks (a float read by its shortest repr).

Instruments must be known before the first event, and with no ``tick_size``
or ``lot_size`` configured they come from the finest decimals in the whole
series. :func:`scan_precision` finds them without parsing numbers: digits are
mapped to ``x`` in one ``translate``, and a regular expression whose literal
prefix is one fraction digit more than the current increment
(``.xxx`` once the tick is 0.01) finds the only places that could refine it;
just those blocks are parsed (rows before them cannot have been finer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate, islice, repeat
from operator import ge, le, lt
from typing import Any, cast

from crypto_bot_core.builtins.replay.chunks import BarChunk, TradeChunk
from crypto_bot_core.builtins.replay.reading import (
    CsvRows,
    Header,
    Reader,
    RowPosition,
    TextBlock,
    ValueRows,
)
from crypto_bot_core.builtins.replay.validation import (
    EARLIEST_MS,
    EPOCH,
    MAX_AMOUNT,
    MAX_PRICE,
    MS,
    OhlcvChecker,
    Precision,
    RowError,
    TradeChecker,
    parse_decimal,
)
from crypto_bot_sdk import DataSourceError, Side

_DROP_NUMERIC = str.maketrans("", "", "0123456789.")
_DIGIT_AS_X = str.maketrans("0123456789", "x" * 10)
_NOT_SEPARATOR = re.compile(r"[^,\n]+")
_SKELETONS: dict[tuple[int, int], str] = {}


def _skeleton(lines: int, width: int) -> str:
    """What a block of ``lines`` rows of ``width`` fields leaves once the values are removed."""
    key = (lines, width)
    found = _SKELETONS.get(key)
    if found is None:
        if len(_SKELETONS) > 64:
            _SKELETONS.clear()
        found = _SKELETONS[key] = ("," * (width - 1) + "\n") * lines
    return found


def split_cells(block: TextBlock, width: int) -> tuple[list[str], bool] | None:
    """All cells of a block whose lines all have ``width`` fields, and whether they are plain.

    Plain: only digits and dots, so every parse that succeeds gives a finite
    number and an unsigned whole timestamp. None if some line has another
    number of fields (a blank or short line): that block goes row by row.
    """
    text = block.text
    skeleton = _skeleton(block.lines, width)
    plain = text.translate(_DROP_NUMERIC) == skeleton
    if not plain and _NOT_SEPARATOR.sub("", text) != skeleton:
        return None
    return text.replace("\n", ",").split(","), plain


def block_rows(
    block: TextBlock | CsvRows | ValueRows,
    header: Header,
    counter: list[int],
    *,
    strict: bool = True,
) -> Iterator[tuple[RowPosition, Sequence[object]]]:
    """A block's data rows one by one, with positions, projected to the wanted columns.

    ``counter[0]`` is the file's data-row count so far (updated); blank lines
    are skipped and a row with the wrong number of fields is refused, as the
    ``csv``-based reader always did (``strict`` False: skipped too).
    """
    if isinstance(block, ValueRows):
        for values in block.rows:
            counter[0] += 1
            yield RowPosition(None, counter[0]), values
        return
    if isinstance(block, TextBlock):
        first = block.first_line
        rows: Iterator[tuple[int, list[str]]] = (
            (first + i, line.split(",")) for i, line in enumerate(block.text.split("\n")[:-1])
        )
    else:
        rows = iter(block.rows)
    width = header.width
    indexes = header.indexes
    for line, cells in rows:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        counter[0] += 1
        position = RowPosition(line, counter[0])
        if len(cells) != width:
            if not strict:
                continue
            raise DataSourceError(
                f"{header.path}: {position.describe()}: has {len(cells)} fields, the header "
                f"has {width}"
            )
        yield position, [None if i is None else cells[i] for i in indexes]


def _typed_columns(columns: list[list[object]]) -> tuple[list[int], list[list[Any]]] | None:
    """Parquet OHLCV columns for the bulk checks: int timestamps and, per price/volume column,
    text or Decimals, exactly as :func:`~.validation.parse_decimal` reads a cell (a float by
    its shortest repr). None for any other type (the rows go one by one)."""
    stamps = columns[0]
    if set(map(type, stamps)) != {int}:
        return None
    ts = cast("list[int]", stamps)  # all int, checked just above
    texts: list[list[Any]] = []
    for column in columns[1:6]:
        kinds = set(map(type, column))
        if kinds == {float}:
            texts.append(list(map(repr, column)))
        elif kinds in ({str}, {Decimal}):
            texts.append(column)
        else:
            return None
    return ts, texts


class OhlcvParser:
    """One OHLCV file's blocks into checked :class:`BarChunk`s, continuing its series' checker."""

    def __init__(self, checker: OhlcvChecker, header: Header) -> None:
        self.checker = checker
        self.header = header
        self.data_rows = [0]
        indexes = header.indexes
        assert all(i is not None for i in indexes)  # OHLCV columns are all required
        self._indexes = [i for i in indexes if i is not None]
        self._step = timedelta(milliseconds=checker.interval_ms)
        self._last_close: tuple[str, Decimal] | None = None

    def parse(self, block: TextBlock | CsvRows | ValueRows) -> BarChunk:
        if not isinstance(block, CsvRows):
            chunk = self._bulk(block)
            if chunk is not None:
                return chunk
        return self._row_by_row(block)

    def _row_by_row(self, block: TextBlock | CsvRows | ValueRows) -> BarChunk:
        self._last_close = None
        check = self.checker.check
        records = [check(p, v) for p, v in block_rows(block, self.header, self.data_rows)]
        if not records:
            return BarChunk([], [], [], [], [], [], [], ((), (), (), (), ()))
        columns: list[list[Any]] = [list(c) for c in zip(*records, strict=True)]
        ts, opens, highs, lows, closes, volumes = columns
        return BarChunk(
            ts,
            [EPOCH + t * MS for t in ts],
            opens,
            highs,
            lows,
            closes,
            volumes,
            (opens, highs, lows, closes, volumes),
        )

    def _bulk(self, block: TextBlock | ValueRows) -> BarChunk | None:
        """The block's rows if all of them provably pass the checks, else None."""
        if isinstance(block, ValueRows):
            typed = _typed_columns(block.columns)
            if typed is None:
                return None
            ts, texts = typed
            return self._checked(ts, texts, False, None)
        width = self.header.width
        split = split_cells(block, width)
        if split is None:
            return None
        cells, plain = split
        stop = len(cells) - 1  # the empty string after the last line break
        t, o, h, lo, c, v = self._indexes
        stamps = cells[t:stop:width]
        texts = [cells[i:stop:width] for i in (o, h, lo, c, v)]
        del cells
        if not plain and not all(map(str.isdigit, stamps)):
            return None
        try:
            ts = list(map(int, stamps))
        except ValueError:
            return None
        return self._checked(ts, texts, plain, block.first_line + len(ts) - 1)

    def _checked(
        self,
        ts: list[int],
        texts: list[list[Any]],
        plain: bool,
        last_line: int | None,
    ) -> BarChunk | None:
        """Rows from parsed timestamps and the price/volume columns (text or Decimal), if all of
        them pass; ``plain``: the texts hold only digits and dots (no NaN or infinity)."""
        try:
            highs, lows, closes, volumes = decimals = [
                list(map(Decimal, column)) for column in texts[1:]
            ]
            opens = self._opens(texts[0], texts[3], closes)
        except ArithmeticError:  # decimal.InvalidOperation
            return None
        decimals.append(opens)
        if not plain and not all(all(map(Decimal.is_finite, column)) for column in decimals):
            return None
        if not self._on_grid(ts):
            return None
        if not (
            min(lows) > 0
            and min(volumes) >= 0
            and max(highs) <= MAX_PRICE
            and max(volumes) <= MAX_AMOUNT
            and all(map(le, lows, opens))
            and all(map(le, lows, closes))
            and all(map(ge, highs, opens))
            and all(map(ge, highs, closes))
        ):
            return None
        count = len(ts)
        first = ts[0]
        if ts[-1] - first == (count - 1) * self.checker.interval_ms:  # no gap: step the clock
            clock: Iterator[Any] = accumulate(
                repeat(self._step, count - 1), initial=EPOCH + first * MS
            )
            times: list[datetime] = list(clock)
        else:
            times = [EPOCH + stamp * MS for stamp in ts]
        self.data_rows[0] += count
        self.checker.remember(ts[-1], RowPosition(last_line, self.data_rows[0]))
        self._last_close = (texts[3][-1], closes[-1])
        return BarChunk(ts, times, opens, highs, lows, closes, volumes, tuple(texts))

    def _opens(self, opens: list[Any], closes: list[Any], parsed: list[Decimal]) -> list[Decimal]:
        """The open column, reusing the previous row's close where every open repeats it.

        Candles usually open at the previous close, written the same way; one
        list comparison then saves a fifth of the decimal parsing (a Decimal is
        immutable, so two bars may share one). Otherwise the column is parsed.
        """
        if type(opens[0]) is not str or opens[1:] != closes[:-1]:
            # Decimal cells (Parquet decimal128) compare by value, not as written.
            return list(map(Decimal, opens))
        last = self._last_close
        first = last[1] if last is not None and last[0] == opens[0] else Decimal(opens[0])
        shared = [first]
        shared += islice(parsed, len(parsed) - 1)
        return shared

    def _on_grid(self, ts: list[int]) -> bool:
        """True if the timestamps continue the series as the checker requires."""
        checker = self.checker
        interval = checker.interval_ms
        first = ts[0]
        if first < EARLIEST_MS:
            return False
        previous = checker.last_ts
        if (previous is None or first - previous == interval) and ts == list(
            range(first, first + len(ts) * interval, interval)
        ):
            return True
        if not checker.allow_gaps:
            return False
        if previous is not None and (first <= previous or (first - previous) % interval):
            return False
        return all(map(lt, ts, islice(ts, 1, None))) and not any(
            (stamp - first) % interval for stamp in ts
        )


class TradeParser:
    """One trades file's blocks into checked :class:`TradeChunk`s (always row by row)."""

    def __init__(self, checker: TradeChecker, header: Header) -> None:
        self.checker = checker
        self.header = header
        self.data_rows = [0]

    def parse(self, block: TextBlock | CsvRows | ValueRows) -> TradeChunk:
        check = self.checker.check
        records = [check(p, v) for p, v in block_rows(block, self.header, self.data_rows)]
        if not records:
            return TradeChunk([], [], [], [], [], [])
        columns: list[list[Any]] = [list(c) for c in zip(*records, strict=True)]
        ts, ids, sides, prices, amounts = columns
        return TradeChunk(
            ts, [EPOCH + t * MS for t in ts], ids, [Side(s) for s in sides], prices, amounts
        )


_PREFILTERS: dict[tuple[int, str], re.Pattern[str]] = {}
_EXACT: dict[tuple[int, str], re.Pattern[str]] = {}


def _prefilter(digits: int, end: str) -> re.Pattern[str]:
    """A value ending in ``end`` with more than ``digits`` fraction digits, digits shown as x."""
    key = (digits, end)
    found = _PREFILTERS.get(key)
    if found is None:
        found = _PREFILTERS[key] = re.compile(re.escape("." + "x" * (digits + 1)) + "x*" + end)
    return found


def _finer(digits: int, end: str) -> re.Pattern[str]:
    """A value ending in ``end`` with a non-zero digit past ``digits`` fraction digits."""
    key = (digits, end)
    found = _EXACT.get(key)
    if found is None:
        found = _EXACT[key] = re.compile(rf"\.[0-9]{{{digits}}}[0-9]*[1-9][0-9]*{end}")
    return found


def _may_refine(block: TextBlock, width: int, precision: Precision) -> bool:
    """False only if the block is plain and no price (a field before the last) or size (the
    last field) in it is finer than ``precision`` already is."""
    text = block.text
    if text.translate(_DROP_NUMERIC) != _skeleton(block.lines, width):
        return True
    xs = text.translate(_DIGIT_AS_X)
    for digits, end in ((precision.price_digits, ","), (precision.size_digits, "\n")):
        # The prefilter's literal prefix makes the search skip ahead; the exact pattern
        # (a non-zero digit past the increment) runs only where the prefilter hit.
        if _prefilter(digits, end).search(xs) and _finer(digits, end).search(text):
            return True
    return False


def _may_refine_columns(block: ValueRows, precision: Precision) -> bool:
    """:func:`_may_refine` for a Parquet OHLCV batch: each price and the volume column as text
    (floats by their shortest repr, as they are read), one search per column."""
    typed = _typed_columns(block.columns)
    if typed is None:
        return True
    _ts, texts = typed
    for index, column in enumerate(texts):
        joined = "\n".join(map(str, column)) + "\n"
        if joined.translate(_DROP_NUMERIC) != "\n" * len(column):
            return True  # exponents, signs, NaN or spaces: let the rows say
        digits = precision.size_digits if index == 4 else precision.price_digits
        if _finer(digits, "\n").search(joined):
            return True
    return False


def scan_precision(reader: Reader, kind: str, precision: Precision, *, bulk: bool = True) -> None:
    """Note in ``precision`` the increments of every parseable row of ``reader``'s file.

    Rows that do not parse are skipped: the stream refuses them with the full
    message when it reaches them. Only blocks that could refine ``precision``
    are parsed (``bulk`` False: every block, for tests).
    """
    header = reader.header
    prices: tuple[int, ...] = (1, 2, 3, 4) if kind == "ohlcv" else (3,)
    size = 5 if kind == "ohlcv" else 4
    # Plain OHLCV text with the size column last: the skip test above applies.
    text_skip = bulk and kind == "ohlcv" and header.indexes[size] == header.width - 1
    counter = [0]
    note = precision.note
    for block in reader.blocks():
        if isinstance(block, TextBlock):
            if text_skip and not _may_refine(block, header.width, precision):
                continue
        elif (
            isinstance(block, ValueRows)
            and bulk
            and kind == "ohlcv"
            and not _may_refine_columns(block, precision)
        ):
            continue
        for _position, values in block_rows(block, header, counter, strict=False):
            try:
                parsed = [parse_decimal(values[i], "") for i in prices]
                amount = parse_decimal(values[size], "")
            except RowError:
                continue
            note(parsed, amount)
