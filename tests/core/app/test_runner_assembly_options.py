"""What the runner used to set on a built engine, now given at assembly, still takes effect.

The kill file poller, the venue state store, the run id a resume reads from the
ledger and a killed run's state are assembly options (or, for ``killed``, the one
field still set until the kernel takes it): these runs show each one working.
"""

from __future__ import annotations

from pathlib import Path

from crypto_bot_core.app.runner import KILL_FILE, resume_session, run_session
from crypto_bot_core.config import default_config
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import RecordType

SHORT = {"CRYPTOBOT__DATA_SOURCES__0__CONFIG__BARS": "200"}


def _records(run_dir: Path) -> list[object]:
    ledger = open_ledger(f"sqlite:///{run_dir / 'ledger.sqlite'}")
    try:
        return list(ledger.records())
    finally:
        ledger.close()


def _stop_reasons(run_dir: Path) -> list[str]:
    return [
        r.payload["reason"]  # type: ignore[attr-defined]
        for r in _records(run_dir)
        if r.type is RecordType.SYSTEM_STOP  # type: ignore[attr-defined]
    ]


def _kills(run_dir: Path) -> int:
    return sum(r.type is RecordType.KILL_SWITCH for r in _records(run_dir))  # type: ignore[attr-defined]


def test_a_paper_run_polls_its_kill_file(tmp_path: Path) -> None:
    loaded = default_config(environ={"CRYPTOBOT__RUN__RUN_DIR": str(tmp_path / "runs"), **SHORT})
    assert loaded.config.mode.value == "paper"
    run_dir = tmp_path / "runs" / "polled"
    run_dir.mkdir(parents=True)
    (run_dir / KILL_FILE).write_text("drill\n", encoding="utf-8")

    result = run_session(loaded, host=Host(environ={}).load(), run_id="polled")

    assert result.run_dir == run_dir
    assert _kills(run_dir) == 1  # kill_requested, given at assembly, saw the file
    assert _stop_reasons(run_dir)[0] == "kill switch: drill"  # the file's reason


def test_a_resume_runs_under_the_ledgers_run_id_and_a_killed_run_stays_killed(
    tmp_path: Path,
) -> None:
    loaded = default_config(environ={"CRYPTOBOT__RUN__RUN_DIR": str(tmp_path / "runs"), **SHORT})
    first = run_session(loaded, host=Host(environ={}).load(), run_id="original")
    assert first.summary.fills > 0
    assert any((first.run_dir / "venues").iterdir())  # the venue state store, from assembly
    moved = first.run_dir.rename(tmp_path / "moved")  # the folder's name is not the run id

    killed = resume_session(moved, host=Host(environ={}).load(), kill_reason="operator drill")
    assert killed.run_id == "original"
    assert _kills(moved) == 1

    again = resume_session(moved, host=Host(environ={}).load())
    assert again.run_id == "original"
    # The resumed engine starts killed, so it only settles. The data ended with the first
    # run, so the flattening orders cannot fill: both final records say what is left.
    assert killed.kill_left
    assert again.kill_left == killed.kill_left
    assert _stop_reasons(moved)[-1].startswith("kill switch: NOT flat by the venues' own state")
    assert _kills(moved) == 1
