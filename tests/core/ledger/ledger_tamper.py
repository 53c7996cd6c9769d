"""Helpers that change a ledger behind its back, the way an attacker with admin rights would.

On SQLite "disabling the triggers" means dropping them (and putting them back);
on PostgreSQL it is a superuser session with ``session_replication_role =
replica``, in which ordinary triggers do not fire.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crypto_bot_core.ledger.settings import sqlite_path
from crypto_bot_core.ledger.stores.postgres_schema import split_url
from crypto_bot_core.ledger.stores.sqlite import SCHEMA, TRIGGERS


def as_admin(url: str, sql: str, params: tuple[Any, ...] = (), *, triggers: bool = False) -> int:
    """Run ``sql`` (``{t}`` is the schema prefix) as the database's superuser.

    With ``triggers=False`` the append-only triggers are out of the way while it
    runs. Returns the number of rows affected.
    """
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        assert path is not None
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            if not triggers:
                for name in TRIGGERS:
                    conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            try:
                return conn.execute(sql.replace("{t}", ""), params).rowcount
            finally:
                if not triggers:
                    conn.executescript(SCHEMA)  # puts the triggers back
        finally:
            conn.close()
    import psycopg

    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as pg:
        if not triggers:
            pg.execute("SET session_replication_role = replica")
        statement = sql.replace("?", "%s").replace("{t}", f"{schema}.")
        return pg.execute(statement, params).rowcount
