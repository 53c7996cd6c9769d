"""The summary a run prints when it ends (``run``, ``run --resume``, ``kill``, ``backtest``).

Besides the figures it says, loudly, what a person must not miss: orders still
open and positions still held when the run ended, and a run in which most
decisions were refused (with the reasons), which otherwise looks like a quiet
market with no trades. Only typer loads here; the summary comes built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from crypto_bot_core.app.runner import RunResult
    from crypto_bot_core.engine.summary import RunSummary


def summary_lines(s: RunSummary) -> list[str]:
    """The figures, one ``key  value`` line each, then the per-venue table."""
    decided = f"{s.decisions:,}"
    if s.decisions:
        decided += f" ({s.rejected:,} rejected, {s.rejected / s.decisions:.1%})"
    rows = [
        ("run", s.run_id),
        ("mode", s.mode),
        (
            "period",
            f"{s.start:%Y-%m-%d %H:%M} -> {s.end:%Y-%m-%d %H:%M} UTC" if s.start and s.end else "-",
        ),
        ("events", f"{s.events:,}"),
        ("P&L", f"{s.pnl:,.2f}"),
        ("ROI", f"{s.roi:.2%}"),
        ("Sharpe", f"{s.sharpe:.2f}"),
        ("Sortino", f"{s.sortino:.2f}"),
        ("max drawdown", f"{s.max_drawdown:.2%}"),
        ("decisions", decided),
        ("fills", f"{s.fills:,}"),
        ("round trips", f"{s.round_trips:,}"),
        ("win rate", f"{s.win_rate:.1%} of round trips, net of fees"),
        ("fees", f"{s.fees:,.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{key:<{width}}  {value}" for key, value in rows]
    lines.append("")
    lines.append(
        f"{'venue':<16} {'ROI':>9} {'P&L':>14} {'fees':>12} {'fills':>7} {'round trips':>11}"
    )
    for v in s.venues:
        lines.append(
            f"{v.venue:<16} {v.roi:>9.2%} {v.final - v.initial:>14,.2f} {v.fees:>12,.2f} "
            f"{v.fills:>7,} {v.round_trips:>11,}"
        )
    return lines


def rejection_lines(s: RunSummary) -> list[str]:
    """The most frequent reasons decisions were refused, with one message each."""
    if not s.rejections:
        return []
    lines = ["rejected decisions, most frequent reasons:"]
    for r in s.rejections:
        example = f": {r.example}" if r.example else ""
        lines.append(f"  {r.count:>7,}  {r.reason}{example}")
    return lines


def left_open_lines(s: RunSummary) -> list[str]:
    """Orders still open and positions still held when the run ended."""
    lines: list[str] = []
    if s.open_orders:
        lines.append(f"orders left open at the end: {len(s.open_orders)}")
        for o in s.open_orders:
            price = "" if o.price is None else f" @ {o.price}"
            lines.append(
                f"  {o.client_order_id}  {o.venue} {o.symbol} {o.side} {o.order_type} "
                f"{o.quantity}{price} (filled {o.filled}), {o.status} since "
                f"{o.created_at:%Y-%m-%d %H:%M} UTC"
            )
    if s.open_positions:
        lines.append(f"positions left at the end: {len(s.open_positions)}")
        for p in s.open_positions:
            mark = "" if p.mark_price is None else f", last mark {p.mark_price}"
            lines.append(
                f"  {p.venue} {p.symbol} {p.quantity} (entry {p.entry_price}{mark})"
            )
    return lines


def warning_line(s: RunSummary) -> str | None:
    """One loud line when most decisions were refused: the run did not trade as configured."""
    if not s.mostly_rejected:
        return None
    top = "; ".join(f"{r.reason} ({r.count:,})" for r in s.rejections[:3])
    return (
        f"WARNING: {s.rejected:,} of {s.decisions:,} decisions "
        f"({s.rejected / s.decisions:.0%}) were rejected - this run did not trade as "
        f"configured. Top reasons: {top}"
    )


def print_summary(result: RunResult) -> None:
    s = result.summary
    for line in summary_lines(s):
        typer.echo(line)
    extra = rejection_lines(s) + left_open_lines(s)
    if extra:
        typer.echo("")
        for line in extra:
            typer.echo(line)
    warning = warning_line(s)
    if warning is not None:
        typer.echo("")
        typer.secho(warning, err=True, fg=typer.colors.RED, bold=True)
    typer.echo("")
    state = "interrupted (ledger closed cleanly)" if result.interrupted else "completed"
    typer.echo(f"run {state}; folder: {result.run_dir}")
    typer.echo(f"ledger: {result.ledger_url}  (check it: cryptobot ledger verify --url ...)")
