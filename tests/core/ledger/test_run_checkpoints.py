"""Checkpoints a run signs and publishes, and verification that trusts only what it should.

* A ledger with a :class:`CheckpointPolicy` signs a checkpoint every N records (or
  T seconds) and when it is closed, and publishes the latest outside the database
  (the run folder's ``checkpoint.json`` and a publish directory).
* A history rewritten with recomputed hashes before the last checkpoint, or a cut
  tail, is then caught by ``cryptobot ledger verify`` even after the database's
  own checkpoints were deleted; a signature changed only in a published file too.
* A pinned public key ignores the key kept beside the database, and
  ``cryptobot ledger verify-proof`` checks a proof file against a pinned key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ledger_tamper import as_admin
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app
from crypto_bot_core.ledger import CheckpointPolicy, Ledger, LedgerSettings, open_ledger
from crypto_bot_core.ledger.hashing import CHAIN_TAG, GENESIS
from crypto_bot_core.ledger.signing import private_pem, public_pem
from crypto_bot_sdk import LedgerError, RecordType

runner = CliRunner()
SECRET = "run-checkpoint-secret-0123456789abcdef"


@pytest.fixture
def env(signing_key: Path) -> dict[str, str]:
    return {
        "CRYPTOBOT_LEDGER_SIGNING_KEY": str(signing_key),
        "CRYPTOBOT_LEDGER_SUBJECT_SECRET": SECRET,
    }


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / "backtest-1"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def run_url(request: pytest.FixtureRequest, run_dir: Path) -> str:
    """The run folder's own SQLite ledger, or a PostgreSQL database of its own."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{run_dir / 'ledger.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


BACKENDS = pytest.mark.parametrize(
    "run_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def _run(
    url: str,
    settings_for: Callable[..., LedgerSettings],
    run_dir: Path,
    publish: Path | None,
    *,
    count: int = 25,
    every: int = 10,
) -> str:
    """Write ``count`` records one at a time as a run does; return the ledger id."""
    ledger = open_ledger(settings=settings_for(url))
    ledger.checkpoint_during_run(
        CheckpointPolicy(
            every_records=every,
            every_seconds=None,
            latest_file=run_dir / "checkpoint.json",
            publish_dir=publish,
        )
    )
    for i in range(count):
        ledger.append(RecordType.DECISION, {"i": i})
    ledger_id = ledger.ledger_id
    ledger.close()
    return ledger_id


def _rewrite_from(url: str, seq: int) -> None:
    """Change record ``seq`` and recompute every hash from it on, then drop the database's
    checkpoints: what an owner able to bypass the triggers can do to the database."""
    with open_ledger(url) as ledger:
        end = len(ledger)
        rows = [row for page in ledger.store.chain_pages(0, end) for row in page]
    prev = bytes(rows[seq - 1][1]) if seq else GENESIS
    for number, _, stored in rows[seq:]:
        body = bytes(stored)
        if number == seq:
            body = body.replace(f'"i":{seq}}}'.encode(), b'"i":999}')
        digest = hashlib.sha256(CHAIN_TAG + prev + body).digest()
        as_admin(
            url,
            "UPDATE {t}ledger_records SET hash = ?, body = ? WHERE seq = ?",
            (digest, body, number),
        )
        prev = digest
    as_admin(url, "DELETE FROM {t}ledger_checkpoints")


