"""Built-in plugin ``fixed-selector``: the policy registry's fixed per-symbol mapping as a
``selector`` component.

The engine offers a selector the registry's policies with the registry's own choice
for the symbol first, so this selector, unconfigured, trades exactly the mapping of
the ``policies:`` section; its settings can override that mapping per symbol. It is
the rule-based selector a learned one (a meta-learner, a bandit) replaces, and the
mapping the engine falls back on whenever a configured selector fails. See
``docs/builtins/fixed_selector.md``.
"""

from crypto_bot_core.builtins.fixed_selector.selector import FixedSelector, FixedSelectorConfig

__all__ = ["FixedSelector", "FixedSelectorConfig"]
