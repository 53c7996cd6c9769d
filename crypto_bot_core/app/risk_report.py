"""Risk figures for people and for files: aligned text tables, CSV and JSON.

The CLI prints these; tests read the CSV and JSON back. Money in tables is
rounded to cents with thousands separators; CSV and JSON keep every digit
of exact amounts (strings) and the floats of the analytics as they are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from crypto_bot_core.app.risk_replay import ReplayResult
from crypto_bot_core.risk.portfolio_var import VarReport
from crypto_bot_core.risk.scenario_file import ShippedScenario
from crypto_bot_core.risk.stress import StressResult

FORMATS = ("table", "json", "csv")


def cents(value: Decimal | float | None) -> str:
    if value is None:
        return "n/a"
    amount = Decimal(str(value)) if isinstance(value, float) else value
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: Sequence[int] = (0,)
) -> str:
    """Columns ``left`` left-aligned (text), the others right-aligned (figures)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()


def render_var(report: VarReport, fmt: str, *, source: str = "") -> str:
    if fmt == "json":
        return json.dumps({**report.as_dict(), "returns_source": source}, indent=2) + "\n"
    methods = (report.monte_carlo, report.historical, report.parametric)
    if fmt == "csv":
        return _csv(
            ["method", "confidence", "horizon", "var", "es", "samples", "currency"],
            [
                [
                    m.method,
                    m.confidence,
                    report.settings.horizon,
                    m.var,
                    m.es,
                    m.samples,
                    report.currency,
                ]
                for m in methods
            ],
        )
    ccy = report.currency
    s = report.settings
    lines = [
        f"{s.confidence:.1%} {s.horizon} value at risk ({ccy}); returns: {source or 'given'}",
        "",
        table(
            ["method", "VaR", "ES", "samples"],
            [[m.method, cents(m.var), cents(m.es), f"{m.samples:,}"] for m in methods],
        ),
        "",
        table(
            ["symbol", "exposure", "marginal"],
            [
                [
                    symbol,
                    cents(value),
                    " ".join(
                        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in report.marginals[symbol].items()
                    ),
                ]
                for symbol, value in report.exposures.items()
            ],
        ),
        "",
        f"gross exposure {cents(report.gross)}, net {cents(report.net)}; "
        f"{report.observations} returns, shrinkage intensity "
        f"{report.shrinkage if report.shrinkage is not None else 0:.3f} towards mean "
        f"correlation {report.mean_correlation if report.mean_correlation is not None else 1:.3f};"
        f" {s.paths:,} paths, seed {s.seed}, {s.copula} copula (dof {s.copula_dof:g})",
    ]
    return "\n".join(lines) + "\n"


def _position_rows(result: StressResult) -> list[list[str]]:
    return [
        [
            f"{p.symbol}@{p.venue}" + (" (frozen)" if p.frozen else ""),
            f"{p.quantity.normalize():f}",
            cents(p.price),
            cents(p.shocked_price),
            cents(p.price_pnl),
            cents(p.funding_pnl),
            cents(p.ban_pnl),
            cents(p.liquidity_pnl),
            cents(p.total),
        ]
        for p in result.positions
    ]


def render_stress(result: StressResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.as_dict(), indent=2) + "\n"
    if fmt == "csv":
        rows: list[list[Any]] = [
            [
                "position",
                p.symbol,
                p.venue,
                p.quantity,
                p.price,
                p.shocked_price,
                p.price_pnl,
                p.funding_pnl,
                p.ban_pnl,
                p.liquidity_pnl if p.liquidity_pnl is not None else "",
                "",
                p.total,
            ]
            for p in result.positions
        ]
        rows += [
            ["venue", "", v.venue, "", "", "", "", "", "", "", v.halt_writedown, v.total]
            for v in result.venues
        ]
        rows.append(["total", "", "", "", "", "", "", "", "", "", "", result.total_pnl])
        return _csv(
            [
                "level",
                "symbol",
                "venue",
                "quantity",
                "price",
                "shocked_price",
                "price_pnl",
                "funding_pnl",
                "ban_pnl",
                "liquidity_pnl",
                "halt_writedown",
                "total_pnl",
            ],
            rows,
        )
    ccy = result.currency
    lines = [
        f"scenario {result.scenario}: {result.description}",
        "",
        table(
            [
                "position",
                "quantity",
                "price",
                "shocked",
                "price P&L",
                "funding",
                "ban",
                "liquidity",
                "total",
            ],
            _position_rows(result),
        ),
        "",
        table(
            ["venue", "equity", "positions P&L", "halt write-down", "total"],
            [
                [
                    v.venue + (" (halted)" if v.halted else ""),
                    cents(v.equity),
                    cents(v.positions_pnl),
                    cents(v.halt_writedown),
                    cents(v.total),
                ]
                for v in result.venues
            ],
        ),
        "",
        f"projected P&L {cents(result.total_pnl)} {ccy} (loss {cents(result.loss)} {ccy}) on "
        f"equity {cents(result.equity)} {ccy}",
    ]
    if result.var is not None and result.stressed_var is not None:
        lines.append(
            f"VaR {cents(result.var.var)} -> stressed {cents(result.stressed_var.var)} {ccy}; "
            f"ES {cents(result.var.es)} -> stressed {cents(result.stressed_var.es)} {ccy}"
        )
    lines += [f"note: {w}" for w in result.warnings]
    return "\n".join(lines) + "\n"


def render_replay(result: ReplayResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.as_dict(), indent=2) + "\n"
    headers = ["venue", "plain equity", "shocked equity", "halt write-down", "ban cost", "P&L"]
    if fmt == "csv":
        return _csv(
            headers,
            [
                [v.venue, v.baseline_equity, v.shocked_equity, v.halt_writedown, v.ban_cost, v.pnl]
                for v in result.venues
            ],
        )
    lines = [
        f"scenario {result.scenario} replayed through the engine from {result.at.isoformat()}",
        "",
        table(
            headers,
            [
                [
                    v.venue,
                    cents(v.baseline_equity),
                    cents(v.shocked_equity),
                    cents(v.halt_writedown),
                    cents(v.ban_cost),
                    cents(v.pnl),
                ]
                for v in result.venues
            ],
        ),
        "",
        f"scenario P&L with the strategy's reaction: {cents(result.total_pnl)}",
    ]
    lines += [f"note: {w}" for w in result.warnings]
    return "\n".join(lines) + "\n"


def render_scenarios(shipped: Sequence[ShippedScenario], fmt: str) -> str:
    if fmt == "json":
        return (
            json.dumps(
                [
                    {
                        "name": s.name,
                        "file": s.file,
                        "description": s.scenario.description,
                        "shocks": [
                            shock.model_dump(mode="json", exclude_none=True)
                            for shock in s.scenario.shocks
                        ],
                    }
                    for s in shipped
                ],
                indent=2,
            )
            + "\n"
        )
    rows = [
        [s.name, ", ".join(shock.kind for shock in s.scenario.shocks), s.scenario.description]
        for s in shipped
    ]
    if fmt == "csv":
        return _csv(["name", "shocks", "description"], rows)
    return table(["name", "shocks", "description"], rows, left=(0, 1, 2)) + "\n"
