"""Faults the tests arm on the fake server, each used up by the request it hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FaultKind(Enum):
    DROP = "drop"
    """Close the connection before the request is processed: nothing happened."""
    DROP_AFTER_ACCEPT = "drop_after_accept"
    """Process the request (an order is placed), then close the connection unanswered."""
    STALL_AFTER_ACCEPT = "stall_after_accept"
    """Process the request, then hold the answer until the client gives up (a timeout)."""
    SERVER_ERROR = "server_error"
    """Answer 503 without processing, as Binance does when its backend is overloaded."""
    ERROR = "error"
    """Answer with a given Binance error code, message and HTTP status, unprocessed."""


@dataclass
class Fault:
    kind: FaultKind
    method: str
    path: str
    times: int = 1
    code: int = 0
    msg: str = ""
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = field(default=0)


@dataclass
class Faults:
    armed: list[Fault] = field(default_factory=list)

    def arm(self, fault: Fault) -> Fault:
        self.armed.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.armed:
            if fault.method == method and fault.path == path and fault.hits < fault.times:
                fault.hits += 1
                return fault
        return None
