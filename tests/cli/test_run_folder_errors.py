"""A run folder that cannot be created is a configuration error naming ``run.run_dir``.

It used to end in a ``FileNotFoundError`` / ``NotADirectoryError`` traceback from
the run lock's ``mkdir``. Any configuration error found while the run is being
built exits 2, like an invalid config file; only other errors of the run exit 1.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from crypto_bot_core.cli.app import app as cli


def _config_with_run_dir(tmp_path: Path, run_dir: str) -> Path:
    result = CliRunner().invoke(cli, ["config", "default"])
    assert result.exit_code == 0
    assert "\n  run_dir: runs\n" in result.stdout
    config = tmp_path / "bot.yaml"
    config.write_text(result.stdout.replace("\n  run_dir: runs\n", f"\n  run_dir: {run_dir}\n"))
    return config


def test_a_run_folder_under_a_file_is_named_and_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runs folder should be\n")
    config = _config_with_run_dir(tmp_path, str(blocker / "runs"))
    run = CliRunner().invoke(cli, ["run", "--config", str(config), "--no-progress"])
    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.output
    assert run.stderr.startswith(f"error: run.run_dir: the run folder {blocker / 'runs'}/")
    assert "cannot be created (Not a directory)" in run.stderr
    assert "point run.run_dir (CRYPTOBOT__RUN__RUN_DIR) at a folder this user can write" in (
        run.stderr
    )
    assert blocker.read_text() == "a file where the runs folder should be\n"


def test_a_run_folder_in_proc_is_named_and_exits_2(tmp_path: Path) -> None:
    config = _config_with_run_dir(tmp_path, "/proc/cryptobot-runs")
    run = CliRunner().invoke(cli, ["run", "--config", str(config), "--no-progress"])
    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.output
    assert run.stderr.startswith("error: run.run_dir: the run folder /proc/cryptobot-runs/")
