"""Reading the config file: YAML, then environment overrides, then validation.

Every error becomes a :class:`ConfigProblem` carrying the dotted key and the
line (or the environment variable) that set it, collected into one
:class:`ConfigFileError` so an operator fixes the whole file in one pass.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from crypto_bot_core.config.env_overrides import apply_env_overrides
from crypto_bot_core.config.models import CryptoBotConfig
from crypto_bot_core.support.yaml_errors import ConfigFileError, ConfigProblem, Loc, format_key
from crypto_bot_core.support.yaml_source import YamlDocument, parse_yaml

DEFAULT_CONFIG_NAME = "default.yaml"


@dataclass(frozen=True)
class SourceMap:
    """Where each value of a config came from: a line of the file or an environment variable."""

    source: str
    document: YamlDocument
    overrides: Mapping[Loc, str] = field(default_factory=dict)
    """Paths set by ``CRYPTOBOT__...`` variables, with the variable's name."""

    def problem(self, loc: Loc, message: str) -> ConfigProblem:
        """A problem at ``loc`` pointing at the variable or the line that set it."""
        for end in range(len(loc), 0, -1):
            variable = self.overrides.get(loc[:end])
            if variable is not None:
                return ConfigProblem(key=format_key(loc), message=message, env_var=variable)
        position = self.document.position_of(loc)
        return ConfigProblem(
            key=format_key(loc),
            message=message,
            line=position.line if position else None,
            column=position.column if position else None,
        )

    def error(self, problems: list[ConfigProblem]) -> ConfigFileError:
        return ConfigFileError(self.source, problems)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where each of its values came from."""

    config: CryptoBotConfig
    origin: SourceMap

    @property
    def source(self) -> str:
        return self.origin.source



def _unwrap(annotation: Any) -> Any:
    """The model class inside ``X | None`` or ``tuple[X, ...]``, or ``annotation`` itself."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return annotation


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: Any = CryptoBotConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if typing.get_origin(model) is dict:  # a named entry (policies.definitions.trend)
            model = _unwrap(typing.get_args(model)[1])
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        info = model.model_fields.get(part)
        if info is None:
            return None
        model = _unwrap(info.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _message(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden" and loc and isinstance(loc[-1], str):
        model = _model_at(loc[:-1])
        if model is not None:
            allowed = sorted(model.model_fields)
            close = difflib.get_close_matches(loc[-1], allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"unknown key (allowed here: {', '.join(allowed)}){hint}"
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if "input" in error and kind not in ("value_error", "model_type", "dict_type", "tuple_type"):
        message += f" (got {error['input']!r})"
    return message


def _problems(origin: SourceMap, exc: ValidationError) -> list[ConfigProblem]:
    problems = [origin.problem(tuple(err["loc"]), _message(err)) for err in exc.errors()]
    # Environment variables first, then in file order: the order an operator reads them.
    return sorted(problems, key=lambda p: (p.env_var is None, p.line or 0, p.column or 0))


def parse_config(
    text: str, *, source: str = "<config>", environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Validate config ``text``; ``environ`` (default ``os.environ``) supplies overrides."""
    document = parse_yaml(text, source=source)
    data, overrides = apply_env_overrides(document.data, os.environ if environ is None else environ)
    origin = SourceMap(source, document, overrides)
    try:
        config = CryptoBotConfig.model_validate(data)
    except ValidationError as exc:
        raise origin.error(_problems(origin, exc)) from exc
    duplicates = [origin.problem(loc, message) for loc, message in config.duplicate_names()]
    if duplicates:
        raise origin.error(duplicates)
    return LoadedConfig(config, origin)


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read and validate the config file at ``path`` (plus ``CRYPTOBOT__...`` overrides)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(
            str(path),
            [ConfigProblem(key="<file>", message=f"cannot read: {exc.strerror or exc}")],
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            str(path), [ConfigProblem(key="<file>", message=f"not UTF-8 text: {exc}")]
        ) from exc
    return parse_config(text, source=str(path), environ=environ)


def default_config_text() -> str:
    return (
        resources.files("crypto_bot_core.config")
        .joinpath(DEFAULT_CONFIG_NAME)
        .read_text(encoding="utf-8")
    )


def default_config(*, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """The embedded config used when no file is given: a backtest on built-in plugins.

    Only its shape is checked here; its plugin addresses are checked against the
    installed plugins when it is resolved, like any other config.
    """
    return parse_config(
        default_config_text(), source=f"<embedded {DEFAULT_CONFIG_NAME}>", environ=environ
    )


def config_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the config file, for editors and CI checks."""
    schema = CryptoBotConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://crypto-bot.dev/schemas/config-1.json"
    schema["title"] = "crypto-bot config file"
    return schema
