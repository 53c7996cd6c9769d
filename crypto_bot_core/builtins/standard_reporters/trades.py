"""From ledger records to trade rows: fills in the period, with the decisions behind them.

The payload shapes read here are the contract with the engine, written down
in ``docs/builtins/ledger-payloads.md``:

* ``fill``: ``Fill.model_dump(mode="json")``, optionally plus ``intent_id``;
* ``decision`` and ``order.intent``: ``client_order_id`` and/or ``intent_id``
  to link them, plus any of ``model_versions`` (name -> version),
  ``risk_flags`` (name -> value) and ``risk_verdicts`` (a list of
  ``RiskVerdict.model_dump(mode="json")``; each figure becomes the flag
  ``<rule>.<figure>``, a non-approval also ``<rule>.action``);
* any ``order.*`` record whose payload has ``client_order_id`` and
  ``intent_id``, at the top level or under ``request`` (an ``Order`` or
  ``OrderRequest`` dump), tells which intent an order came from.

Only records before the period's end are read for links: a decision cannot
come after the fill it explains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from crypto_bot_sdk import Fill, LedgerError, LedgerRecord, RecordType, ReportPeriod

_ANNOTATING = frozenset({RecordType.DECISION, RecordType.ORDER_INTENT})


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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _string_map(value: Any, record: LedgerRecord, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise LedgerError(
            f"ledger record {record.sequence} ({record.type.value}): '{key}' must be an object "
            f"of names to values, not {type(value).__name__}"
        )
    return {str(k): _text(v) for k, v in value.items() if v is not None}


def _annotations(record: LedgerRecord) -> _Annotations:
    payload = record.payload
    found = _Annotations(
        model_versions=_string_map(payload.get("model_versions"), record, "model_versions")
    )
    verdicts = payload.get("risk_verdicts") or []
    if not isinstance(verdicts, list):
        raise LedgerError(
            f"ledger record {record.sequence} ({record.type.value}): 'risk_verdicts' must be a "
            "list of RiskVerdict objects"
        )
    for verdict in verdicts:
        if not isinstance(verdict, Mapping) or "rule" not in verdict:
            raise LedgerError(
                f"ledger record {record.sequence} ({record.type.value}): a risk verdict lacks "
                "its 'rule'"
            )
        rule = str(verdict["rule"])
        for name, value in (verdict.get("figures") or {}).items():
            found.risk_flags[f"{rule}.{name}"] = _text(value)
        if verdict.get("action", "approve") != "approve":
            found.risk_flags[f"{rule}.action"] = _text(verdict["action"])
    found.risk_flags.update(_string_map(payload.get("risk_flags"), record, "risk_flags"))
    return found


def payload_ids(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(client_order_id, intent_id) of a payload, from its top level or its ``request``."""
    request = payload.get("request")
    nested = request if isinstance(request, Mapping) else {}
    coid = payload.get("client_order_id") or nested.get("client_order_id")
    intent = payload.get("intent_id") or nested.get("intent_id")
    return (str(coid) if coid else None, str(intent) if intent else None)


def parse_fill(record: LedgerRecord) -> tuple[Fill, str | None]:
    payload = dict(record.payload)
    intent_id = payload.pop("intent_id", None)
    try:
        fill = Fill.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise LedgerError(
            f"ledger record {record.sequence} (fill) is not a Fill: {problems}"
        ) from exc
    return fill, (str(intent_id) if intent_id else None)


def trade_rows(records: Sequence[LedgerRecord], period: ReportPeriod) -> list[TradeRow]:
    """The period's fills, oldest first, each with the model versions and risk flags behind it."""
    ordered = sorted(records, key=lambda r: r.sequence)
    intent_of: dict[str, str] = {}
    by_order: dict[str, _Annotations] = {}
    by_intent: dict[str, _Annotations] = {}
    fills: list[tuple[Fill, str | None, int]] = []
    for record in ordered:
        if record.type is RecordType.FILL:
            fill, intent_id = parse_fill(record)
            if period.contains(fill.ts):
                fills.append((fill, intent_id, record.sequence))
            continue
        if record.ts >= period.end:
            continue
        coid, intent_id = payload_ids(record.payload)
        if coid and intent_id:
            intent_of[coid] = intent_id
        if record.type in _ANNOTATING:
            found = _annotations(record)
            if coid:
                by_order.setdefault(coid, _Annotations()).merge(found)
            if intent_id:
                by_intent.setdefault(intent_id, _Annotations()).merge(found)
    seen: dict[str, int] = {}
    rows = []
    for fill, intent_id, sequence in fills:
        if fill.fill_id in seen:
            raise LedgerError(
                f"fill {fill.fill_id!r} appears twice in the period (ledger records "
                f"{seen[fill.fill_id]} and {sequence}); the ledger must book a fill once"
            )
        seen[fill.fill_id] = sequence
        merged = _Annotations()
        linked_intent = intent_id or intent_of.get(fill.client_order_id)
        if linked_intent and linked_intent in by_intent:
            merged.merge(by_intent[linked_intent])
        if fill.client_order_id in by_order:
            merged.merge(by_order[fill.client_order_id])
        rows.append(TradeRow(fill, merged.model_versions, merged.risk_flags))
    rows.sort(key=lambda row: (row.fill.ts, row.fill.venue, row.fill.fill_id))
    return rows
