"""Reading scenario files: YAML with every error naming the key and the line, and the shipped set.

The YAML is composed into nodes first (the config loader's
:func:`~crypto_bot_core.support.yaml_source.parse_yaml`), so each key's line
and column are known; pydantic then validates the data and each of its
errors is mapped back to the line that wrote the offending key, e.g.
``crash.yaml:7:14: shocks[1].price.move: Input should be greater than -1``.

Scenarios shipped with the core live in ``crypto_bot_core/risk/scenarios/``;
:func:`load_scenario` takes either a file path or one of their names.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from crypto_bot_core.risk.scenario import Scenario, Selector
from crypto_bot_core.support.yaml_errors import ConfigFileError, ConfigProblem, Loc, format_key
from crypto_bot_core.support.yaml_source import YamlDocument, parse_yaml
from crypto_bot_sdk import parse_symbol

_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")


class ScenarioError(ConfigFileError):
    """A scenario file that does not hold a valid scenario; each problem names key and line."""


@dataclass(frozen=True)
class ShippedScenario:
    name: str
    file: str
    scenario: Scenario


def _data_loc(data: Any, loc: tuple[int | str, ...]) -> Loc:
    """The path of ``loc`` that exists in the data, dropping pydantic's union-member tags.

    A missing field (``move`` not written) is kept as the last part, so the key
    names what to add.
    """
    out: list[str | int] = []
    node = data
    for part in loc:
        inside_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if (isinstance(node, dict) and part in node) or inside_list:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and _FIELD.match(part):
            out.append(part)
            break
    return tuple(out)


def _problem(doc: YamlDocument, loc: Loc, message: str) -> ConfigProblem:
    position = doc.position_of(loc)
    return ConfigProblem(
        key=format_key(loc),
        message=message,
        line=position.line if position else None,
        column=position.column if position else None,
    )


def _vocabulary() -> set[str]:
    """Every key the language knows, for "did you mean" hints."""
    from crypto_bot_core.risk import scenario as language

    words: set[str] = set()
    for model in vars(language).values():
        if isinstance(model, type) and issubclass(model, BaseModel):
            words |= set(model.model_fields)
    return words


def _message(error: Any, loc: Loc) -> str:
    if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        hint = difflib.get_close_matches(loc[-1], sorted(_vocabulary()), n=1)
        known = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"unknown key {loc[-1]!r}{known}"
    return str(error["msg"]).removeprefix("Value error, ")


def _validation_problems(doc: YamlDocument, exc: ValidationError) -> list[ConfigProblem]:
    merged: dict[Loc, list[str]] = {}
    located = [(_data_loc(doc.data, tuple(e["loc"])), e) for e in exc.errors()]
    for loc, error in located:
        # A list whose items failed also reports itself "too short"; the items' errors say why.
        if error["type"] == "too_short" and any(
            other[: len(loc)] == loc and len(other) > len(loc) for other, _ in located
        ):
            continue
        message = _message(error, loc)
        if message not in merged.setdefault(loc, []):
            merged[loc].append(message)
    problems = []
    for loc, messages in merged.items():
        # Union members each report; "Input should be '*' or a valid tuple" reads best.
        rest = [m.removeprefix("Input should be ") for m in messages[1:]]
        problems.append(_problem(doc, loc, " or ".join([messages[0], *rest])))
    return problems


def _semantic_problems(doc: YamlDocument, scenario: Scenario) -> list[ConfigProblem]:
    """What pydantic cannot see: group members that are not symbols, groups never defined."""
    problems = []
    for name, members in scenario.groups.items():
        for index, member in enumerate(members):
            if "/" in member:
                try:
                    parse_symbol(member)
                except ValueError as exc:
                    problems.append(_problem(doc, ("groups", name, index), str(exc)))
    for index, shock in enumerate(scenario.shocks):
        body = shock.body
        if isinstance(body, Selector):
            for position, group in enumerate(body.groups or ()):
                if group not in scenario.groups:
                    known = ", ".join(sorted(scenario.groups)) or "none are defined"
                    problems.append(
                        _problem(
                            doc,
                            ("shocks", index, shock.kind, "groups", position),
                            f"group {group!r} is not defined under `groups` ({known})",
                        )
                    )
    return problems


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    """The scenario in ``text``; a :class:`ScenarioError` lists every problem with its line."""
    try:
        doc = parse_yaml(text, source=source)
    except ConfigFileError as exc:
        raise ScenarioError(source, exc.problems) from exc
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(source, _validation_problems(doc, exc)) from exc
    problems = _semantic_problems(doc, scenario)
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def shipped_scenarios() -> list[ShippedScenario]:
    """The scenarios that come with the core, by name."""
    folder = resources.files("crypto_bot_core.risk").joinpath("scenarios")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            scenario = parse_scenario(entry.read_text(encoding="utf-8"), source=entry.name)
            found.append(ShippedScenario(scenario.name, entry.name, scenario))
    return found


def load_scenario(reference: str | Path) -> Scenario:
    """A scenario from a file path, or a shipped one by name (``market-crash-30``)."""
    path = Path(reference)
    if path.is_file():
        return parse_scenario(path.read_text(encoding="utf-8"), source=str(path))
    shipped = {s.name: s.scenario for s in shipped_scenarios()}
    if str(reference) in shipped:
        return shipped[str(reference)]
    raise ScenarioError(
        str(reference),
        [
            ConfigProblem(
                key="<file>",
                message="no such scenario file, and no shipped scenario of that name; shipped: "
                + ", ".join(sorted(shipped)),
            )
        ],
    )
