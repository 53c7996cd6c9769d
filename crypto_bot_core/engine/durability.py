"""Durable simulated venues: their state saved in the run folder after every change.

A paper venue lives in the engine's process, so a crash would take the
"exchange" down with it and there would be nothing to reconcile against. The
store saves each simulated venue's snapshot, atomically (write, fsync,
rename), after every submit or cancel and after every tick that filled
something, together with the tick whose events the venue has fully seen. On
restart the venue is restored and fed only the events after that tick, so it
ends exactly where it would have been.

A venue is durable when its class implements the SDK's ``state_snapshot``
capability (``snapshot_state`` and ``restore_state``); others are skipped.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from crypto_bot_core.engine.fills import overrides
from crypto_bot_sdk import ExchangeAdapter, LedgerError

FORMAT = 1


def _creation_mode() -> int:
    """0o666 less the process umask: the mode ``open(path, "w")`` would give a new file.

    Read from /proc (Linux), since asking ``os.umask`` means setting it, which is
    not safe while other threads create files; 0o022, the usual umask, elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` whole: a reader or a crash sees the old file or the new.

    Each call writes its own temporary file beside ``path`` (``mkstemp``: a unique
    name), so writers of one file -- two ``cryptobot kill`` at once, a run and its
    resume -- never write into, or rename away, each other's; the last rename wins
    and every version on disk is complete. On failure the temporary file is removed
    and ``path`` is left as it was.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), _creation_mode())  # mkstemp creates it 0o600
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class VenueStateStore:
    """Snapshots of the simulated venues among ``adapters``, one JSON file each."""

    def __init__(self, folder: Path, adapters: Mapping[str, ExchangeAdapter[Any]]) -> None:
        self.folder = folder
        self.adapters = {v: a for v, a in adapters.items() if overrides(a, "snapshot_state")}
        self.tick: datetime | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, venue: str) -> Path:
        return self.folder / f"{venue}.json"

    def persist(self, venue: str) -> None:
        adapter = self.adapters.get(venue)
        if adapter is None:
            return
        document = {
            "format": FORMAT,
            "venue": venue,
            "tick": self.tick.isoformat() if self.tick else None,
            "state": adapter.snapshot_state(),
        }
        write_atomically(self.path(venue), json.dumps(document, sort_keys=True))

    def persist_all(self) -> None:
        for venue in self.adapters:
            self.persist(venue)

    def restore_all(self) -> dict[str, datetime | None]:
        """Load every saved venue; return each venue's last fully processed tick."""
        marks: dict[str, datetime | None] = {}
        for venue, adapter in self.adapters.items():
            path = self.path(venue)
            if not path.exists():
                marks[venue] = None
                continue
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise LedgerError(
                    f"venue state {path} is unreadable ({exc}); the run cannot be resumed "
                    "safely — inspect or restore the file from a backup"
                ) from exc
            if document.get("format") != FORMAT or document.get("venue") != venue:
                raise LedgerError(f"{path} is not a saved state of venue {venue!r}")
            adapter.restore_state(document["state"])
            tick = document.get("tick")
            marks[venue] = datetime.fromisoformat(tick) if tick else None
        return marks
