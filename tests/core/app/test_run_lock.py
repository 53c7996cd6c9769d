"""One process per run: the run folder's OS lock, the PostgreSQL ledger's advisory lock, and a
run id used once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from run_sessions import SESSION, Invoke, Session

from crypto_bot_core.app.run_lock import (
    LOCK_FILE,
    RunIdTakenError,
    RunInUseError,
    RunLock,
    advisory_key,
    is_locked,
)
from crypto_bot_core.app.runner import resume_session, run_session
from crypto_bot_core.config import parse_config
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import CryptoBotError


def _count(url: str) -> int:
    with open_ledger(url) as ledger:
        return len(ledger)


def _cryptobot(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    return subprocess.Popen(
        [sys.executable, "-m", "crypto_bot_core.cli", *args, "--no-progress"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert proc.poll() is None, (
            f"the run ended before {what}: {proc.stderr.read() if proc.stderr else ''}"
        )
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_second_process_on_a_running_run_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    """Two ``run --run-id X`` at once, or ``--resume X`` / ``kill X`` settling while X runs."""
    config = tmp_path / "long.yaml"
    config.write_text(SESSION.format(run_dir="runs", bars=200_000, ledger=""))
    folder = tmp_path / "runs" / "busy"
    proc = _cryptobot(["run", "--config", str(config), "--run-id", "busy"], tmp_path)
    try:
        _wait_for(lambda: (folder / "run.json").exists() and is_locked(folder), proc, "its lock")
        code, _, err = invoke("run", "--config", str(config), "--run-id", "busy", "--no-progress")
        assert code == 5, err
        assert f"run 'busy' is in use: process {proc.pid} holds" in err
        code, _, err = invoke("run", "--resume", "busy", "--no-progress")
        assert code == 5, err
        assert f"process {proc.pid}" in err
        assert proc.poll() is None  # the refusals did not disturb the run
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if proc.stderr:
            proc.stderr.close()
    # SIGKILL leaves no stale lock: the kernel dropped it with the process
    assert not is_locked(folder)
    with RunLock.acquire(folder, "busy") as lock:
        assert lock.fd is not None


def test_a_crashed_holder_leaves_no_lock_and_a_live_one_blocks_kill(
    session: Session, host: Host, invoke: Invoke, tmp_path: Path
) -> None:
    result = run_session(session(), host=host, run_id="held")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from crypto_bot_core.app.run_lock import RunLock; "
            "RunLock.acquire(Path(sys.argv[1]), 'held'); print('held', flush=True); "
            "time.sleep(300)",
            str(result.run_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        before = _count(f"sqlite:///{result.run_dir / 'ledger.sqlite'}")
        code, _, err = invoke("kill", str(result.run_dir))
        assert code == 5, err
        assert f"process {holder.pid} holds {result.run_dir / LOCK_FILE}" in err
        assert _count(f"sqlite:///{result.run_dir / 'ledger.sqlite'}") == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
        if holder.stdout:
            holder.stdout.close()
    resumed = resume_session(result.run_dir, host=host)
    assert resumed.run_id == "held"
    assert resumed.reconciliation is not None


def test_a_finished_run_id_is_not_reused(
    session: Session, host: Host, invoke: Invoke, tmp_path: Path
) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text(SESSION.format(run_dir="runs", bars=120, ledger=""))
    code, _, err = invoke("run", "--config", str(config), "--run-id", "once", "--no-progress")
    assert code == 0, err
    url = f"sqlite:///{tmp_path / 'runs' / 'once' / 'ledger.sqlite'}"
    before = _count(url)
    code, _, err = invoke("run", "--config", str(config), "--run-id", "once", "--no-progress")
    assert code == 6, err
    assert "run id 'once' is taken" in err
    assert "cryptobot run --resume once" in err
    assert _count(url) == before


@pytest.mark.postgres
def test_postgres_ledger_locks_the_run_id_across_run_folders(
    session: Session, host: Host, pg_ledger_url: str, tmp_path: Path
) -> None:
    import psycopg

    conninfo = pg_ledger_url.partition("?")[0]
    with psycopg.connect(conninfo, autocommit=True) as other:
        assert other.execute(
            "SELECT pg_try_advisory_lock(%s)", (advisory_key("shared"),)
        ).fetchone() == (True,)
        # another host (another run folder) drives run "shared" in this ledger right now
        with pytest.raises(RunInUseError, match="holds its lock in the ledger database"):
            run_session(session(ledger_url=pg_ledger_url), host=host, run_id="shared")
        assert _count(pg_ledger_url) == 0
    first = run_session(session(ledger_url=pg_ledger_url), host=host, run_id="shared")
    assert first.run_id == "shared"
    # the same id from another folder sharing the ledger: taken, whatever the folder says
    with pytest.raises(RunIdTakenError, match="already holds a run of that id"):
        run_session(
            session(ledger_url=pg_ledger_url, run_dir=tmp_path / "elsewhere"),
            host=host,
            run_id="shared",
        )
    # the lock in the ledger is held while a run runs and given back when it ends
    with psycopg.connect(conninfo, autocommit=True) as probe:
        assert probe.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone() == (0,)


def test_a_run_refused_at_assembly_leaves_no_folder_that_would_take_its_id(
    session: Session, host: Host, tmp_path: Path
) -> None:
    text = SESSION.format(run_dir=(tmp_path / "runs").as_posix(), bars=60, ledger="")
    broken = parse_config(
        text.replace("technical-agents:ema_crossover", "technical-agents:no_such_agent"),
        source="broken.yaml",
        environ={},
    )
    with pytest.raises(CryptoBotError, match="no_such_agent"):
        run_session(broken, host=host, run_id="retry")
    assert not (tmp_path / "runs" / "retry").exists()
    assert run_session(session(bars=60), host=host, run_id="retry").run_id == "retry"
