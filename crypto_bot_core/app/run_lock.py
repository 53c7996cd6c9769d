"""One process per run: an OS lock on the run folder, and an advisory lock in a PostgreSQL ledger.

Two processes driving one run (two ``run --run-id X`` at once, a ``--resume X``
while X still trades, a kill that settles a run another process is resuming)
would each number client order ids from the same ledger and both send them:
duplicated orders and fills that no hash chain can object to, since every
record is well linked. So a run is held by exactly one process:

* ``RUN.lock`` in the run folder is ``flock``-ed (exclusive, non-blocking) for
  the life of the process. The kernel drops the lock when the process ends in
  any way, SIGKILL included, so a crash never leaves a stale lock to clean up;
  the file only carries the holder's pid for the message.
* With a PostgreSQL ledger, a session-level ``pg_advisory_lock`` keyed by the
  run id is taken on a connection of its own, held until the run ends (the
  server releases it when that connection dies). It covers what the folder
  lock cannot: the same run id driven from two hosts, or two run folders, that
  share one ledger.

A run id is used once: a folder that already holds a run (its config or its
ledger), or a shared ledger that already holds a start record of that id, is
refused for a new run; such a run is continued with ``--resume``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crypto_bot_sdk import ConfigError, CryptoBotError

LOCK_FILE = "RUN.lock"


class RunInUseError(CryptoBotError):
    """Another process holds the run (its folder lock, or its lock in the ledger)."""

    exit_code = 5


class RunIdTakenError(CryptoBotError):
    """A new run was asked for under an id that an earlier run already used."""

    exit_code = 6


def advisory_key(run_id: str) -> int:
    """The signed 64-bit key of ``run_id``'s advisory lock (namespaced, so other apps' keys
    on the same server are unlikely to collide with it)."""
    digest = hashlib.blake2b(b"cryptobot-run\0" + run_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _libpq_url(url: str) -> str:
    """The ledger URL without our own ``?schema=`` parameter, which libpq does not know."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def holder_pid(run_dir: Path) -> int | None:
    """The pid written in the run folder's lock file (the last holder; maybe no longer alive)."""
    try:
        text = (run_dir / LOCK_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def is_locked(run_dir: Path) -> bool:
    """Whether a live process holds ``run_dir``'s lock right now (asked without taking it
    for longer than the question)."""
    path = run_dir / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock if we got it
    return False


@dataclass
class RunLock:
    """The held locks of one run; :meth:`release` (or leaving the ``with``) lets go of both."""

    run_id: str
    run_dir: Path
    fd: int | None
    pg: Any = None
    created: bool = False
    """Whether :meth:`acquire` made the run folder (so :meth:`abandon` may remove it)."""

    @classmethod
    def acquire(cls, run_dir: Path, run_id: str, ledger_url: str | None = None) -> RunLock:
        """Take the folder lock, then (a PostgreSQL ledger) the ledger's lock; refuse if held."""
        created = not run_dir.exists()
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # A folder under a file, on a read-only mount or in /proc: say which setting
            # chose it, not a traceback from mkdir.
            raise ConfigError(
                f"the run folder {run_dir} cannot be created "
                f"({exc.strerror or exc}); point run.run_dir (CRYPTOBOT__RUN__RUN_DIR) at a "
                "folder this user can write",
                key="run.run_dir",
            ) from exc
        path = run_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = holder_pid(run_dir)
            raise RunInUseError(
                f"run {run_id!r} is in use: process {pid if pid else '(unknown pid)'} holds "
                f"{path}; wait for it to end, or stop it with `cryptobot kill {run_dir}`"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        lock = cls(run_id, run_dir, fd, created=created)
        if ledger_url is not None and is_postgres_url(ledger_url):
            try:
                lock.pg = _advisory_lock(ledger_url, run_id)
            except BaseException:
                lock.release()
                raise
        return lock

    def release(self) -> None:
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.close()  # ends the session, which releases its advisory locks
            self.pg = None
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
            self.fd = None

    def abandon(self) -> None:
        """Release, and remove the folder :meth:`acquire` made if the run never started in it.

        A run refused at assembly (a bad config, a plugin that fails to load) then
        leaves no folder behind that would look like a used run id.
        """
        self.release()
        if not self.created:
            return
        with contextlib.suppress(OSError):
            (self.run_dir / LOCK_FILE).unlink()
            self.run_dir.rmdir()  # only if nothing else was written there

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _advisory_lock(url: str, run_id: str) -> Any:
    """A connection holding ``run_id``'s session advisory lock in the ledger's database."""
    import psycopg

    try:
        conn = psycopg.connect(_libpq_url(url), autocommit=True, application_name="cryptobot-run")
    except psycopg.Error as exc:
        raise CryptoBotError(
            f"cannot connect to the ledger database to lock run {run_id!r}: {exc}"
        ) from exc
    try:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (advisory_key(run_id),)).fetchone()
    except BaseException:
        conn.close()
        raise
    if row is None or not row[0]:
        conn.close()
        raise RunInUseError(
            f"run {run_id!r} is in use: another process holds its lock in the ledger database "
            f"(advisory lock {advisory_key(run_id)}); it may run on another host or from another "
            "run folder that shares this ledger. Wait for it to end, or stop it first"
        )
    return conn
