"""A ledger URL naming a place where no ledger can be created: one line naming it, exit 2.

``sqlite:////proc/x/ledger.db``, a path under a regular file, a folder on a
read-only file system: each used to end in a Python traceback (FileNotFoundError,
NotADirectoryError, sqlite3's "unable to open database file") from deep in the
store. The URL is configuration, so the answer is a configuration error that
names ``ledger.url``, the path and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app as cli
from crypto_bot_core.ledger import open_ledger
from crypto_bot_core.ledger.stores import LedgerLocationError
from crypto_bot_sdk import ConfigError


def _under_a_file(tmp_path: Path) -> tuple[str, str]:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be\n")
    return f"sqlite:///{blocker}/sub/ledger.sqlite", f"{blocker}/sub"


CASES: dict[str, Callable[[Path], tuple[str, str]]] = {
    "proc": lambda tmp: ("sqlite:////proc/x/ledger.sqlite", "/proc/x"),
    "under-a-file": _under_a_file,
    # An existing folder where no file can be created, even by root.
    "no-new-files": lambda tmp: ("sqlite:////proc/self/ledger.sqlite", "/proc/self"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_uncreatable_ledger_url_is_a_configuration_error(tmp_path: Path, case: str) -> None:
    url, folder = CASES[case](tmp_path)
    with pytest.raises(LedgerLocationError) as caught:
        open_ledger(url)
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.exit_code == 2
    message = str(error)
    assert message.startswith(f"ledger.url: no ledger can be created at {url}: ")
    assert f"the folder {folder} " in message
    assert message.endswith(
        "point ledger.url (CRYPTOBOT_LEDGER_URL, --url) at a file in a folder this user can write"
    )
    assert "\n" not in message


def test_cryptobot_run_names_the_url_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    result = CliRunner().invoke(cli, ["config", "default"])
    assert result.exit_code == 0
    assert "\n  run_dir: runs\n" in result.stdout
    config.write_text(
        result.stdout.replace("\n  run_dir: runs\n", f"\n  run_dir: {tmp_path / 'runs'}\n")
        + "\nledger:\n  url: sqlite:////proc/x/ledger.sqlite\n"
    )
    run = CliRunner().invoke(cli, ["run", "--config", str(config), "--no-progress"])
    assert run.exit_code == 2, run.output
    assert run.exception is None or isinstance(run.exception, SystemExit)
    assert "Traceback" not in run.output
    assert run.stderr.startswith(
        "error: ledger.url: no ledger can be created at sqlite:////proc/x/ledger.sqlite: "
        "the folder /proc/x "
    )


def test_cryptobot_serve_names_the_url_and_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOBOT_SERVICE_JWT_SECRET", "s" * 40)
    served = CliRunner().invoke(cli, ["serve", "--ledger-url", "sqlite:////proc/x/l.sqlite"])
    assert served.exit_code == 2, served.output
    assert served.stderr.startswith(
        "error: ledger.url: no ledger can be created at sqlite:////proc/x/l.sqlite: "
    )
