"""Response bodies of the service: every one is a documented model in the OpenAPI spec."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(_Model):
    status: Literal["ok"] = "ok"


class Check(_Model):
    name: str = Field(description="ledger, or exchange:<venue>.")
    ok: bool
    detail: str = Field(description="What was checked, or why it failed.")


class Readiness(_Model):
    ready: bool
    checks: list[Check]


class ComponentView(_Model):
    kind: str
    name: str
    address: str


class PluginView(_Model):
    name: str
    status: Literal["loaded", "refused", "disabled"]
    version: str | None
    kinds: list[str]
    distribution: str | None
    api_range: str | None
    capabilities: list[str]
    reason: str | None = Field(description="Why the plugin is refused or disabled.")
    remedy: str | None
    components: list[ComponentView]


class Plugins(_Model):
    plugins: list[PluginView]


class VerifyProblem(_Model):
    sequence: int | None
    kind: str
    message: str


class LedgerVerification(_Model):
    ok: bool
    records: int
    checkpoints: int
    signatures_checked: int
    receipts_checked: int
    head_hash: str | None
    first_bad_record: int | None
    elapsed_s: float
    problems: list[VerifyProblem]
    notes: list[str]


class EraseRequest(_Model):
    reason: str = Field(
        default="gdpr-art17",
        pattern=r"^[A-Za-z0-9_.:/-]{1,64}$",
        description="A reason code (no free text: the receipt is kept forever).",
    )
    request_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.:/-]{1,64}$", description="Your ticket number."
    )


class ErasureReceipt(_Model):
    subject_ref: str = Field(description="The pseudonymous reference the ledger knows.")
    receipt_sequence: int = Field(description="Ledger record holding the signed receipt.")
    receipt_hash: str
    vault_rows_deleted: int
    key_destroyed: bool
    receipt: dict[str, Any] = Field(description="The signed receipt (verifiable offline).")
    signature: str


class ShutdownRequest(_Model):
    reason: str = Field(min_length=3, max_length=200, description="Why trading stops.")


class OrderView(_Model):
    client_order_id: str
    venue: str
    symbol: str
    side: str
    status: str
    quantity: str
    filled_quantity: str


class PositionView(_Model):
    venue: str
    symbol: str
    quantity: str


class EngineStatus(_Model):
    run_id: str
    mode: str
    state: Literal["starting", "running", "stopped"]
    killed: bool
    equity: str | None
    open_orders: list[OrderView]
    positions: list[PositionView]
    flat: bool = Field(description="No open order and no position on any venue.")


class ShutdownResult(_Model):
    reason: str
    requested_by: str
    problems: list[str] = Field(description="What could not be cancelled or flattened.")
    status: EngineStatus
