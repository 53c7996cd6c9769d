"""Parsing YAML while remembering where each key was written.

PyYAML's composer gives every node a start mark; walking the node tree once
maps each config path (``("exchanges", 0, "config", "fee")``) to its line and
column, so validation errors can say "deploy.yaml:12:7". The same walk rejects
duplicate keys, which PyYAML would otherwise resolve silently by keeping the
last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from crypto_bot_core.support.yaml_errors import ConfigFileError, ConfigProblem, Loc, format_key

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class YamlDocument:
    data: dict[str, Any]
    positions: dict[Loc, Position]

    def position_of(self, loc: Loc) -> Position | None:
        """Where ``loc`` (or, if it was not written, its nearest written parent) is."""
        for end in range(len(loc), -1, -1):
            found = self.positions.get(loc[:end])
            if found is not None:
                return found
        return None


def _mark(node: yaml.Node) -> Position:
    return Position(line=node.start_mark.line + 1, column=node.start_mark.column + 1)


def _key_of(node: yaml.Node) -> str | int | None:
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag == _INT_TAG:
        try:
            return int(node.value)
        except ValueError:
            return str(node.value)
    return str(node.value)


def _walk(
    node: yaml.Node,
    loc: Loc,
    positions: dict[Loc, Position],
    problems: list[ConfigProblem],
    active: set[int],
) -> None:
    if id(node) in active:  # a recursive alias; the constructor reports it
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str | int, Position] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = _key_of(key_node)
            if key is None:
                continue
            here = _mark(key_node)
            if key in seen:
                problems.append(
                    ConfigProblem(
                        key=format_key((*loc, key)),
                        message=f"duplicate key (first written on line {seen[key].line}); keep one",
                        line=here.line,
                        column=here.column,
                    )
                )
                continue
            seen[key] = here
            positions[(*loc, key)] = here
            _walk(value_node, (*loc, key), positions, problems, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            positions[(*loc, index)] = _mark(item)
            _walk(item, (*loc, index), positions, problems, active)
    active.discard(id(node))


def parse_yaml(text: str, *, source: str) -> YamlDocument:
    """The mapping in ``text`` with the position of every key; errors name line and column."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        positions: dict[Loc, Position] = {}
        problems: list[ConfigProblem] = []
        if node is not None:
            positions[()] = _mark(node)
            _walk(node, (), positions, problems, set())
        if problems:
            raise ConfigFileError(source, problems)
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigFileError(
            source,
            [
                ConfigProblem(
                    key="<yaml>",
                    message=f"not valid YAML: {exc.problem or exc.context}",
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                )
            ],
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(
            source, [ConfigProblem(key="<yaml>", message=f"not valid YAML: {exc}")]
        ) from exc
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigFileError(
            source,
            [
                ConfigProblem(
                    key="<root>",
                    message=f"the file must hold a mapping of settings, not a "
                    f"{type(data).__name__}",
                    line=1,
                )
            ],
        )
    return YamlDocument(data=data, positions=positions)
