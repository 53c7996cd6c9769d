"""What every standard report shares: UTC stamps, file names, CSV and JSON bytes.

All of it is deterministic on purpose: the same rows give the same bytes, so a
report's SHA-256 can be compared years later (the Reporter contract).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from crypto_bot_sdk import ConfigError, ReportArtefact, ReportPeriod

MEDIA_TYPES = {"csv": "text/csv", "json": "application/json", "xml": "application/xml"}


def iso_utc(ts: datetime) -> str:
    """``2024-06-01T09:30:00.000000Z``: always UTC, always microseconds, so strings sort."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decimal_text(value: Decimal) -> str:
    """A decimal as plain digits (no exponent), exactly as computed."""
    return format(value, "f")


def rounded(value: Decimal, places: int) -> str:
    """``value`` to ``places`` decimals, half to even, as plain digits."""
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")


def period_filename(prefix: str, period: ReportPeriod, fmt: str) -> str:
    """``<prefix>_<YYYY-MM-DD>.<fmt>`` for one UTC day, else ``<prefix>_<start>_<end>.<fmt>``."""
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    if start.time() == datetime.min.time() and end - start == timedelta(days=1):
        span = start.strftime("%Y-%m-%d")
    else:
        span = f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}"
    return f"{prefix}_{span}.{fmt}"


def check_format(report: str, fmt: str, formats: Sequence[str]) -> None:
    if fmt not in formats:
        raise ConfigError(f"the {report} has no format {fmt!r}; choose one of {', '.join(formats)}")


def compact_json(value: Any) -> str:
    """Sorted keys, no spaces: the form a JSON value takes inside a CSV cell."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def render_csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """A header and one line per row; maps and lists become compact JSON, None empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            if isinstance(value, dict | list):
                cells.append(compact_json(value))
            elif value is None:
                cells.append("")
            elif isinstance(value, bool):
                cells.append("true" if value else "false")
            else:
                cells.append(str(value))
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8")


def render_json(document: Mapping[str, Any]) -> bytes:
    """One object, keys sorted, two-space indent, UTF-8, final newline."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )


def period_json(period: ReportPeriod) -> dict[str, str]:
    return {"start": iso_utc(period.start), "end": iso_utc(period.end)}


def artefact(
    reporter: str, filename: str, fmt: str, content: bytes, period: ReportPeriod
) -> ReportArtefact:
    return ReportArtefact(
        reporter=reporter,
        filename=filename,
        media_type=MEDIA_TYPES[fmt],
        content=content,
        period=period,
    )
