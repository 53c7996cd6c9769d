"""Reading CSV (stdlib) and Parquet (``pyarrow``, imported lazily) files in bounded blocks.

A replayed file can be far larger than the memory a backtest may use (a year
of one-minute bars is half a million rows), so nothing here ever holds a
whole file: readers hand out one block at a time and keep only the partial
line that straddles two reads.

CSV blocks come in two shapes. Most files (ccxt's ``fetch_ohlcv`` saved with
``csv.writer`` or pandas) quote nothing, so a :class:`TextBlock` is just a run
of complete lines, which the OHLCV parser turns into columns with a handful of
C-level string operations instead of a ``csv`` call per row. From the first
block that holds a quote character (or a NUL, or a bare carriage return) on,
the file is read with the ``csv`` module and blocks are :class:`CsvRows`, so
quoted fields, quoted line breaks and malformed quoting behave exactly as the
``csv`` module defines them. Parquet comes as :class:`ValueRows` through
``ParquetFile.iter_batches``. CSV cells stay text, which keeps decimals
exact; Parquet cells arrive as the column's Python type (int, float, Decimal,
str, datetime).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from crypto_bot_sdk import DataSourceError

BLOCK_CHARS = 1 << 19
"""Characters read per CSV block: about 8,500 one-minute OHLCV rows, a few MB once parsed."""

BATCH_ROWS = 8192
"""Rows per Parquet batch and per block of a quoted CSV file."""


@dataclass(frozen=True, slots=True)
class RowPosition:
    """Where a row sits: the physical line (CSV only) and the 1-based data row (header excluded)."""

    line: int | None
    row: int

    def describe(self) -> str:
        if self.line is None:
            return f"data row {self.row}"
        return f"line {self.line} (data row {self.row})"


Row = tuple[RowPosition, Sequence[object]]


@dataclass(frozen=True, slots=True)
class Header:
    """A file's columns and where the wanted ones sit (``None``: an absent optional column)."""

    path: Path
    names: tuple[str, ...]
    indexes: tuple[int | None, ...]
    """Positions of ``required + optional`` columns, in that order."""

    @property
    def width(self) -> int:
        return len(self.names)


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Complete CSV lines without quotes, NULs or bare carriage returns, each ending in ``\\n``.

    ``first_line`` is the physical line number of the first one; blank lines
    are still in the text (only the row-by-row path skips them).
    """

    text: str
    first_line: int
    lines: int


@dataclass(frozen=True, slots=True)
class CsvRows:
    """Rows the ``csv`` module split: (physical line of the row's end, all of its cells)."""

    rows: list[tuple[int, list[str]]]


@dataclass(frozen=True, slots=True)
class ValueRows:
    """A Parquet batch: the wanted columns' values in ``required + optional`` order, as columns
    (an absent optional column is all ``None``)."""

    columns: list[list[object]]

    @property
    def rows(self) -> Iterator[tuple[object, ...]]:
        return zip(*self.columns, strict=True)


Block = TextBlock | CsvRows | ValueRows


def _header(
    path: Path, names: Sequence[str], required: Sequence[str], optional: Sequence[str], where: str
) -> Header:
    missing = [c for c in required if c not in names]
    if missing:
        raise DataSourceError(
            f"{path}: {where} lacks column(s) {missing}; found {list(names)}. Use ccxt's "
            f"column names: {', '.join(required)}"
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataSourceError(f"{path}: the header repeats column(s) {duplicated}")
    indexes = tuple(names.index(c) if c in names else None for c in (*required, *optional))
    return Header(path, tuple(names), indexes)


class _ClosingReader:
    """Both readers as context managers: leaving the ``with`` block closes the file.

    Each reader says only how its file is closed; what ``with`` does with it is the same
    for CSV and Parquet, so it is written once here.
    """

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError


class CsvReader(_ClosingReader):
    """One CSV file with a header line; use as a context manager so the file is closed.

    Opening reads and checks the header only, so a missing file, an empty file
    or a missing column is reported before any row is read.
    """

    def __init__(self, path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        self.path = path
        try:
            self._handle: IO[str] = path.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise DataSourceError(f"{path}: cannot open: {exc.strerror or exc}") from exc
        try:
            self.header, self._lines = self._read_header(required, optional)
        except BaseException:
            self._handle.close()
            raise

    def _read_header(self, required: Sequence[str], optional: Sequence[str]) -> tuple[Header, int]:
        path = self.path
        reader = csv.reader(self._handle, strict=True)
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise DataSourceError(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise DataSourceError(f"{path}: not UTF-8 text: {exc}") from exc
        if row is None:
            raise DataSourceError(f"{path}: the file is empty; expected a header line")
        names = [name.strip() for name in row]
        return _header(path, names, required, optional, "the header (line 1)"), reader.line_num

    def close(self) -> None:
        self._handle.close()

    def blocks(self, block_chars: int | None = None) -> Iterator[Block]:
        """The rows after the header: :class:`TextBlock` while unquoted, then :class:`CsvRows`.

        ``block_chars`` defaults to :data:`BLOCK_CHARS` (read when called, so tests can
        shrink it to put block boundaries everywhere).
        """
        try:
            yield from self._blocks(block_chars or BLOCK_CHARS)
        except UnicodeDecodeError as exc:
            raise DataSourceError(f"{self.path}: not UTF-8 text: {exc}") from exc

    def _blocks(self, block_chars: int) -> Iterator[Block]:
        handle = self._handle
        line = self._lines + 1  # physical number of the next line to hand out
        carry = ""  # the start of a line the last read cut
        while True:
            data = handle.read(block_chars)
            if not data:
                if not carry:
                    return
                data, carry = carry + "\n", ""  # the last line has no line break
            else:
                data = carry + data
                cut = data.rfind("\n") + 1
                if cut == 0:
                    if "\r" in data:  # lines end in a bare \r (old Mac files): csv module
                        yield from self._csv_rows(data, line, block_chars)
                        return
                    carry = data  # one line longer than a block: keep reading
                    continue
                data, carry = data[:cut], data[cut:]
            # data: complete lines. Quotes, NULs and bare \r are the csv module's business.
            if '"' in data or "\0" in data:
                yield from self._csv_rows(data + carry, line, block_chars)
                return
            if "\r" in data:
                unix = data.replace("\r\n", "\n")
                if "\r" in unix:
                    yield from self._csv_rows(data + carry, line, block_chars)
                    return
                data = unix
            count = data.count("\n")
            yield TextBlock(data, line, count)
            line += count

    def _lines_from(self, text: str, block_chars: int) -> Iterator[str]:
        """Physical lines from ``text`` on through the rest of the file, split as reading the
        file does (``newline=""``: \\n, \\r\\n and a bare \\r end a line), a block at a time."""
        pending = text
        while True:
            more = self._handle.read(block_chars)
            pending += more
            lines = io.StringIO(pending, newline="").readlines()
            if not more:
                yield from lines
                return
            # The last line may go on in the next read (also a \r whose \n is still to come).
            pending = lines.pop() if lines and not lines[-1].endswith("\n") else ""
            yield from lines

    def _csv_rows(self, text: str, line: int, block_chars: int) -> Iterator[CsvRows]:
        """The rest of the file through the ``csv`` module, from ``text`` (starting at ``line``)."""
        reader = csv.reader(self._lines_from(text, block_chars), strict=True)
        batch = BATCH_ROWS
        offset = line - 1
        rows: list[tuple[int, list[str]]] = []
        try:
            for cells in reader:
                rows.append((offset + reader.line_num, cells))
                if len(rows) >= batch:
                    yield CsvRows(rows)
                    rows = []
        except csv.Error as exc:
            raise DataSourceError(
                f"{self.path}: line {offset + reader.line_num}: malformed CSV: {exc}"
            ) from exc
        if rows:
            yield CsvRows(rows)


class ParquetReader(_ClosingReader):
    """One Parquet file, read a row group batch at a time; needs the ``data`` extra (pyarrow)."""

    def __init__(self, path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise DataSourceError(
                f"{path}: reading Parquet needs pyarrow; install it with "
                "'pip install crypto-bot-core[data]'"
            ) from exc
        self.path = path
        try:
            self._file: Any = pq.ParquetFile(path)
            names = list(self._file.schema_arrow.names)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid derives from ValueError
            raise DataSourceError(f"{path}: cannot read as Parquet: {exc}") from exc
        self.header = _header(path, names, required, optional, "the schema")
        self._columns = (*required, *optional)

    def close(self) -> None:
        self._file.close()

    def blocks(self, batch_rows: int | None = None) -> Iterator[ValueRows]:
        """Batches of :data:`BATCH_ROWS` rows; an absent optional column reads as ``None``."""
        batch_rows = batch_rows or BATCH_ROWS
        present = [
            c for c, at in zip(self._columns, self.header.indexes, strict=True) if at is not None
        ]
        try:
            for batch in self._file.iter_batches(batch_size=batch_rows, columns=present):
                columns = {name: batch.column(name).to_pylist() for name in present}
                absent: list[object] = [None] * batch.num_rows
                yield ValueRows([columns.get(c, absent) for c in self._columns])
        except (OSError, ValueError) as exc:
            raise DataSourceError(f"{self.path}: cannot read as Parquet: {exc}") from exc


Reader = CsvReader | ParquetReader


def open_reader(
    path: Path, file_format: str, required: Sequence[str], optional: Sequence[str] = ()
) -> Reader:
    """The reader for ``path``; the header (CSV) or schema (Parquet) is checked right away."""
    if file_format == "parquet":
        return ParquetReader(path, required, optional)
    return CsvReader(path, required, optional)
