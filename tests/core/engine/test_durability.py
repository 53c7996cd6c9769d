"""Atomic file writes: concurrent writers of one file, and what a reader may see."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from crypto_bot_core.engine.durability import write_atomically

WRITERS = 6
WRITES = 40


def test_concurrent_writers_of_one_file_never_collide(tmp_path: Path) -> None:
    """Two processes writing one run-folder file (two `cryptobot kill`, a run and its
    resume) used one temporary name: one writer's rename found its file already renamed
    by the other (FileNotFoundError), or both wrote into one temporary file. Each writer
    now has its own, so every write lands whole and the last rename wins."""
    target = tmp_path / "kill"
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    payloads = {
        (w, i): json.dumps({"writer": w, "write": i, "pad": "x" * (200 + 37 * w)})
        for w in range(WRITERS)
        for i in range(WRITES)
    }

    def writer(w: int) -> None:
        start.wait()
        try:
            for i in range(WRITES):
                write_atomically(target, payloads[(w, i)])
        except BaseException as exc:  # collected: an exception in a thread is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_text(encoding="utf-8") in set(payloads.values())
    assert [p.name for p in tmp_path.iterdir()] == ["kill"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_atomically(target, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "\udcff")  # a lone surrogate cannot be encoded
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_the_file_gets_the_mode_a_plain_open_would_give(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    write_atomically(target, "{}\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
