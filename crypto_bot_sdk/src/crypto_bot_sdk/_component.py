"""What every contract shares: the kinds, the config base model and the component base class.

Kept apart from the contracts themselves so that each contract module
(agents, exchanges, selectors, oversight, notifiers) imports only this and
the models it uses, and :mod:`._contracts` can gather them all into
:data:`~crypto_bot_sdk.CONTRACTS` without an import cycle.
"""

from __future__ import annotations

import re
from abc import ABC
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import ConfigDict
from pydantic import ValidationError as PydanticValidationError

from crypto_bot_sdk._base import FrozenModel
from crypto_bot_sdk._errors import ConfigError, CryptoBotError

COMPONENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class NotSupportedError(CryptoBotError, NotImplementedError):
    """An optional contract method was called on a component that does not offer it."""


class PluginKind(StrEnum):
    """The contract kinds a manifest may declare; each value names one abstract class.

    ``selector``, ``oversight`` and ``notifier`` were added in API 1.1.0.
    """

    DATASOURCE = "datasource"
    AGENT = "agent"
    EXCHANGE = "exchange"
    RISKRULE = "riskrule"
    REPORTER = "reporter"
    SELECTOR = "selector"
    OVERSIGHT = "oversight"
    NOTIFIER = "notifier"


class PluginConfig(FrozenModel):
    """Base of every component's config model: frozen, unknown keys rejected.

    Subclass it and add fields; document environment-variable fallbacks in the
    field descriptions. Secrets belong in ``pydantic.SecretStr`` fields so they
    never appear in logs, reprs or the ledger.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


ConfigT = TypeVar("ConfigT", bound=PluginConfig)


def _error_key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


class Component(ABC, Generic[ConfigT]):
    """What every contract shares: a kind, a name, a config model and a start/close life.

    ``name`` identifies the component inside its plugin; the host addresses it
    as ``<plugin>`` when the plugin offers one component of a kind, or
    ``<plugin>:<name>`` otherwise.
    """

    kind: ClassVar[PluginKind]
    name: ClassVar[str]
    config_model: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None = None, *, key: str = "config") -> Self:
        """Validate ``raw`` against :attr:`config_model` and build the component.

        A validation failure becomes one :class:`ConfigError` whose key is the
        dotted path below ``key`` of the first bad field, so the operator can
        find it in the YAML file.
        """
        try:
            config = cls.config_model.model_validate(dict(raw or {}))
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            sub = _error_key(tuple(first["loc"]))
            problems = "; ".join(
                f"{_error_key(tuple(err['loc'])) or '<root>'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(
                f"invalid settings for {cls.kind.value} {cls.name!r}: {problems}",
                key=f"{key}.{sub}" if sub else key,
            ) from exc
        return cls(config)  # type: ignore[arg-type]

    async def start(self) -> None:  # optional hook, empty by design
        """Optional: open connections, warm caches. Called once before the first use."""

    async def close(self) -> None:  # optional hook, empty by design
        """Optional: release connections. Called once at shutdown, also after errors."""
