"""What agents, risk rules, reporters and the ledger hand each other: signals, verdicts,
report artefacts, ledger records and alerts."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator, model_validator

from crypto_bot_sdk._base import FrozenModel, PositiveMoney, UtcDatetime


class Signal(FrozenModel):
    """An agent's view of one symbol: direction and strength, how sure it is, and why.

    ``score`` is -1 (strong sell) to 1 (strong buy); ``confidence`` 0 to 1.
    ``features`` are the inputs the agent used, kept for explainability and the ledger.
    """

    agent: str = Field(min_length=1)
    symbol: str
    ts: UtcDatetime
    score: float = Field(ge=-1.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = ""
    features: dict[str, float] = Field(default_factory=dict)
    model_version: str | None = None

    @field_validator("score", "confidence")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return value

    @field_validator("features")
    @classmethod
    def _finite_features(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not math.isfinite(v)}
        if bad:
            raise ValueError(f"features must be finite numbers; got {bad}")
        return value


class VerdictAction(StrEnum):
    APPROVE = "approve"
    RESIZE = "resize"
    REJECT = "reject"


class RiskVerdict(FrozenModel):
    """A risk rule's decision about one intent, always with the rule's name and a reason."""

    rule: str = Field(min_length=1)
    action: VerdictAction
    reason: str = ""
    quantity: PositiveMoney | None = None
    figures: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _explained(self) -> RiskVerdict:
        if self.action is not VerdictAction.APPROVE and not self.reason.strip():
            raise ValueError(
                f"rule {self.rule!r}: a {self.action.value} verdict must give a reason"
            )
        if self.action is VerdictAction.RESIZE and self.quantity is None:
            raise ValueError(f"rule {self.rule!r}: a resize verdict must give the new quantity")
        if self.action is not VerdictAction.RESIZE and self.quantity is not None:
            raise ValueError(f"rule {self.rule!r}: only a resize verdict carries a quantity")
        return self

    @classmethod
    def approve(cls, rule: str, reason: str = "") -> RiskVerdict:
        return cls(rule=rule, action=VerdictAction.APPROVE, reason=reason)

    @classmethod
    def reject(cls, rule: str, reason: str, **figures: object) -> RiskVerdict:
        return cls(
            rule=rule,
            action=VerdictAction.REJECT,
            reason=reason,
            figures={k: str(v) for k, v in figures.items()},
        )

    @classmethod
    def resize(cls, rule: str, quantity: Decimal, reason: str, **figures: object) -> RiskVerdict:
        return cls(
            rule=rule,
            action=VerdictAction.RESIZE,
            quantity=quantity,
            reason=reason,
            figures={k: str(v) for k, v in figures.items()},
        )


class ReportPeriod(FrozenModel):
    """A half-open UTC interval ``[start, end)`` a report covers."""

    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> ReportPeriod:
        if self.end <= self.start:
            raise ValueError(
                f"report period end {self.end.isoformat()} must be after start "
                f"{self.start.isoformat()}"
            )
        return self

    def contains(self, ts: datetime) -> bool:
        return self.start <= ts < self.end


class ReportArtefact(FrozenModel):
    """A finished report: its bytes, media type and file name."""

    reporter: str = Field(min_length=1)
    filename: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    media_type: str = Field(min_length=3, pattern=r"^[\w.+-]+/[\w.+-]+")
    content: bytes
    period: ReportPeriod

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class RecordType(StrEnum):
    """Every kind of record the audit ledger holds."""

    ORDER_INTENT = "order.intent"
    ORDER_SUBMITTED = "order.submitted"
    ORDER_ACKNOWLEDGED = "order.acknowledged"
    ORDER_AMENDED = "order.amended"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_REJECTED = "order.rejected"
    ORDER_PARTIALLY_FILLED = "order.partially_filled"
    ORDER_FILLED = "order.filled"
    ORDER_EXPIRED = "order.expired"
    FILL = "fill"
    FUNDING = "funding"
    DECISION = "decision"
    SYSTEM_START = "system.start"
    SYSTEM_STOP = "system.stop"
    KILL_SWITCH = "system.kill_switch"
    RECONCILIATION = "system.reconciliation"
    ALERT = "system.alert"
    MODEL_REGISTERED = "model.registered"
    MODEL_SIGNED = "model.signed"
    MODEL_APPROVED = "model.approved"
    MODEL_PROMOTED = "model.promoted"
    MODEL_ROLLED_BACK = "model.rolled_back"
    ERASURE_RECEIPT = "gdpr.erasure_receipt"
    PROCESSING_RESTRICTED = "gdpr.processing_restricted"


class LedgerRecord(FrozenModel):
    """One hash-linked ledger entry as readers (reporters, verifiers) see it.

    ``payload`` is the canonical-JSON-able body: decimals as strings, no floats
    that matter for money, no personal data (only pseudonymous subject refs).
    """

    sequence: int = Field(ge=0)
    ts: UtcDatetime
    type: RecordType
    payload: dict[str, Any]
    prev_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"


class Alert(FrozenModel):
    """A notable event for humans: notifier plugins receive it through the alert hook."""

    ts: UtcDatetime
    severity: AlertSeverity
    source: str = Field(min_length=1)
    title: str = Field(min_length=1)
    detail: str = ""
    figures: dict[str, str] = Field(default_factory=dict)
