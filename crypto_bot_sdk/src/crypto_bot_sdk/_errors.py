"""The exception hierarchy shared by the host, the core and every plugin.

Every error the platform raises derives from :class:`CryptoBotError` so an
operator's tooling can catch "anything of ours" in one place, while callers
that can recover (a retry after a rate limit, a resize after a margin error)
catch the precise subclass. Messages say what was wrong, with which value, and
what to do about it.
"""

from __future__ import annotations


class CryptoBotError(Exception):
    """Base of every error raised by crypto-bot and its plugins."""


class ConfigError(CryptoBotError, ValueError):
    """A configuration value is missing or invalid.

    ``key`` is the dotted path of the offending setting (``exchanges[0].config.fee``)
    so the operator can find it in the YAML file.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


class ModelValidationError(CryptoBotError, ValueError):
    """A domain object was built from values that break an invariant."""


# --- plugins -----------------------------------------------------------------


class PluginError(CryptoBotError):
    """A plugin failed: refused at load time, or raised while the host called it.

    Carries the plugin's name and distribution so the message points at the
    package to fix, never only at a stack frame inside the host.
    """

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        distribution: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.reason = message
        where = plugin or "<unknown plugin>"
        if distribution:
            where = f"{where} (distribution {distribution})"
        super().__init__(f"plugin {where}: {message}")


class ManifestError(PluginError):
    """A plugin's ``manifest.json`` is missing, unreadable or does not match the schema."""


class IncompatiblePluginError(PluginError):
    """A plugin's declared API or core version range excludes this host."""


class PluginLoadError(PluginError):
    """Importing a plugin's code, or instantiating a component, failed."""


class DuplicatePluginError(PluginError):
    """Two installed plugins (or components) claim the same name."""


class PluginContractError(PluginError):
    """A plugin does not implement what its manifest declares, or breaks a contract at run time."""


# --- orders and exchanges ----------------------------------------------------


class OrderError(CryptoBotError):
    """An order could not be built, moved through its lifecycle, or placed."""


class IllegalTransitionError(OrderError):
    """An order was asked to move to a state its lifecycle does not allow from its current one."""


class ExchangeError(CryptoBotError):
    """An exchange refused or failed a request.

    ``venue`` names the exchange; ``retryable`` tells the caller whether the same
    request may be sent again unchanged (only idempotent ones ever are).
    """

    retryable: bool = False

    def __init__(self, message: str, *, venue: str | None = None) -> None:
        self.venue = venue
        super().__init__(f"{venue}: {message}" if venue else message)


class InvalidOrderError(ExchangeError, OrderError):
    """The exchange (or the SDK before sending) refused the order's parameters."""


class InsufficientFundsError(ExchangeError):
    """Balance or margin does not cover the order; reduce the size or add collateral."""


class PrecisionError(InvalidOrderError):
    """A price or quantity does not fit the instrument's tick or lot size."""


class OrderNotFoundError(ExchangeError):
    """The exchange knows no order with the given client or exchange id."""


class DuplicateOrderError(ExchangeError):
    """An order with this client order id already exists with different parameters."""


class RateLimitedError(ExchangeError):
    """The exchange asked us to slow down; wait ``retry_after`` seconds before the next call."""

    retryable = True

    def __init__(
        self, message: str, *, venue: str | None = None, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, venue=venue)


class ExchangeUnavailableError(ExchangeError):
    """The exchange could not be reached or answered with a server error."""

    retryable = True


class AuthenticationError(ExchangeError):
    """The exchange rejected the API credentials; check the key, secret and their permissions."""


class ClockSkewError(ExchangeError):
    """The local clock differs too much from the exchange's; sync the host clock (NTP)."""


# --- data, agents, risk, ledger ----------------------------------------------


class DataSourceError(CryptoBotError):
    """Market or alternative data could not be read, or broke its ordering or value rules."""


class AgentUnavailableError(CryptoBotError):
    """An agent cannot produce a signal now (its service is slow or down).

    The engine drops the agent from this tick's aggregation and counts a
    fallback; trading continues on the other agents.
    """


class RiskError(CryptoBotError):
    """A risk computation could not be carried out (for example too little history)."""


class ValuationError(RiskError, ValueError):
    """An intent or a position cannot be valued: no price, or no rate into the portfolio
    currency. The message says which price is missing. Added in API 1.1.0."""


class LedgerError(CryptoBotError):
    """The audit ledger refused a write or could not be read."""


class LedgerIntegrityError(LedgerError):
    """Verification found a record, proof or checkpoint that does not match.

    ``sequence`` is the first bad record's sequence number, when one is known.
    """

    def __init__(self, message: str, *, sequence: int | None = None) -> None:
        self.sequence = sequence
        super().__init__(message)


class ErasureRefusedError(LedgerError):
    """A data-subject erasure was refused, for example while a legal hold applies."""
