"""Turning ccxt's exceptions and Binance's error codes into the SDK's errors.

ccxt classifies by its own table (``-1111`` precision and ``-1013`` filter
failures both arrive as a generic ``BadRequest``), so the Binance code in the
response body decides first and ccxt's class is the fallback. Every message
says what happened, quotes Binance's own words, and says what to do.
"""

from __future__ import annotations

import json
import re

from crypto_bot_sdk import (
    AuthenticationError,
    ClockSkewError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    PrecisionError,
    RateLimitedError,
)
from cryptobot_binance_futures.client import RetryAfter

_BODY = re.compile(r"\{.*\}", re.DOTALL)
_LISTEN_KEY = re.compile(r"(listenKey=)[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """Hide user-data stream keys (they grant reading the account's events) in messages."""
    return _LISTEN_KEY.sub(r"\1<redacted>", text)

Advice = tuple[type[ExchangeError], str]

CODES: dict[int, Advice] = {
    -1000: (ExchangeUnavailableError, "Binance hit an unknown internal error; retry later"),
    -1001: (ExchangeUnavailableError, "Binance's backend is unreachable or overloaded; the "
            "outcome of a write is unknown, so look the order up before resending it"),
    -1003: (RateLimitedError, "too many requests; wait the Retry-After time, lower the "
            "polling rate or use the websocket fill stream"),
    -1007: (ExchangeUnavailableError, "Binance timed out waiting for its backend; the order "
            "may or may not exist: look it up by client order id before resending"),
    -1008: (ExchangeUnavailableError, "Binance is overloaded; retry later"),
    -1015: (RateLimitedError, "too many new orders; slow down order placement"),
    -1021: (ClockSkewError, "the request timestamp is outside recvWindow of Binance's clock; "
            "sync the host clock with NTP, or set adjust_for_time_difference: true, or raise "
            "recv_window_ms"),
    -1022: (AuthenticationError, "the request signature is invalid; check that the API secret "
            "belongs to the API key"),
    -1102: (InvalidOrderError, "a required parameter is missing or malformed"),
    -1106: (InvalidOrderError, "a parameter was sent that this order type does not take"),
    -1111: (PrecisionError, "the price or quantity has more decimals than the market allows; "
            "round it to the instrument's tick and lot size"),
    -1116: (InvalidOrderError, "the order type is not valid for this market"),
    -1117: (InvalidOrderError, "the order side is not valid"),
    -1121: (InvalidOrderError, "the symbol is unknown to Binance USDⓈ-M; check the symbols "
            "setting against load_instruments()"),
    -1013: (InvalidOrderError, "the order breaks a market filter (quantity limits or step); "
            "check the instrument's lot size and limits"),
    -2010: (InvalidOrderError, "Binance rejected the new order"),
    -2011: (OrderNotFoundError, "Binance knows no open order with this id; it may already be "
            "filled or cancelled: fetch it to see its final state"),
    -2013: (OrderNotFoundError, "Binance knows no order with this id"),
    -2014: (AuthenticationError, "the API key format is invalid; check the key"),
    -2015: (AuthenticationError, "the API key is invalid, this IP is not whitelisted for it, "
            "or it lacks futures permission (Binance also answers this during a temporary IP "
            "ban); check the key, its IP whitelist and 'Enable Futures'"),
    -2018: (InsufficientFundsError, "the balance is insufficient; add collateral or trade "
            "smaller"),
    -2019: (InsufficientFundsError, "the margin is insufficient; reduce the size, lower the "
            "leverage exposure, or add USDT collateral"),
    -2021: (InvalidOrderError, "the trigger price would fire immediately; put a BUY stop above "
            "(a SELL stop below) the market"),
    -2022: (InvalidOrderError, "the reduce-only order would not reduce the position (it is flat "
            "or on the same side); drop reduce_only or check the position"),
    -4001: (InvalidOrderError, "the price is not positive"),
    -4003: (InvalidOrderError, "the quantity is not positive"),
    -4014: (PrecisionError, "the price is not a multiple of the tick size; round it with "
            "Instrument.round_price"),
    -4028: (InvalidOrderError, "this leverage is not allowed for the symbol's bracket; choose "
            "1 to the symbol's maximum"),
    -4116: (InvalidOrderError, "another open order already uses this client order id"),
    -4120: (InvalidOrderError, "this order type must go through the algo order endpoint"),
    -4164: (InvalidOrderError, "the order's notional is below the symbol's minimum; trade a "
            "larger size (reduce-only orders are exempt)"),
    -5021: (InvalidOrderError, "the fill-or-kill order could not fill completely and was "
            "refused"),
    -5022: (InvalidOrderError, "the post-only order would have taken liquidity and was "
            "refused; price it away from the market"),
}  # fmt: skip

AMBIGUOUS_CODES = frozenset({-1000, -1001, -1007})
"""Errors after which a write may or may not have happened at Binance."""


def binance_error(text: str) -> tuple[int, str] | None:
    """The ``(code, msg)`` of a Binance error body inside ccxt's exception text."""
    match = _BODY.search(text)
    if match is None:
        return None
    try:
        body = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(body, dict) or "code" not in body:
        return None
    try:
        code = int(body["code"])
    except (TypeError, ValueError):
        return None
    return code, str(body.get("msg", ""))


def _ccxt_class(exc: BaseException) -> Advice:
    import ccxt

    fallbacks: list[tuple[type[BaseException], Advice]] = [
        (ccxt.InsufficientFunds, (InsufficientFundsError, "insufficient margin or balance")),
        (ccxt.OrderNotFound, (OrderNotFoundError, "Binance knows no such order")),
        (ccxt.InvalidNonce, (ClockSkewError, "the local clock is off; sync it with NTP")),
        (ccxt.AuthenticationError, (AuthenticationError, "check the API key, secret and "
                                    "permissions")),
        (ccxt.RateLimitExceeded, (RateLimitedError, "slow down")),
        (ccxt.DDoSProtection, (RateLimitedError, "slow down; Binance is limiting this IP")),
        (ccxt.RequestTimeout, (ExchangeUnavailableError, "the request timed out; the outcome "
                               "of a write is unknown")),
        (ccxt.NetworkError, (ExchangeUnavailableError, "Binance could not be reached; check "
                             "connectivity and retry")),
        (ccxt.BadSymbol, (InvalidOrderError, "unknown symbol")),
        (ccxt.InvalidOrder, (InvalidOrderError, "Binance refused the order")),
        (ccxt.BadRequest, (InvalidOrderError, "Binance refused the request's parameters")),
    ]  # fmt: skip
    for cls, advice in fallbacks:
        if isinstance(exc, cls):
            return advice
    return ExchangeError, "Binance answered with an error"


def to_sdk_error(exc: BaseException, *, venue: str, action: str) -> ExchangeError:
    """The SDK error for ``exc`` raised by ccxt while doing ``action`` ("placing order X")."""
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, RetryAfter):
        wait = f"wait {exc.retry_after:g} s" if exc.retry_after is not None else "wait"
        banned = " (the IP is banned until then)" if exc.status == 418 else ""
        return RateLimitedError(
            f"{action}: Binance answered HTTP {exc.status}{banned}: {exc.body}; {wait} before "
            "the next request and lower the request rate",
            venue=venue,
            retry_after=exc.retry_after,
        )
    found = binance_error(str(exc))
    if found is not None and found[0] in CODES:
        code, msg = found
        cls, advice = CODES[code]
        text = f"{action}: Binance error {code} {msg!r}: {advice}"
    else:
        cls, advice = _ccxt_class(exc)
        detail = f"Binance error {found[0]} {found[1]!r}" if found else f"{type(exc).__name__}"
        text = f"{action}: {detail}: {advice} ({redact(str(exc))[:300]})"
    if cls is RateLimitedError:
        return RateLimitedError(text, venue=venue, retry_after=None)
    return cls(text, venue=venue)


def is_ambiguous(exc: BaseException) -> bool:
    """True when a write may have reached Binance although no answer says so."""
    if isinstance(exc, ExchangeUnavailableError):
        return True
    found = binance_error(str(exc))
    return found is not None and found[0] in AMBIGUOUS_CODES

