"""From ledger records to trade rows: fills in the period, with the decisions behind them.

The payload shapes read here are the contract with the engine, written down
in ``docs/builtins/ledger-payloads.md``, and typed in ``payloads``:

* ``fill``: ``Fill.model_dump(mode="json")``, optionally plus ``intent_id``
  (read as the SDK's ``FillPayload``);
* ``decision`` and ``order.intent``: ``client_order_id`` and/or ``intent_id``
  to link them, plus any of ``model_versions`` (name -> version),
  ``risk_flags`` (name -> value) and ``risk_verdicts`` (a list of
  ``RiskVerdict.model_dump(mode="json")``; each figure becomes the flag
  ``<rule>.<figure>``, a non-approval also ``<rule>.action``);
* those and the ``order.<status>`` records, when their payload has
  ``client_order_id`` and ``intent_id`` at the top level or under ``request``
  (an ``Order`` or ``OrderRequest`` dump), tell which intent an order came
  from.

Only records before the period's end are read for links: a decision cannot
come after the fill it explains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from crypto_bot_core.builtins.standard_reporters.payloads import (
    ANNOTATING,
    LINKING,
    Annotations,
    OrderLinks,
    read,
    read_fill,
)
from crypto_bot_sdk import (
    Fill,
    FillPayload,
    LedgerError,
    LedgerRecord,
    RecordType,
    ReportPeriod,
    VerdictAction,
)


@dataclass(frozen=True)
class TradeRow:
    fill: Fill
    model_versions: dict[str, str]
    risk_flags: dict[str, str]


@dataclass
class _Annotations:
    model_versions: dict[str, str] = field(default_factory=dict)
    risk_flags: dict[str, str] = field(default_factory=dict)

    def merge(self, other: _Annotations) -> None:
        self.model_versions.update(other.model_versions)
        self.risk_flags.update(other.risk_flags)


def _annotations(found: Annotations) -> _Annotations:
    """The versions and flags of one record; its explicit ``risk_flags`` win over verdicts'."""
    flags: dict[str, str] = {}
    for verdict in found.verdicts:
        for name, value in verdict.figures.items():
            flags[f"{verdict.rule}.{name}"] = value
        if verdict.action is not VerdictAction.APPROVE:
            flags[f"{verdict.rule}.action"] = verdict.action.value
    flags.update(found.flags)
    return _Annotations(model_versions=found.versions, risk_flags=flags)


def order_links(record: LedgerRecord) -> tuple[str | None, str | None]:
    """(client_order_id, intent_id) a record names, or (None, None) for one about no order."""
    if record.type not in LINKING:
        return None, None
    links = read(record, OrderLinks)
    return links.order_id, links.intent


@dataclass
class _Decisions:
    """What the records before the period's end say about orders: links and annotations."""

    intent_of: dict[str, str] = field(default_factory=dict)
    by_order: dict[str, _Annotations] = field(default_factory=dict)
    by_intent: dict[str, _Annotations] = field(default_factory=dict)

    def note(self, record: LedgerRecord) -> None:
        annotated = read(record, Annotations) if record.type in ANNOTATING else None
        if annotated is not None:
            coid, intent_id = annotated.order_id, annotated.intent
        else:
            coid, intent_id = order_links(record)
        if coid and intent_id:
            self.intent_of[coid] = intent_id
        if annotated is None:
            return
        found = _annotations(annotated)
        if coid:
            self.by_order.setdefault(coid, _Annotations()).merge(found)
        if intent_id:
            self.by_intent.setdefault(intent_id, _Annotations()).merge(found)

    def behind(self, fill: Fill, intent_id: str | None) -> _Annotations:
        """Everything linked through the intent id, then through the client order id."""
        merged = _Annotations()
        linked_intent = intent_id or self.intent_of.get(fill.client_order_id)
        if linked_intent and linked_intent in self.by_intent:
            merged.merge(self.by_intent[linked_intent])
        if fill.client_order_id in self.by_order:
            merged.merge(self.by_order[fill.client_order_id])
        return merged


def trade_rows(records: Sequence[LedgerRecord], period: ReportPeriod) -> list[TradeRow]:
    """The period's fills, oldest first, each with the model versions and risk flags behind it."""
    decisions = _Decisions()
    fills: list[tuple[FillPayload, int]] = []
    for record in sorted(records, key=lambda r: r.sequence):
        if record.type is RecordType.FILL:
            booked = read_fill(record)
            if period.contains(booked.ts):
                fills.append((booked, record.sequence))
        elif record.ts < period.end:
            decisions.note(record)
    seen: dict[str, int] = {}
    rows = []
    for fill, sequence in fills:
        if fill.fill_id in seen:
            raise LedgerError(
                f"fill {fill.fill_id!r} appears twice in the period (ledger records "
                f"{seen[fill.fill_id]} and {sequence}); the ledger must book a fill once"
            )
        seen[fill.fill_id] = sequence
        merged = decisions.behind(fill, fill.intent_id or None)
        rows.append(TradeRow(fill, merged.model_versions, merged.risk_flags))
    rows.sort(key=lambda row: (row.fill.ts, row.fill.venue, row.fill.fill_id))
    return rows
