"""Ledger stores, chosen by URL: ``sqlite:///PATH`` (default) or ``postgresql://…``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from crypto_bot_core.ledger.settings import is_postgres, sqlite_path
from crypto_bot_core.ledger.stores.base import LedgerStore
from crypto_bot_sdk import ConfigError

if TYPE_CHECKING:
    from crypto_bot_core.ledger.settings import LedgerSettings


class LedgerLocationError(ConfigError):
    """``ledger.url`` names a place where no ledger can be created (a configuration error)."""

    exit_code = 2  # bad usage or configuration, as for the run commands and `cryptobot ledger`


def _check_location(url: str, path: Path) -> None:
    """Make the ledger's folder and prove a file can be created in it, or say why not.

    Checked before SQLite opens the file, so a path under /proc, under a regular
    file or on a read-only file system is one message naming the URL and the
    folder, not a traceback from ``mkdir`` or sqlite3's "unable to open database
    file". The probe is a temporary file, gone at once: SQLite also needs to create
    its ``-wal`` and ``-shm`` files beside the ledger, even when the ledger exists.
    """
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = f"the folder {folder} cannot be created ({exc.strerror or exc})"
    else:
        try:
            with tempfile.TemporaryFile(dir=folder, prefix=".cryptobot-probe-"):
                return
        except OSError as exc:
            reason = f"the folder {folder} takes no new files ({exc.strerror or exc})"
    raise LedgerLocationError(
        f"no ledger can be created at {url}: {reason}; point ledger.url "
        "(CRYPTOBOT_LEDGER_URL, --url) at a file in a folder this user can write",
        key="ledger.url",
    )


def open_store(url: str, settings: LedgerSettings, *, read_only: bool = False) -> LedgerStore:
    """The store behind ``url``; ``read_only`` opens without creating anything (verifiers)."""
    if is_postgres(url):
        try:
            from crypto_bot_core.ledger.stores.postgres import PostgresStore
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ConfigError(
                f"{url} needs the PostgreSQL driver: pip install 'crypto-bot-core[postgres]'",
                key="ledger.url",
            ) from exc
        return PostgresStore(
            url, partition_months_ahead=settings.partition_months_ahead, read_only=read_only
        )
    if url.startswith("sqlite://"):
        from crypto_bot_core.ledger.stores.sqlite import SqliteStore

        path = sqlite_path(url)
        if path is not None and not read_only:
            _check_location(url, path)
        return SqliteStore(
            url,
            path,
            synchronous=settings.sqlite_synchronous,
            busy_timeout_s=settings.busy_timeout_s,
            read_only=read_only,
        )
    raise ConfigError(
        f"{url!r} is not a ledger URL; use sqlite:///PATH or postgresql://USER@HOST/DB",
        key="ledger.url",
    )


__all__ = ["LedgerLocationError", "LedgerStore", "open_store"]
