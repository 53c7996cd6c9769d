"""The one wrapper through which the host and the engine call plugin code.

A bug in a plugin (a ``KeyError`` in an agent, a ``TypeError`` in a reporter)
must not surface as an anonymous traceback deep inside the engine, nor be
mistaken for an engine bug. The fence turns such a failure into a
:class:`PluginError` that names the plugin and its distribution, chained to the
original exception. Errors of our own hierarchy (:class:`CryptoBotError`:
``ExchangeError``, ``AgentUnavailableError``, ``ConfigError``...) are part of
the contracts and pass through unchanged, so callers can still catch the
precise subclass (retry after ``RateLimitedError``, drop an unavailable agent).

The fence does not copy arguments: the engine passes frozen SDK models and
read-only views (``MarketView``, ``RiskContext``), which is what keeps a plugin
from corrupting engine state; copying here would only cost time on the hot path.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import ParamSpec, TypeVar

from crypto_bot_sdk import CryptoBotError, PluginError

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

PASSTHROUGH: tuple[type[BaseException], ...] = (CryptoBotError, StopIteration, StopAsyncIteration)
"""Exceptions that are contract behaviour or control flow, never a plugin fault."""


class Fence:
    """Calls into one plugin; every failure becomes a :class:`PluginError` naming it."""

    __slots__ = ("distribution", "plugin")

    def __init__(self, plugin: str, distribution: str | None = None) -> None:
        self.plugin = plugin
        self.distribution = distribution

    def error(self, exc: BaseException, where: object = None) -> PluginError:
        """The typed error for ``exc`` raised by this plugin in ``where`` (a callable or text)."""
        label = getattr(where, "__qualname__", None) or (str(where) if where else "plugin code")
        return PluginError(
            f"{label} raised {type(exc).__name__}: {exc}",
            plugin=self.plugin,
            distribution=self.distribution,
        )

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except PASSTHROUGH:
            raise
        except Exception as exc:
            raise self.error(exc, fn) from exc

    async def call_async(
        self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        try:
            return await fn(*args, **kwargs)
        except PASSTHROUGH:
            raise
        except Exception as exc:
            raise self.error(exc, fn) from exc

    async def iterate(
        self, source: AsyncIterator[T], where: object = None
    ) -> AsyncGenerator[T, None]:
        """Re-yield ``source`` (a plugin's stream), fencing every step of the iteration."""
        iterator = aiter(source)
        try:
            while True:
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    return
                except PASSTHROUGH:
                    raise
                except Exception as exc:
                    raise self.error(exc, where or source) from exc
                yield item
        finally:
            # A consumer that stops early must not leave the plugin's stream (and the
            # connection or file behind it) open until garbage collection.
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await self.call_async(aclose)

    def __repr__(self) -> str:
        return f"Fence(plugin={self.plugin!r}, distribution={self.distribution!r})"
