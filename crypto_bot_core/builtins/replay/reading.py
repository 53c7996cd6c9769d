"""Reading rows out of CSV (stdlib ``csv``) and Parquet (``pyarrow``, imported lazily) files.

Both readers hand back the same shape, the wanted columns in a fixed order,
with each row's position, so validation is written once. CSV cells stay text,
which keeps decimals exact; Parquet cells arrive as the column's Python type
(int, float, Decimal, str, datetime).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from crypto_bot_sdk import DataSourceError


@dataclass(frozen=True)
class RowPosition:
    """Where a row sits: the physical line (CSV only) and the 1-based data row (header excluded)."""

    line: int | None
    row: int

    def describe(self) -> str:
        if self.line is None:
            return f"data row {self.row}"
        return f"line {self.line} (data row {self.row})"


Row = tuple[RowPosition, Sequence[object]]


def _missing_columns(
    path: Path, present: Sequence[str], required: Sequence[str], where: str
) -> None:
    missing = [c for c in required if c not in present]
    if missing:
        raise DataSourceError(
            f"{path}: {where} lacks column(s) {missing}; found {list(present)}. Use ccxt's "
            f"column names: {', '.join(required)}"
        )


def read_csv(path: Path, required: Sequence[str], optional: Sequence[str]) -> Iterator[Row]:
    """Rows of a CSV file with a header line; values of ``required + optional`` columns, in order.

    An absent optional column reads as ``None``; blank lines are skipped.
    """
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise DataSourceError(f"{path}: the file is empty; expected a header line")
            names = [name.strip() for name in header]
            _missing_columns(path, names, required, "the header (line 1)")
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                raise DataSourceError(f"{path}: the header repeats column(s) {duplicated}")
            indexes = [names.index(c) if c in names else None for c in (*required, *optional)]
            width = len(names)
            data_row = 0
            for cells in reader:
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                data_row += 1
                position = RowPosition(reader.line_num, data_row)
                if len(cells) != width:
                    raise DataSourceError(
                        f"{path}: {position.describe()}: has {len(cells)} fields, the header "
                        f"has {width}"
                    )
                yield position, [None if i is None else cells[i] for i in indexes]
        except csv.Error as exc:
            raise DataSourceError(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise DataSourceError(f"{path}: not UTF-8 text: {exc}") from exc


def read_parquet(path: Path, required: Sequence[str], optional: Sequence[str]) -> Iterator[Row]:
    """Rows of a Parquet file; needs the ``data`` extra (``pip install crypto-bot-core[data]``)."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DataSourceError(
            f"{path}: reading Parquet needs pyarrow; install it with "
            "'pip install crypto-bot-core[data]'"
        ) from exc
    try:
        names = list(pq.read_schema(path).names)
        _missing_columns(path, names, required, "the schema")
        wanted = [c for c in (*required, *optional) if c in names]
        table = pq.read_table(path, columns=wanted)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid derives from ValueError
        raise DataSourceError(f"{path}: cannot read as Parquet: {exc}") from exc
    columns = {name: table.column(name).to_pylist() for name in wanted}
    absent: list[object] = [None] * table.num_rows
    ordered = [columns.get(c, absent) for c in (*required, *optional)]
    for index, values in enumerate(zip(*ordered, strict=True)):
        yield RowPosition(None, index + 1), values


def read_rows(
    path: Path, file_format: str, required: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[Row]:
    if file_format == "parquet":
        return read_parquet(path, required, optional)
    return read_csv(path, required, optional)
