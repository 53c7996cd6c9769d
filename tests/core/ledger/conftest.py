"""Ledger fixtures: keys, settings, and a fresh SQLite file or PostgreSQL database per test.

PostgreSQL tests use the real server on 127.0.0.1:5432 (trust auth, user
postgres): each test gets a database of its own, dropped afterwards, and any
roles it creates are dropped too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto_bot_core.ledger import Ledger, LedgerSettings, open_ledger
from crypto_bot_core.ledger.signing import private_pem, public_pem

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_admin_execute(sql: str, dbname: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{dbname}", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def signing_key(tmp_path: Path) -> Path:
    path = tmp_path / "signing-key.pem"
    path.write_bytes(private_pem(Ed25519PrivateKey.from_private_bytes(bytes(range(32)))))
    path.chmod(0o600)
    return path


@pytest.fixture
def public_key(tmp_path: Path, signing_key: Path) -> Path:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    path = tmp_path / "public-key.pem"
    path.write_bytes(public_pem(key.public_key()))
    return path


SUBJECT_SECRET = "test-subject-secret-0123456789abcdef"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A new, empty database; its name is returned and it is dropped after the test."""
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    pg_admin_execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        pg_admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{pg_database}?schema=audit"


@pytest.fixture
def pg_roles(pg_database: str) -> Iterator[Callable[[str], str]]:
    """Make uniquely named roles; their grants and the roles are dropped after the test."""
    made: list[str] = []

    def make(kind: str) -> str:
        name = f"ledger_{kind}_{uuid.uuid4().hex[:8]}"
        made.append(name)
        return name

    yield make
    for name in made:
        pg_admin_execute(
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') "
            f"THEN EXECUTE 'DROP OWNED BY {name}'; END IF; END $$",
            pg_database,
        )
        pg_admin_execute(f"DROP ROLE IF EXISTS {name}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings_for(signing_key: Path) -> Callable[..., LedgerSettings]:
    def make(url: str, **extra: object) -> LedgerSettings:
        values: dict[str, object] = {
            "url": url,
            "signing_key": str(signing_key),
            "subject_secret": SUBJECT_SECRET,
            "sqlite_synchronous": "NORMAL",
        }
        values.update(extra)
        return LedgerSettings.model_validate(values)

    return make


@pytest.fixture
def ledger(backend_url: str, settings_for: Callable[..., LedgerSettings]) -> Iterator[Ledger]:
    with open_ledger(settings=settings_for(backend_url)) as opened:
        yield opened
