"""``cryptobot --help`` stays fast: importing the CLI pulls in no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "torch",
    "stable_baselines3",
    "ccxt",
    "mlflow",
    "shap",
    "catboost",
    "river",
    "sklearn",
    "kubernetes",
)

PROBE = f"""
import json, sys
import crypto_bot_core.cli.app
heavy = {list(HEAVY)!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def test_importing_the_cli_imports_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_probe_detects_a_heavy_import() -> None:
    # The same probe must see a module it should flag, or the test above proves nothing.
    probe = PROBE.replace("heavy = ", "import json.decoder\nheavy = ['json'] + ")
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "json.decoder" in json.loads(result.stdout)
