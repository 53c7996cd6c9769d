"""The marked steps of the plugin guide's tutorial, as the tests read them.

A fenced block preceded by an HTML comment (invisible on the site) is a step:

- ``<!-- tutorial: install -->`` before a ``sh`` block: the installation, run verbatim
  except the lines that create and activate the virtual environment (:data:`VENV_LINES`),
  which the test's own fresh environment stands in for;
- ``<!-- tutorial: run -->`` before a ``sh`` block: commands to run, verbatim;
- ``<!-- tutorial: file NAME -->`` before a block: a file to save as NAME;
- ``<!-- tutorial: helm-values -->`` before a ``yaml`` block: Helm values to check
  against the chart's schema.

Blank lines may separate the comment from its block; anything else is an error,
so a marker cannot silently stop applying to the block it was written for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "plugin-guide" / "tutorial.md"
_MARKER = re.compile(
    r"^<!-- tutorial: (?P<kind>install|run|file|helm-values)(?: (?P<arg>\S+))? -->$"
)
VENV_LINES = ("python3.11 -m venv .venv", ". .venv/bin/activate")
"""The install step's lines the test does not run: it builds its own environment, which
sees the repository's dependencies without an index (a reader's pip downloads them)."""


@dataclass(frozen=True)
class Step:
    kind: str
    text: str
    argument: str | None
    line: int

    @property
    def commands(self) -> list[str]:
        """The block's command lines, without comments and blank lines."""
        return [
            line
            for line in self.text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]


def tutorial_steps(path: Path = TUTORIAL) -> list[Step]:
    lines = path.read_text(encoding="utf-8").splitlines()
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        match = _MARKER.match(lines[index].strip())
        index += 1
        if match is None:
            continue
        marker_line = index
        while index < len(lines) and not lines[index].strip():
            index += 1
        if index >= len(lines) or not lines[index].startswith("```"):
            raise ValueError(f"{path.name}:{marker_line}: the marker is not followed by a block")
        start = index + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("```")), None)
        if end is None:
            raise ValueError(f"{path.name}:{start}: the block never ends")
        text = "\n".join(lines[start:end]) + "\n"
        steps.append(Step(match["kind"], text, match["arg"], marker_line))
        index = end + 1
    return steps