def _verify(env: dict[str, str], url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["ledger", "verify", "--url", url, *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout + result.stderr


@BACKENDS
def test_a_run_checkpoints_every_n_records_and_when_it_closes(
    run_url: str, run_dir: Path, tmp_path: Path, settings_for: Callable[..., LedgerSettings]
) -> None:
    publish = tmp_path / "published"
    ledger_id = _run(run_url, settings_for, run_dir, publish)
    with open_ledger(settings=settings_for(run_url)) as ledger:
        assert [cp.tree_size for cp in ledger.checkpoints()] == [10, 20, 25]
        last = ledger.checkpoints()[-1]
    latest = json.loads((run_dir / "checkpoint.json").read_text())
    assert (latest["tree_size"], latest["root"]) == (25, last.root.hex())
    history = sorted(p.name for p in (publish / ledger_id).glob("checkpoint-*.json"))
    assert history == [f"checkpoint-{n:012d}.json" for n in (10, 20, 25)]
    assert json.loads((publish / ledger_id / "checkpoint.json").read_text()) == latest


def test_a_time_budget_checkpoints_without_a_record_count(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        ledger.checkpoint_during_run(CheckpointPolicy(every_records=None, every_seconds=1e-9))
        for i in range(3):
            ledger.append(RecordType.DECISION, {"i": i})
        assert [cp.tree_size for cp in ledger.checkpoints()] == [1, 2, 3]


def test_a_batched_writer_pays_a_counter_per_batch_not_a_checkpoint_per_record(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        ledger.checkpoint_during_run(CheckpointPolicy(every_records=1000, every_seconds=None))
        ledger.extend_prepared(
            [Ledger.prepare((RecordType.DECISION, {"i": i})) for i in range(999)]
        )
        assert ledger.checkpoints() == []
        ledger.extend_prepared([Ledger.prepare((RecordType.DECISION, {"i": i})) for i in range(5)])
        assert [cp.tree_size for cp in ledger.checkpoints()] == [1004]


@BACKENDS
def test_a_rewrite_with_recomputed_hashes_before_the_last_checkpoint_is_caught(
    run_url: str,
    run_dir: Path,
    tmp_path: Path,
    settings_for: Callable[..., LedgerSettings],
    env: dict[str, str],
) -> None:
    publish = tmp_path / "published"
    _run(run_url, settings_for, run_dir, publish)
    published = ("--checkpoint", str(run_dir / "checkpoint.json"))
    assert _verify(env, run_url, *published)[0] == 0
    _rewrite_from(run_url, 4)
    shutil.rmtree(run_dir / "ledger.sqlite.checkpoints", ignore_errors=True)
    # The chain itself is consistent again: only a checkpoint outside the database shows it.
    code, out = _verify(env, run_url, *published)
    assert code == 1
    assert "the Merkle root of the first 25 records is" in out
    assert "OK" not in out.split("\n")[0]
    # The run folder's copy gone too: the publish directory still holds the anchor.
    (run_dir / "checkpoint.json").unlink()
    code, out = _verify(env, run_url, "--checkpoint", str(publish))
    assert code == 1
    assert "the Merkle root of the first" in out


def test_the_run_folders_checkpoint_is_found_without_being_named(
    run_dir: Path, settings_for: Callable[..., LedgerSettings], env: dict[str, str]
) -> None:
    url = f"sqlite:///{run_dir / 'ledger.sqlite'}"
    _run(url, settings_for, run_dir, None)
    _rewrite_from(url, 2)
    shutil.rmtree(run_dir / "ledger.sqlite.checkpoints")
    code, out = _verify(env, url)
    assert code == 1
    assert "checked against 1 published checkpoint file(s), the latest of size 25" in out


@BACKENDS
def test_a_cut_tail_is_caught_by_the_published_checkpoint(
    run_url: str,
    run_dir: Path,
    settings_for: Callable[..., LedgerSettings],
    env: dict[str, str],
) -> None:
    _run(run_url, settings_for, run_dir, None)
    as_admin(run_url, "DELETE FROM {t}ledger_records WHERE seq >= 18")
    as_admin(run_url, "DELETE FROM {t}ledger_checkpoints")
    shutil.rmtree(run_dir / "ledger.sqlite.checkpoints", ignore_errors=True)
    code, out = _verify(env, run_url, "--checkpoint", str(run_dir / "checkpoint.json"))
    assert code == 1
    assert "records 18..24 were removed" in out


def test_a_signature_changed_only_in_a_published_file_is_caught(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings], env: dict[str, str]
) -> None:
    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        ledger.append_many([(RecordType.DECISION, {"i": i}) for i in range(6)])
        ledger.checkpoint()
        folder = ledger.checkpoint_dir()
    assert folder is not None
    (published,) = folder.glob("checkpoint-*.json")
    doc = json.loads(published.read_text())
    signature = bytearray(base64.b64decode(doc["signature"]))
    signature[5] ^= 0x01
    doc["signature"] = base64.b64encode(bytes(signature)).decode()
    published.write_text(json.dumps(doc))
    code, out = _verify(env, sqlite_url)
    assert code == 1
    assert f"{published}: the checkpoint of size 6 has an invalid signature" in out


def _replace_embedded_key_and_resign(url: str, db: Path) -> None:
    """The attack: rewrite history, put a new key beside the database, sign it afresh."""
    _rewrite_from(url, 2)
    shutil.rmtree(db.with_name(db.name + ".checkpoints"))
    db.with_name(db.name + ".signing-key.pub.pem").unlink()
    key_file = db.with_name(db.name + ".signing-key.pem")
    key_file.write_bytes(private_pem(Ed25519PrivateKey.generate()))
    with open_ledger(
        settings=LedgerSettings(url=url, subject_secret=SECRET, sqlite_synchronous="NORMAL")
    ) as ledger:
        ledger.checkpoint()


def test_a_pinned_key_ignores_the_key_kept_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    url = f"sqlite:///{db}"
    settings = LedgerSettings(url=url, subject_secret=SECRET, sqlite_synchronous="NORMAL")
    with open_ledger(settings=settings) as ledger:  # the embedded default key
        ledger.append_many([(RecordType.DECISION, {"i": i}) for i in range(6)])
        ledger.checkpoint()
    pinned = tmp_path / "original.pub.pem"  # published out of band when the ledger was new
    shutil.copy(db.with_name(db.name + ".signing-key.pub.pem"), pinned)
    _replace_embedded_key_and_resign(url, db)
    plain: dict[str, str] = {}
    assert _verify(plain, url)[0] == 0  # the key beside the data vouches for itself
    code, out = _verify(plain, url, "--public-key", str(pinned))
    assert code == 1
    assert "which is not trusted" in out
    code, out = _verify({"CRYPTOBOT_LEDGER_PUBLIC_KEY": str(pinned)}, url)
    assert code == 1
    assert "which is not trusted" in out


@pytest.fixture
def proved(
    sqlite_url: str,
    settings_for: Callable[..., LedgerSettings],
    env: dict[str, str],
    tmp_path: Path,
) -> tuple[Path, Path, Path]:
    """(inclusion proof file, consistency proof file, the checkpoint file of size 12)."""
    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        ledger.append_many([(RecordType.DECISION, {"i": i}) for i in range(5)])
        ledger.checkpoint()
        ledger.append_many([(RecordType.DECISION, {"i": i}) for i in range(5, 12)])
        ledger.checkpoint()
        folder = ledger.checkpoint_dir()
    assert folder is not None
    files = []
    for args in (["proof", "3"], ["consistency", "5", "12"]):
        result = runner.invoke(app, ["ledger", *args, "--url", sqlite_url], env=env)
        assert result.exit_code == 0, result.output
        path = tmp_path / f"{args[0]}.json"
        path.write_text(result.stdout)
        files.append(path)
    return files[0], files[1], folder / "checkpoint-000000000012.json"


def _verify_proof(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["ledger", "verify-proof", *args], env={})
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout + result.stderr


def test_verify_proof_checks_a_handed_over_proof_against_a_pinned_key(
    proved: tuple[Path, Path, Path], public_key: Path, tmp_path: Path
) -> None:
    inclusion, consistency, checkpoint = proved
    code, out = _verify_proof(str(inclusion), "--public-key", str(public_key))
    assert code == 0, out
    assert "OK: record 3 is leaf 3" in out
    assert "checkpoint of size 12" in out
    assert _verify_proof(
        str(inclusion), "--public-key", str(public_key), "--checkpoint", str(checkpoint)
    ) == (0, out)
    code, out = _verify_proof(str(consistency), "--public-key", str(public_key))
    assert code == 0, out
    assert "size 12" in out
    assert "extends the one of size 5" in out

    doc = json.loads(inclusion.read_text())
    doc["record"] = doc["record"].replace('"i":3', '"i":4')
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    code, out = _verify_proof(str(forged), "--public-key", str(public_key))
    assert code == 1
    assert "is not the hash of its record" in out
    del doc["leaf_hash"]
    forged.write_text(json.dumps(doc))
    assert _verify_proof(str(forged), "--public-key", str(public_key))[0] == 1

    other = tmp_path / "other.pub.pem"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    code, out = _verify_proof(str(inclusion), "--public-key", str(other))
    assert code == 1
    assert "untrusted key" in out

    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2")
    code, out = _verify_proof(str(garbage), "--public-key", str(public_key))
    assert code == 5
    assert str(garbage) in out


def test_two_writers_of_one_ledger_checkpoint_without_tripping_each_other(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings], env: dict[str, str]
) -> None:
    first = open_ledger(settings=settings_for(sqlite_url))
    second = open_ledger(settings=settings_for(sqlite_url))
    for ledger in (first, second):
        ledger.checkpoint_during_run(CheckpointPolicy(every_records=3, every_seconds=None))
    for i in range(20):
        (first if i % 2 else second).append(RecordType.DECISION, {"i": i})
    first.close()
    second.close()
    assert (first.checkpoint_error, second.checkpoint_error) == (None, None)
    assert _verify(env, sqlite_url)[0] == 0


def test_a_checkpoint_that_cannot_be_published_never_fails_an_append(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the publish directory should be")
    ledger = open_ledger(settings=settings_for(sqlite_url))
    ledger.checkpoint_during_run(
        CheckpointPolicy(every_records=2, every_seconds=None, publish_dir=blocker)
    )
    for i in range(5):
        ledger.append(RecordType.DECISION, {"i": i})
    assert len(ledger) == 5
    assert "could not be published" in str(ledger.checkpoint_error)
    with pytest.raises(LedgerError, match=f"could not be published to {blocker}"):
        ledger.close()
