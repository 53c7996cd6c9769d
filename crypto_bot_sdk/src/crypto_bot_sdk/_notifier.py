"""The Notifier contract (kind ``notifier``, API 1.1.0): alerts leaving the system.

Alerts (risk limits crossed, an agent failing, the kill switch) are written
to the ledger first; notifiers then take them to people: chat, e-mail, a
pager, a webhook. Before API 1.1 a plugin did this by implementing the
``cryptobot_alert`` observation hook with a manifest of no kinds; that hook
stays and is still called. A notifier component is the typed form of the
same job: its config is validated like any component's, it has a start/close
life for its connection, and the engine calls it through its plugin's fence
with a time budget, so a slow receiver cannot hold up trading.
"""

from __future__ import annotations

from abc import abstractmethod

from crypto_bot_sdk._component import Component, ConfigT, PluginKind
from crypto_bot_sdk._decisions import Alert


class Notifier(Component[ConfigT]):
    """Delivers each alert it is given to one channel."""

    kind = PluginKind.NOTIFIER

    @abstractmethod
    async def notify(self, alert: Alert) -> None:
        """Required: deliver ``alert`` (already in the ledger) to the channel.

        Filter by ``alert.severity`` as the config says. Raise an SDK error
        (e.g. :class:`ConfigError` for a rejected token) when delivery failed;
        the engine records the failure and carries on trading. Never let an
        alert sit in a queue without bound: drop or summarise instead.
        """
