"""Fixtures of the run-folder tests: a small paper session, the loaded host, PostgreSQL ledgers.

The session trades two spot markets on one paper venue with fast moving
averages, so a few hundred bars make a few dozen orders and fills: enough to
tamper with, quick to run. PostgreSQL tests use the real server on
127.0.0.1:5432 (trust auth, user postgres), each in a database of its own that
is dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from run_sessions import SESSION, Invoke, Session
from typer.testing import CliRunner

from crypto_bot_core.config import LoadedConfig, parse_config
from crypto_bot_core.host import Host

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture(scope="module")
def host() -> Host:
    return Host(environ={}).load()


@pytest.fixture
def session(tmp_path: Path) -> Session:
    """A paper session's config; ``ledger_url`` shares a ledger, ``run_dir`` moves the folders."""

    def make(
        *, ledger_url: str | None = None, run_dir: Path | None = None, bars: int = 120
    ) -> LoadedConfig:
        text = SESSION.format(
            run_dir=(run_dir or tmp_path / "runs").as_posix(),
            bars=bars,
            ledger=f'ledger: {{url: "{ledger_url}"}}' if ledger_url else "",
        )
        return parse_config(text, source="session.yaml", environ={})

    return make


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """``cryptobot ARGS`` in this process, from ``tmp_path``: (exit code, stdout, stderr)."""
    from crypto_bot_core.cli.app import app

    monkeypatch.chdir(tmp_path)
    for key in [k for k in __import__("os").environ if k.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(key)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*args])
        return result.exit_code, result.stdout, result.stderr

    return run


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def pg_ledger_url() -> Iterator[str]:
    """A fresh database for one test's ledger (dropped afterwards), as a ledger URL."""
    name = f"run_test_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name}")
    try:
        yield f"{PG_SERVER}/{name}?schema=audit"
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None: each run folder's own SQLite ledger; else a PostgreSQL ledger."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_ledger_url"))
