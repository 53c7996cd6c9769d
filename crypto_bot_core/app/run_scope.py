"""Which run a run folder is, what of a ledger is that run's, and whether it may be continued.

Several runs may write one ledger (a PostgreSQL URL in their configs). A run's
resume must then read only its own records: its id comes from its run folder
(``run.json``, written when the run starts; the folder's name for folders made
before that file existed) and never from "the first start record in the
ledger". Every record a paper or live run writes names its run: order records
by their client order id (which carries the run's prefix), the rest by a
``run_id`` in the payload, added here (:class:`RunStampedLog`) where the engine
did not put one.

Before a resume or a kill acts, the ledger must prove itself (its whole chain,
checkpoints and the database's own protection: :meth:`Ledger.verify`), and
every simulated venue the ledger says took orders must still have its saved
state in ``venues/``. Either failing is a refusal naming what is wrong, with
an exit code of its own; nothing is sent, booked or recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from crypto_bot_core.engine.durability import FORMAT as VENUE_STATE_FORMAT
from crypto_bot_core.engine.durability import write_atomically
from crypto_bot_core.engine.reconcile import LedgerState
from crypto_bot_core.engine.resume import VenueStateError, accepted_orders
from crypto_bot_sdk import CryptoBotError, LedgerError, RecordType

RUN_FILE = "run.json"


class LedgerUntrustedError(CryptoBotError):
    """The ledger failed verification: a resume or kill will not act on it."""

    exit_code = 3


def write_run_file(run_dir: Path, run_id: str, ledger_url: str) -> None:
    """Name the run its folder holds (read back by :func:`run_id_of` at a resume or kill)."""
    document = {"run_id": run_id, "ledger_url": ledger_url}
    write_atomically(run_dir / RUN_FILE, json.dumps(document, indent=2, sort_keys=True) + "\n")


def run_id_of(run_dir: Path) -> str:
    """The run id of ``run_dir``: its ``run.json``, else (an older folder) the folder's name."""
    path = run_dir / RUN_FILE
    if not path.exists():
        return run_dir.resolve().name
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        run_id = document["run_id"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LedgerError(
            f"{path} is unreadable or names no run_id ({exc}); it says which run of the "
            'ledger this folder holds: restore it, or write {"run_id": "<the run id>"}'
        ) from exc
    if not isinstance(run_id, str) or not run_id:
        raise LedgerError(f"{path}: run_id must be a non-empty string, not {run_id!r}")
    return run_id


class RunStampedLog:
    """The engine's ledger with the run's id added to every record that names no run.

    Order records are left as they are (their client order id names the run);
    decisions, funding, alerts and the like get ``run_id``, so a resume in a
    ledger shared by several runs can tell its records from the others'.
    """

    def __init__(self, ledger: Any, run_id: str) -> None:
        self._ledger = ledger
        self.run_id = run_id
        if hasattr(ledger, "append_many"):
            self.append_many = self._append_many

    def _stamped(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        if "run_id" in payload or "client_order_id" in payload:
            return payload
        return {**payload, "run_id": self.run_id}

    def append(
        self, type: RecordType, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> object:
        return self._ledger.append(type, self._stamped(payload), ts=ts)

    def _append_many(self, items: Sequence[Any], *, ts: datetime | None = None) -> Any:
        stamped = [(item[0], self._stamped(item[1]), *item[2:]) for item in items]
        return self._ledger.append_many(stamped, ts=ts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


def verify_before_acting(ledger: Any, run_dir: Path, action: str) -> None:
    """Refuse to ``action`` (resume, kill) a run whose ledger does not verify.

    The whole ledger is checked (chain, Merkle roots and signatures at every
    checkpoint, the database's triggers), not only this run's records: a
    record changed anywhere breaks every later link, and a cheaper check of
    the tail alone would trust whatever came before it.
    """
    url = getattr(ledger, "url", "the ledger")
    # The run folder's published checkpoint anchors a shared or server ledger too (a
    # SQLite ledger inside the folder finds it by itself): a rewrite with recomputed
    # hashes or a cut tail after it is caught before anything is sent.
    latest = run_dir / "checkpoint.json"
    try:
        report = ledger.verify(published=[latest] if latest.is_file() else [])
    except CryptoBotError as exc:
        raise LedgerUntrustedError(
            f"refusing to {action} {run_dir}: its ledger {url} could not be verified ({exc}); "
            f"see `cryptobot ledger verify --url {url}`"
        ) from exc
    if report.ok:
        return
    problem = report.first_problem()
    where = f" at record {problem.sequence}" if problem and problem.sequence is not None else ""
    more = f" (and {len(report.problems) - 1} more problem(s))" if len(report.problems) > 1 else ""
    raise LedgerUntrustedError(
        f"refusing to {action} {run_dir}: its ledger {url} fails verification{where}: "
        f"{problem.message if problem else 'unknown problem'}{more}. Nothing was sent or "
        f"recorded; investigate with `cryptobot ledger verify --url {url}` and restore the "
        "ledger from a verified backup"
    )


def check_venue_files(
    run_dir: Path, state: LedgerState, durable: Sequence[str], action: str = "resume"
) -> None:
    """Refuse a resume whose simulated venues lost the state the ledger says they had.

    A venue that accepted any order of this run (a status beyond the intent, or
    a fill) had its state saved at that moment, so its file must be there and
    readable. A venue that never took an order may start afresh: that is a
    crash before its first save, not a loss.
    """
    folder = run_dir / "venues"
    for venue, cids in sorted(accepted_orders(state).items()):
        if venue not in durable:
            continue
        path = folder / f"{venue}.json"
        what = f"{len(cids)} order(s) the ledger says venue {venue!r} accepted"
        if not path.exists():
            raise VenueStateError(
                f"refusing to {action}: {path} is missing, yet the ledger holds {what}; the "
                "venue would restart empty and those orders, fills and positions would be lost. "
                "Restore the file from a backup; nothing was sent or recorded"
            )
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VenueStateError(
                f"refusing to {action}: {path} is unreadable or cut short ({exc}), and the ledger "
                f"holds {what}. Restore the file from a backup; nothing was sent or recorded"
            ) from exc
        if (
            not isinstance(document, dict)
            or document.get("format") != VENUE_STATE_FORMAT
            or document.get("venue") != venue
            or not isinstance(document.get("state"), dict)
        ):
            raise VenueStateError(
                f"refusing to {action}: {path} is not a saved state of venue {venue!r} (format "
                f"{VENUE_STATE_FORMAT}), and the ledger holds {what}. Restore the file from a "
                "backup; nothing was sent or recorded"
            )
