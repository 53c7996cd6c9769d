"""``daily_trades``: every fill of a period, with the models and risk figures behind it.

Columns, in this order (CSV header and JSON keys alike): ``trade_id`` (the fill
id), ``timestamp`` (ISO 8601 UTC with microseconds), ``symbol``, ``exchange``,
``side``, ``quantity``, ``price``, ``fees``, ``fee_currency``,
``model_versions`` and ``risk_flags``. Amounts are decimal strings exactly as
booked. In CSV the two maps are compact JSON with sorted keys; in JSON they
are objects. Rows are ordered by time, exchange and trade id, and the bytes
depend only on the records and the period (no wall clock), so a report can
be re-created and compared years later.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from crypto_bot_core.builtins.standard_reporters.config import DailyTradesConfig
from crypto_bot_core.builtins.standard_reporters.trades import TradeRow, trade_rows
from crypto_bot_sdk import ConfigError, LedgerRecord, ReportArtefact, Reporter, ReportPeriod

COLUMNS = (
    "trade_id",
    "timestamp",
    "symbol",
    "exchange",
    "side",
    "quantity",
    "price",
    "fees",
    "fee_currency",
    "model_versions",
    "risk_flags",
)
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}


def iso_utc(ts: datetime) -> str:
    """``2024-06-01T09:30:00.000000Z``: always UTC, always microseconds, so strings sort."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _row(trade: TradeRow) -> dict[str, Any]:
    fill = trade.fill
    return {
        "trade_id": fill.fill_id,
        "timestamp": iso_utc(fill.ts),
        "symbol": fill.symbol,
        "exchange": fill.venue,
        "side": fill.side.value,
        "quantity": format(fill.quantity, "f"),
        "price": format(fill.price, "f"),
        "fees": format(fill.fee, "f"),
        "fee_currency": fill.fee_currency,
        "model_versions": dict(sorted(trade.model_versions.items())),
        "risk_flags": dict(sorted(trade.risk_flags.items())),
    }


def _compact(mapping: dict[str, str]) -> str:
    return json.dumps(mapping, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def render_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [_compact(row[c]) if c in ("model_versions", "risk_flags") else row[c] for c in COLUMNS]
        )
    return buffer.getvalue().encode("utf-8")


def render_json(rows: Sequence[dict[str, Any]], period: ReportPeriod) -> bytes:
    document = {
        "report": "daily_trades",
        "period": {"start": iso_utc(period.start), "end": iso_utc(period.end)},
        "trade_count": len(rows),
        "columns": list(COLUMNS),
        "trades": list(rows),
    }
    text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


class DailyTradesReporter(Reporter[DailyTradesConfig]):
    """The daily trade report in CSV and JSON; see the module doc for the layout."""

    name = "daily_trades"
    config_model = DailyTradesConfig
    formats = ("csv", "json")

    def filename(self, period: ReportPeriod, fmt: str) -> str:
        start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
        if start.time() == datetime.min.time() and end - start == timedelta(days=1):
            span = start.strftime("%Y-%m-%d")
        else:
            span = f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}"
        return f"{self.config.filename_prefix}_{span}.{fmt}"

    def render(
        self, records: Sequence[LedgerRecord], period: ReportPeriod, fmt: str
    ) -> ReportArtefact:
        if fmt not in self.formats:
            raise ConfigError(
                f"the daily trade report has no format {fmt!r}; choose one of "
                f"{', '.join(self.formats)}"
            )
        rows = [_row(trade) for trade in trade_rows(records, period)]
        content = render_csv(rows) if fmt == "csv" else render_json(rows, period)
        return ReportArtefact(
            reporter=self.name,
            filename=self.filename(period, fmt),
            media_type=MEDIA_TYPES[fmt],
            content=content,
            period=period,
        )
