"""What the packaging tests of the built-in plugins share: their components and their imports.

A built-in plugin must register and behave like a third-party one (DESIGN rule 1):
reach no further into the core than the layers below the engine allow. The tests of
``tests/core/builtins`` and ``tests/core/risk`` hold every built-in to that through
these helpers, so the rule is read from the source the same way for all of them. The
module stands at the top of ``tests/`` (on ``sys.path`` through ``tests/conftest.py``)
because those two folders import their helpers differently (``tests/core/risk`` is a
package, ``tests/core/builtins`` is not).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

from crypto_bot_sdk import Component

BUILTINS = Path(__file__).resolve().parents[1] / "crypto_bot_core" / "builtins"
"""The folder of the built-in plugins' packages in this checkout."""


def builtin_components(module: str) -> list[type[Component[Any]]]:
    """The components the built-in plugin ``crypto_bot_core.builtins.<module>`` provides."""
    plugin = importlib.import_module(f"crypto_bot_core.builtins.{module}.plugin")
    components: list[type[Component[Any]]] = plugin.cryptobot_components()
    return components


def core_imports_outside(module: str, allowed: tuple[str, ...]) -> list[str]:
    """``"<file>: <module>"`` for each core module the built-in ``module`` imports (at the top
    or inside a function: a lazy import is still a dependency) that is neither in the plugin
    itself nor under one of the ``allowed`` prefixes."""
    own = f"crypto_bot_core.builtins.{module}"
    strays = []
    for path in sorted((BUILTINS / module).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            strays += [
                f"{path.name}: {m}"
                for m in modules
                if m.split(".")[0] == "crypto_bot_core" and not m.startswith((own, *allowed))
            ]
    return strays
