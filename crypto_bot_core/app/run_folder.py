"""The run folder a finished run leaves behind: trades.csv, summary.json and equity.png.

File output belongs to the composition root, not the engine: the engine returns its
summary, trades and curve, and this module writes them for a person to open.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from crypto_bot_core.engine.summary import TRADE_COLUMNS, RunSummary, TradeRow


def trades_csv(trades: Sequence[TradeRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for row in trades:
        f = row.fill
        writer.writerow(
            [
                f.fill_id,
                f.client_order_id,
                f.ts.isoformat(),
                f.venue,
                f.symbol,
                f.side.value,
                str(f.quantity),
                str(f.price),
                str(f.fee),
                f.fee_currency,
                f.liquidity.value,
                str(row.realised_pnl),
            ]
        )
    return out.getvalue()


def write_equity_png(path: Path, curve: Sequence[tuple[datetime, Decimal]], title: str) -> None:
    """Plot the equity curve; matplotlib loads only here, off the CLI's start path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not curve:
        return
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        start = curve[0][0]
        hours = [(t - start).total_seconds() / 3600 for t, _ in curve]
        ax.plot(hours, [float(v) for _, v in curve], linewidth=1.0)
        ax.set_xlabel(f"hours since {start:%Y-%m-%d %H:%M} UTC")
        ax.set_title(title)
        ax.set_ylabel("equity")
        ax.grid(True, alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)


def write_run_folder(
    folder: Path,
    summary: RunSummary,
    trades: Sequence[TradeRow],
    curve: Sequence[tuple[datetime, Decimal]],
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trades.csv").write_text(trades_csv(trades), encoding="utf-8")
    (folder / "summary.json").write_text(
        json.dumps(summary.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    if curve:
        write_equity_png(folder / "equity.png", curve, f"run {summary.run_id} equity")
