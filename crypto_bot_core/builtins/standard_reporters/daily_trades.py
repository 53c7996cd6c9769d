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

from collections.abc import Sequence
from typing import Any

from crypto_bot_core.builtins.standard_reporters.config import DailyTradesConfig
from crypto_bot_core.builtins.standard_reporters.rendering import (
    artefact,
    check_format,
    iso_utc,
    period_filename,
    period_json,
    render_csv,
    render_json,
)
from crypto_bot_core.builtins.standard_reporters.trades import TradeRow, trade_rows
from crypto_bot_sdk import LedgerRecord, ReportArtefact, Reporter, ReportPeriod

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


class DailyTradesReporter(Reporter[DailyTradesConfig]):
    """The daily trade report in CSV and JSON; see the module doc for the layout."""

    name = "daily_trades"
    config_model = DailyTradesConfig
    formats = ("csv", "json")

    def filename(self, period: ReportPeriod, fmt: str) -> str:
        return period_filename(self.config.filename_prefix, period, fmt)

    def render(
        self, records: Sequence[LedgerRecord], period: ReportPeriod, fmt: str
    ) -> ReportArtefact:
        check_format("daily trade report", fmt, self.formats)
        rows = [_row(trade) for trade in trade_rows(records, period)]
        if fmt == "csv":
            content = render_csv(COLUMNS, rows)
        else:
            content = render_json(
                {
                    "report": self.name,
                    "period": period_json(period),
                    "trade_count": len(rows),
                    "columns": list(COLUMNS),
                    "trades": rows,
                }
            )
        return artefact(self.name, self.filename(period, fmt), fmt, content, period)
