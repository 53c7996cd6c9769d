"""Configuration: environment variables, key loading, and the embedded defaults."""

from __future__ import annotations

import multiprocessing
import stat
from multiprocessing.queues import Queue
from pathlib import Path

import pytest

from crypto_bot_core.ledger import LedgerSettings, open_ledger
from crypto_bot_core.ledger.keys import KeyRing
from crypto_bot_core.ledger.settings import sqlite_path
from crypto_bot_core.ledger.signing import key_id
from crypto_bot_sdk import ConfigError, RecordType


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        "CRYPTOBOT_LEDGER_URL": "postgresql://writer@db/ledger?schema=audit",
        "CRYPTOBOT_LEDGER_SIGNING_KEY": str(tmp_path / "key.pem"),
        "CRYPTOBOT_LEDGER_SUBJECT_SECRET": "s" * 32,
        "CRYPTOBOT_LEDGER_CHECKPOINT_URL": "postgresql://checkpointer@db/ledger?schema=audit",
        "CRYPTOBOT_LEDGER_SYNCHRONOUS": "NORMAL",
        "CRYPTOBOT_LEDGER_RETENTION": '[{"name": "mifid2", "years": 5, "record_types": ["fill"]}]',
    }
    settings = LedgerSettings.from_env(env)
    assert settings.url == env["CRYPTOBOT_LEDGER_URL"]
    assert settings.checkpoint_url == env["CRYPTOBOT_LEDGER_CHECKPOINT_URL"]
    assert settings.sqlite_synchronous == "NORMAL"
    assert settings.retention[0].record_types == (RecordType.FILL,)
    assert settings.subject_secret is not None
    assert settings.subject_secret.get_secret_value() == "s" * 32
    assert "s" * 32 not in repr(settings)
    assert LedgerSettings.from_env(env, url="sqlite:///x.sqlite").url == "sqlite:///x.sqlite"
    assert LedgerSettings.from_env({}).url == "sqlite:///./cryptobot-ledger.sqlite"


@pytest.mark.parametrize(
    ("env", "key", "fragment"),
    [
        ({"CRYPTOBOT_LEDGER_URL": "mysql://x"}, "ledger.url", "is not a ledger URL"),
        ({"CRYPTOBOT_LEDGER_RETENTION": "[{"}, "CRYPTOBOT_LEDGER_RETENTION", "not a JSON list"),
        ({"CRYPTOBOT_LEDGER_SYNCHRONOUS": "SOMETIMES"}, "ledger.sqlite_synchronous", "FULL"),
    ],
)
def test_bad_settings_name_the_setting(env: dict[str, str], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as caught:
        LedgerSettings.from_env(env)
    assert caught.value.key == key


def test_unusable_keys_are_reported_with_the_setting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    missing = LedgerSettings(url=url, signing_key=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match="cannot read the key file") as caught:
        KeyRing(missing).signing_key()
    assert caught.value.key == "CRYPTOBOT_LEDGER_SIGNING_KEY"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        KeyRing(LedgerSettings(url=url, signing_key=str(garbage))).signing_key()
    with pytest.raises(ConfigError, match="at least 16 random bytes") as caught:
        KeyRing(LedgerSettings(url=url, subject_secret="short")).subject_secret()
    assert caught.value.key == "CRYPTOBOT_LEDGER_SUBJECT_SECRET"
    postgres = LedgerSettings(url="postgresql://writer@db/ledger")
    with pytest.raises(ConfigError, match="no signing key is configured"):
        KeyRing(postgres).signing_key()
    with pytest.raises(ConfigError, match="no subject secret is configured"):
        KeyRing(postgres).subject_secret()


def test_the_embedded_default_keeps_its_keys_beside_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with open_ledger(settings=LedgerSettings(url=url)) as ledger:
        ledger.append(RecordType.SYSTEM_START, {})
        first = ledger.checkpoint()
        ref = ledger.subjects.ref("dave")
    key_file = tmp_path / "ledger.sqlite.signing-key.pem"
    secret_file = tmp_path / "ledger.sqlite.subject-secret"
    for path in (key_file, secret_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (
        (tmp_path / "ledger.sqlite.signing-key.pub.pem")
        .read_bytes()
        .startswith(b"-----BEGIN PUBLIC KEY-----")
    )
    assert (tmp_path / "ledger.sqlite.checkpoints" / "checkpoint-000000000001.json").is_file()
    with open_ledger(settings=LedgerSettings(url=url)) as again:  # the same keys next time
        assert again.subjects.ref("dave") == ref
        assert again.checkpoints() == [first]
        assert again.verify().ok


def test_an_in_memory_ledger_works_with_throwaway_keys() -> None:
    assert sqlite_path("sqlite://") is None
    with open_ledger("sqlite://") as ledger:
        ledger.append_many([(RecordType.FILL, {"i": i}) for i in range(3)])
        assert ledger.checkpoint().tree_size == 3
        assert ledger.checkpoint_dir() is None
        report = ledger.verify()
        assert report.ok, report.problems


def _default_keys(url: str, out: Queue[tuple[str, str]]) -> None:
    with open_ledger(settings=LedgerSettings(url=url)) as ledger:
        key = ledger.keys.signing_key().public_key()
        out.put((ledger.subjects.ref("erin"), key_id(key)))


def test_processes_racing_to_create_the_default_keys_agree(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    context = multiprocessing.get_context("fork")
    out: Queue[tuple[str, str]] = context.Queue()
    workers = [context.Process(target=_default_keys, args=(url, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    results = {out.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert len(results) == 1
    assert sorted(
        p.name for p in tmp_path.iterdir() if not p.name.startswith("ledger.sqlite-")
    ) == [
        "ledger.sqlite",
        "ledger.sqlite.signing-key.pem",
        "ledger.sqlite.signing-key.pub.pem",
        "ledger.sqlite.subject-secret",
    ]
