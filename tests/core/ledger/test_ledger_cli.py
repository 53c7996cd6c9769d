"""``cryptobot ledger ...`` through typer's runner, against real ledger files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from ledger_tamper import as_admin
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app
from crypto_bot_core.ledger import LedgerSettings, RetentionRule, merkle, open_ledger
from crypto_bot_sdk import RecordType

runner = CliRunner()


@pytest.fixture
def env(signing_key: Path) -> dict[str, str]:
    return {
        "CRYPTOBOT_LEDGER_SIGNING_KEY": str(signing_key),
        "CRYPTOBOT_LEDGER_SUBJECT_SECRET": "cli-subject-secret-0123456789abcdef",
        "CRYPTOBOT_LEDGER_RETENTION": json.dumps(
            [{"name": "mifid2", "years": 5, "record_types": ["order.filled"]}]
        ),
    }


@pytest.fixture
def filled(sqlite_url: str, settings_for: Callable[..., LedgerSettings]) -> str:
    """A ledger with 30 records and checkpoints at 10 and 30."""
    settings = settings_for(
        sqlite_url,
        subject_secret="cli-subject-secret-0123456789abcdef",
        retention=(RetentionRule(name="mifid2", years=5, record_types=(RecordType.ORDER_FILLED,)),),
    )
    with open_ledger(settings=settings) as ledger:
        ledger.append_many([(RecordType.DECISION, {"n": i}) for i in range(10)])
        ledger.checkpoint()
        held = ledger.subjects.put("held@mail.test", {"name": "Held"})
        ledger.subjects.put("free@mail.test", {"name": "Free"})
        ledger.append(RecordType.ORDER_FILLED, {"subject_ref": held})
        ledger.append_many([(RecordType.FILL, {"n": i}) for i in range(19)])
        ledger.checkpoint()
    return sqlite_url


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["ledger", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_verify_passes_then_names_the_edited_record(filled: str, env: dict[str, str]) -> None:
    code, out, _ = _run(env, "verify", "--url", filled)
    assert code == 0
    assert "30 records, 2 checkpoint(s) (2 signature(s) checked)" in out
    assert "OK" in out
    as_admin(
        filled,
        "UPDATE ledger_records SET body = CAST(REPLACE(CAST(body AS TEXT), '\"n\":4}', "
        "'\"n\":5}') AS BLOB) WHERE seq = 4",
    )
    code, out, err = _run(env, "verify", "--url", filled)
    assert code == 1
    assert "FAILED" in out
    assert "first bad record: 4: record 4: its bytes" in err
    code, out, _ = _run(env, "verify", "--url", filled, "--json")
    assert code == 1
    assert json.loads(out)["first_bad_record"] == 4


def test_show_proof_consistency_and_checkpoint(filled: str, env: dict[str, str]) -> None:
    code, out, _ = _run(env, "show", "--url", filled, "--type", "fill", "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["seq", "ts", "(UTC)", "type", "hash", "payload"]
    assert [line.split()[0] for line in lines[1:]] == ["11", "12"]
    code, out, _ = _run(env, "show", "--url", filled, "--start", "29", "--json")
    assert json.loads(out)["sequence"] == 29

    code, out, _ = _run(env, "proof", "7", "--url", filled)
    assert code == 0
    doc = json.loads(out)
    assert doc["tree_size"] == 30
    merkle.verify_inclusion(
        7,
        30,
        bytes.fromhex(doc["leaf_hash"]),
        [bytes.fromhex(h) for h in doc["audit_path"]],
        bytes.fromhex(doc["root"]),
    )
    code, out, _ = _run(env, "consistency", "10", "30", "--url", filled)
    assert code == 0
    assert json.loads(out)["size1"] == 10
    code, _, err = _run(env, "consistency", "10", "31", "--url", filled)
    assert code == 4
    assert "no checkpoint of size 31" in err

    with open_ledger(filled) as ledger:
        ledger.append(RecordType.SYSTEM_STOP, {})
    code, out, _ = _run(env, "checkpoint", "--url", filled)
    assert code == 0
    assert json.loads(out)["tree_size"] == 31


def test_erase_prints_a_receipt_or_refuses_under_a_hold(filled: str, env: dict[str, str]) -> None:
    code, out, _ = _run(env, "erase", "free@mail.test", "--url", filled, "--request-id", "T-9")
    assert code == 0
    result = json.loads(out)
    assert result["vault_rows_deleted"] == 1
    assert result["receipt"]["receipt"]["request_id"] == "T-9"
    code, _, err = _run(env, "erase", "held@mail.test", "--url", filled)
    assert code == 3
    assert "retention rule 'mifid2'" in err


def test_export_and_offline_bundle_verification(
    filled: str, env: dict[str, str], tmp_path: Path, public_key: Path
) -> None:
    bundle = tmp_path / "bundle"
    code, out, _ = _run(env, "export", "--to", str(bundle), "--url", filled)
    assert code == 0
    assert out.startswith("exported 30 records and 2 checkpoint(s)")
    code, out, _ = _run({}, "verify", "--bundle", str(bundle), "--public-key", str(public_key))
    assert code == 0
    assert "30 records" in out
    records = bundle / "records.txt"
    records.write_bytes(records.read_bytes().replace(b'"n":3}', b'"n":33}'))
    code, _, err = _run({}, "verify", "--bundle", str(bundle), "--public-key", str(public_key))
    assert code == 1
    assert "first bad record: 3" in err


def test_missing_ledgers_and_bad_usage_are_reported(tmp_path: Path, env: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'absent.sqlite'}"
    code, _, err = _run(env, "verify", "--url", url)
    assert code == 2
    assert "there is no ledger at" in err
    code, out, _ = _run(env, "init", "--url", url)
    assert code == 0
    assert out.startswith("ledger ")
    code, _, err = _run(env, "init", "--url", url, "--writer-role", "w")
    assert code == 2
    assert "roles exist only on PostgreSQL" in err
