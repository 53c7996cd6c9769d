"""The ledger's own error for a file or database that is not a readable ledger.

It is a :class:`~crypto_bot_sdk.LedgerError` (callers catching that still catch
it) with its own class so the CLI can give it its own exit code: "this is not a
ledger, or not one that can be read" is a different answer from "this ledger
failed verification" (a ledger that was tampered with) and from a configuration
mistake, and a script checking ledgers has to tell the three apart.
"""

from __future__ import annotations

from crypto_bot_sdk import LedgerError


class NotALedgerError(LedgerError):
    """The file or schema is empty, unrelated, damaged, or its rows cannot be read."""

    exit_code = 8
    """What ``cryptobot run``, ``run --resume`` and ``cryptobot kill`` exit with when the
    run's ledger is not one (``cryptobot ledger`` has its own table: 5 there)."""
