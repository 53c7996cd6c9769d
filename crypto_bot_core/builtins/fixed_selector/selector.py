"""``fixed``: the same policy for a symbol every tick, from a fixed mapping.

The engine calls :meth:`FixedSelector.select` with the registry's policy names,
the registry's choice for the symbol first (its ``policies.symbol_policies``
entry, else ``policies.default``). Unconfigured, the selector returns that first
name, which is the registry's mapping as it always was. ``symbols`` and
``default`` override it; a policy they name that is not on offer (misspelt, or
missing from the registry) is passed over for the registry's choice, so the
selector never answers with a name the engine would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from crypto_bot_sdk import MarketView, PluginConfig, PolicyChoice, PolicySelector


class FixedSelectorConfig(PluginConfig):
    """Overrides of the registry's mapping; both empty by default."""

    symbols: dict[str, str] = Field(
        default_factory=dict,
        description="Symbol -> policy name, taking precedence over the registry's mapping.",
    )
    default: str | None = Field(
        default=None,
        min_length=1,
        description="Policy for symbols not in `symbols`; unset: the registry's own choice.",
    )


class FixedSelector(PolicySelector[FixedSelectorConfig]):
    """The fixed mapping: the configured policy of the symbol, else the registry's choice."""

    name = "fixed"
    config_model = FixedSelectorConfig

    def __init__(self, config: FixedSelectorConfig) -> None:
        super().__init__(config)
        self._choices: dict[str, PolicyChoice] = {}
        """One frozen answer per policy name: select runs every tick and builds nothing."""

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        wanted = self.config.symbols.get(symbol, self.config.default)
        policy = wanted if wanted is not None and wanted in policies else policies[0]
        choice = self._choices.get(policy)
        if choice is None:
            choice = self._choices[policy] = PolicyChoice(policy)
        return choice
