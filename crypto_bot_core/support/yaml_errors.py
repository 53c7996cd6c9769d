"""Config problems that point at the key, and at the line or environment variable that set it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from crypto_bot_sdk import ConfigError

Loc = tuple[str | int, ...]
"""A path into the config: ``("exchanges", 0, "config", "taker_fee")``."""

_KEY_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def format_key(loc: Loc) -> str:
    """``("exchanges", 0, "config")`` -> ``exchanges[0].config``."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else part
    return key or "<root>"


def parse_key(key: str) -> Loc:
    """The inverse of :func:`format_key` (used on keys that SDK errors carry)."""
    return tuple(int(index) if index else name for index, name in _KEY_PART.findall(key))


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    key: str
    message: str
    line: int | None = None
    column: int | None = None
    env_var: str | None = None
    """Set when the value came from an environment variable, not the file."""

    def render(self, source: str) -> str:
        if self.env_var is not None:
            if self.key == self.env_var:  # the variable itself is wrong, not the value it set
                return f"environment variable {self.env_var}: {self.message}"
            where = f"environment variable {self.env_var}"
        elif self.line is not None:
            where = f"{source}:{self.line}" + (f":{self.column}" if self.column else "")
        else:
            where = source
        return f"{where}: {self.key}: {self.message}"


class ConfigFileError(ConfigError):
    """One or more problems in a config file; each names its key and line.

    ``key`` is the first problem's key (for callers that handle one); the
    message lists all of them, one per line, so an operator fixes a file in
    one pass.
    """

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        if not problems:
            raise ValueError("ConfigFileError needs at least one problem")
        self.source = source
        self.problems = tuple(problems)
        rendered = [problem.render(source) for problem in self.problems]
        if len(rendered) == 1:
            text = rendered[0]
        else:
            text = f"{source} has {len(rendered)} problems:\n" + "\n".join(
                f"  {line}" for line in rendered
            )
        super().__init__(text)
        self.key = self.problems[0].key
