"""The core's own plugins: paper exchange, data sources, rule-based agents, risk rules, reporters.

Each subpackage is a plugin in its own right: it ships a ``manifest.json``,
registers through the ``crypto_bot.plugins`` entry-point group and depends on
the SDK only, exactly like a third-party plugin (DESIGN rule 2). Nothing in the
host refers to them by name.
"""
