"""Ledger stores, chosen by URL: ``sqlite:///PATH`` (default) or ``postgresql://…``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crypto_bot_core.ledger.settings import is_postgres, sqlite_path
from crypto_bot_core.ledger.stores.base import LedgerStore
from crypto_bot_sdk import ConfigError

if TYPE_CHECKING:
    from crypto_bot_core.ledger.settings import LedgerSettings


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

        return SqliteStore(
            url,
            sqlite_path(url),
            synchronous=settings.sqlite_synchronous,
            busy_timeout_s=settings.busy_timeout_s,
            read_only=read_only,
        )
    raise ConfigError(
        f"{url!r} is not a ledger URL; use sqlite:///PATH or postgresql://USER@HOST/DB",
        key="ledger.url",
    )


__all__ = ["LedgerStore", "open_store"]
