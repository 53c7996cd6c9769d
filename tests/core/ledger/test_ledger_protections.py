"""The database's own protection, as a hostile owner would test it, and what verify says.

* SQLite: ``INSERT OR REPLACE`` (which deletes the row it replaces without a
  DELETE trigger) is refused; ``verify`` opens the file read-only, so a dropped
  or rewritten trigger stays missing and is reported; files that are not a
  ledger (empty, unrelated, garbage, half written) are refused with their own
  exit code, untouched; a body stored as TEXT is reported, never a traceback.
* PostgreSQL: a trigger switched to ``ENABLE REPLICA`` or ``ENABLE ALWAYS``, or
  disabled on one partition only, or a replaced trigger function, is reported.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from ledger_tamper import as_admin
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app
from crypto_bot_core.ledger import LedgerSettings, NotALedgerError, open_ledger
from crypto_bot_core.ledger.settings import sqlite_path
from crypto_bot_core.ledger.stores.postgres_schema import split_url
from crypto_bot_sdk import RecordType

runner = CliRunner()


@pytest.fixture
def env(signing_key: Path) -> dict[str, str]:
    return {
        "CRYPTOBOT_LEDGER_SIGNING_KEY": str(signing_key),
        "CRYPTOBOT_LEDGER_SUBJECT_SECRET": "protections-secret-0123456789abcdef",
    }


def _fill(url: str, settings_for: Callable[..., LedgerSettings], count: int = 8) -> None:
    with open_ledger(settings=settings_for(url)) as ledger:
        ledger.append_many([(RecordType.DECISION, {"i": i}) for i in range(count)])
        ledger.checkpoint()


def _verify(env: dict[str, str], url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["ledger", "verify", "--url", url, *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def sqlite_ledger(sqlite_url: str, settings_for: Callable[..., LedgerSettings]) -> Path:
    _fill(sqlite_url, settings_for)
    path = sqlite_path(sqlite_url)
    assert path is not None
    return path


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# --- SQLite -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        (
            "INSERT OR REPLACE INTO ledger_records (seq, hash, body) VALUES (3, ?, ?)",
            (
                bytes(32),
                b'{"payload":{"i":99},"seq":3,"ts":"2026-01-01T00:00:00.000000Z",'
                b'"type":"decision"}',
            ),
        ),
        ("REPLACE INTO ledger_meta (key, value) VALUES ('ledger_id', 'forged')", ()),
        (
            "INSERT OR REPLACE INTO ledger_checkpoints SELECT tree_size, ledger_id, ts, root, "
            "chain_head, key_id, zeroblob(64), compact FROM ledger_checkpoints",
            (),
        ),
    ],
    ids=["records", "meta", "checkpoints"],
)
def test_insert_or_replace_cannot_rewrite_history(
    sqlite_ledger: Path, sql: str, params: tuple[bytes, ...]
) -> None:
    conn = _raw(sqlite_ledger)
    try:
        before = conn.execute("SELECT seq, hash, body FROM ledger_records ORDER BY seq").fetchall()
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql, params)
        after = conn.execute("SELECT seq, hash, body FROM ledger_records ORDER BY seq").fetchall()
    finally:
        conn.close()
    assert after == before


def test_a_dropped_trigger_is_reported_and_not_put_back(
    sqlite_ledger: Path, env: dict[str, str]
) -> None:
    conn = _raw(sqlite_ledger)
    conn.execute("DROP TRIGGER ledger_records_no_update")
    conn.close()
    url = f"sqlite:///{sqlite_ledger}"
    code, out = _verify(env, url)
    assert code == 1
    assert "the append-only trigger ledger_records_no_update is missing" in out
    assert "OK" not in out.split("\n")[0]
    conn = _raw(sqlite_ledger)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    conn.close()
    assert "ledger_records_no_update" not in names  # verify changed nothing
    assert _verify(env, url)[0] == 1  # and says so again


def test_a_neutralised_trigger_is_reported(sqlite_ledger: Path, env: dict[str, str]) -> None:
    conn = _raw(sqlite_ledger)
    conn.executescript(
        "DROP TRIGGER ledger_records_no_replace; CREATE TRIGGER ledger_records_no_replace "
        "BEFORE INSERT ON ledger_records BEGIN SELECT 1; END;"
    )
    conn.close()
    code, out = _verify(env, f"sqlite:///{sqlite_ledger}")
    assert code == 1
    assert "the append-only trigger ledger_records_no_replace was altered" in out


def test_a_writer_reopening_a_ledger_does_not_repair_its_protection(
    sqlite_ledger: Path, env: dict[str, str], settings_for: Callable[..., LedgerSettings]
) -> None:
    conn = _raw(sqlite_ledger)
    conn.execute("DROP TRIGGER ledger_records_no_delete")
    conn.close()
    url = f"sqlite:///{sqlite_ledger}"
    with open_ledger(settings=settings_for(url)) as ledger:
        ledger.append(RecordType.DECISION, {"i": 100})
    code, out = _verify(env, url)
    assert code == 1
    assert "ledger_records_no_delete is missing" in out


def _half_written(tmp_path: Path, sqlite_ledger: Path) -> Path:
    path = tmp_path / "half.sqlite"
    path.write_bytes(sqlite_ledger.read_bytes()[:2048])
    return path


def _unrelated(tmp_path: Path, _: Path) -> Path:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    return path


def _empty(tmp_path: Path, _: Path) -> Path:
    path = tmp_path / "empty.sqlite"
    path.write_bytes(b"")
    return path


def _garbage(tmp_path: Path, _: Path) -> Path:
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not a database\n" * 200)
    return path


@pytest.mark.parametrize("make", [_empty, _unrelated, _garbage, _half_written])
@pytest.mark.parametrize("command", ["verify", "show"])
def test_a_file_that_is_not_a_ledger_is_refused_untouched(
    tmp_path: Path,
    sqlite_ledger: Path,
    env: dict[str, str],
    make: Callable[[Path, Path], Path],
    command: str,
) -> None:
    path = make(tmp_path, sqlite_ledger)
    before = path.read_bytes()
    result = runner.invoke(app, ["ledger", command, "--url", f"sqlite:///{path}"], env=env)
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert result.exit_code == 5
    assert str(path) in result.stderr
    assert "OK" not in result.stdout
    assert path.read_bytes() == before  # no ledger tables were created in it


def test_a_writer_refuses_to_turn_an_unrelated_database_into_a_ledger(
    tmp_path: Path, settings_for: Callable[..., LedgerSettings]
) -> None:
    path = _unrelated(tmp_path, tmp_path)
    with pytest.raises(NotALedgerError, match="customers"):
        open_ledger(settings=settings_for(f"sqlite:///{path}"))
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert tables == {"customers"}


def test_a_body_stored_as_text_is_reported_not_a_traceback(
    sqlite_ledger: Path, env: dict[str, str]
) -> None:
    url = f"sqlite:///{sqlite_ledger}"
    as_admin(url, "UPDATE ledger_records SET body = CAST(body AS TEXT) WHERE seq = 2")
    as_admin(
        url,
        "UPDATE ledger_records SET body = replace(CAST(body AS TEXT), '\"i\":5', '\"i\":7') "
        "WHERE seq = 5",
    )
    code, out = _verify(env, url)
    assert code == 1
    assert "record 2: its hash is stored as blob and its body as text" in out
    assert "record 5: its bytes" in out
    shown = runner.invoke(app, ["ledger", "show", "--url", url], env=env)
    assert shown.exit_code == 0, shown.output
    assert '{"i":7}' in shown.stdout


# --- PostgreSQL -------------------------------------------------------------------------


def _pg(url: str, sql: str) -> None:
    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.replace("{s}", schema))


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "ALTER TABLE {s}.ledger_records ENABLE REPLICA TRIGGER ledger_records_no_change",
            "ledger_records_no_change on ledger_records is set to ENABLE REPLICA",
        ),
        (
            "ALTER TABLE {s}.ledger_checkpoints ENABLE ALWAYS TRIGGER ledger_checkpoints_no_change",
            "ledger_checkpoints_no_change on ledger_checkpoints is set to ENABLE ALWAYS",
        ),
        (
            "ALTER TABLE {s}.ledger_records_default DISABLE TRIGGER ledger_records_no_change",
            "ledger_records_no_change on ledger_records_default is disabled",
        ),
        (
            "DROP TRIGGER ledger_meta_no_change ON {s}.ledger_meta",
            "ledger_meta_no_change is missing on ledger_meta",
        ),
        (
            "CREATE OR REPLACE FUNCTION {s}.ledger_refuse_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
            "ledger_refuse_change was replaced",
        ),
    ],
    ids=["replica", "always", "partition-disabled", "dropped", "function"],
)
def test_postgres_protection_switched_off_is_reported(
    pg_url: str,
    settings_for: Callable[..., LedgerSettings],
    env: dict[str, str],
    sql: str,
    expected: str,
) -> None:
    _fill(pg_url, settings_for)
    assert _verify(env, pg_url)[0] == 0
    _pg(pg_url, sql)
    code, out = _verify(env, pg_url)
    assert code == 1
    assert expected in out


@pytest.mark.postgres
def test_postgres_schema_without_a_ledger_is_refused(pg_url: str, env: dict[str, str]) -> None:
    _pg(pg_url, "CREATE SCHEMA {s}")
    code, out = _verify(env, pg_url)
    assert code == 5
    assert "holds no ledger" in out
    conninfo, schema = split_url(pg_url)
    with psycopg.connect(conninfo) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchone()
    assert found == (0,)  # verify created nothing


@pytest.mark.postgres
def test_a_body_that_is_not_json_is_reported_by_verify_and_show(
    pg_url: str, settings_for: Callable[..., LedgerSettings], env: dict[str, str]
) -> None:
    _fill(pg_url, settings_for)
    as_admin(pg_url, "UPDATE {t}ledger_records SET body = ? WHERE seq = 4", (b"\xffnot json",))
    code, out = _verify(env, pg_url)
    assert code == 1
    assert "record 4: stored record is not JSON" in out
    shown = runner.invoke(app, ["ledger", "show", "--url", pg_url], env=env)
    assert "Traceback" not in shown.output
    assert shown.exit_code == 1
    assert "record 4 cannot be read back" in shown.stderr


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("manifest.json", "[1, 2]", "manifest.json is not what a ledger bundle holds"),
        ("manifest.json", "{half", "is not a ledger bundle"),
        ("checkpoints.json", '{"not": "a list"}', "checkpoints.json is not what a ledger"),
        ("checkpoints.json", "[7]", "checkpoints.json"),
    ],
)
def test_a_damaged_bundle_is_named_not_a_traceback(
    sqlite_ledger: Path,
    tmp_path: Path,
    env: dict[str, str],
    *,
    name: str,
    content: str,
    expected: str,
) -> None:
    bundle = tmp_path / "bundle"
    exported = runner.invoke(
        app,
        ["ledger", "export", "--to", str(bundle), "--url", f"sqlite:///{sqlite_ledger}"],
        env=env,
    )
    assert exported.exit_code == 0, exported.output
    (bundle / name).write_text(content)
    result = runner.invoke(app, ["ledger", "verify", "--bundle", str(bundle)], env=env)
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert result.exit_code == 5
    assert expected in result.stderr


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO {s}.ledger_records SELECT * FROM {s}.ledger_records WHERE seq = 3 "
        "ON CONFLICT (seq, ts) DO UPDATE SET body = '\\x7b7d'::bytea",
        "INSERT INTO {s}.ledger_checkpoints SELECT * FROM {s}.ledger_checkpoints "
        "ON CONFLICT (tree_size) DO UPDATE SET signature = '\\x00'::bytea",
        "INSERT INTO {s}.ledger_meta VALUES ('ledger_id', 'forged') "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ],
    ids=["records", "checkpoints", "meta"],
)
def test_postgres_upserts_cannot_rewrite_history(
    pg_url: str, settings_for: Callable[..., LedgerSettings], env: dict[str, str], sql: str
) -> None:
    """PostgreSQL's INSERT OR REPLACE (ON CONFLICT DO UPDATE) is an UPDATE: refused."""
    _fill(pg_url, settings_for)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        _pg(pg_url, sql)
    assert _verify(env, pg_url)[0] == 0
