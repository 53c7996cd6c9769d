"""Loaded components by kind and address, the names a config file uses to pick them."""

from __future__ import annotations

from collections.abc import Iterator

from crypto_bot_core.host.records import ComponentInfo
from crypto_bot_sdk import CryptoBotError, PluginKind


class UnknownComponentError(CryptoBotError, LookupError):
    """No loaded component answers to an address; ``available`` lists those that do."""

    def __init__(self, message: str, *, address: str, available: tuple[str, ...]) -> None:
        self.address = address
        self.available = available
        super().__init__(message)


class ComponentRegistry:
    """Addresses per kind: ``<plugin>:<name>`` always, ``<plugin>`` for a plugin's only one."""

    def __init__(self) -> None:
        self._by_kind: dict[PluginKind, dict[str, ComponentInfo]] = {k: {} for k in PluginKind}
        self._components: list[ComponentInfo] = []

    def add(self, component: ComponentInfo) -> None:
        table = self._by_kind[component.kind]
        for address in dict.fromkeys((component.address, component.full_address)):
            if address in table:
                raise ValueError(f"address {address!r} is already taken by {table[address].cls}")
            table[address] = component
        self._components.append(component)

    def remove_plugin(self, plugin: str) -> None:
        for table in self._by_kind.values():
            for address in [a for a, c in table.items() if c.plugin == plugin]:
                del table[address]
        self._components = [c for c in self._components if c.plugin != plugin]

    def addresses(self, kind: PluginKind) -> tuple[str, ...]:
        """The preferred address of each component of ``kind``, sorted."""
        return tuple(sorted(c.address for c in self._components if c.kind is kind))

    def get(self, kind: PluginKind, address: str) -> ComponentInfo | None:
        return self._by_kind[kind].get(address)

    def of_plugin(self, plugin: str) -> tuple[ComponentInfo, ...]:
        return tuple(c for c in self._components if c.plugin == plugin)

    def __iter__(self) -> Iterator[ComponentInfo]:
        return iter(tuple(self._components))

    def __len__(self) -> int:
        return len(self._components)
