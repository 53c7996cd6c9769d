"""Refuse every connection and name lookup that would leave 127.0.0.0/8.

The tests' only server is the fake Binance on loopback; the client reaches
it because the adapter's ``resolve`` setting maps Binance's host names to
127.0.0.1. If anything tried a real host (a missing override, a new endpoint
on another host), the guard fails the call before a single packet leaves.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any


class NetworkGuardError(ConnectionRefusedError):
    """A test tried to reach an address outside this machine."""


def is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0].strip("[]")).is_loopback
    except ValueError:
        return False


def _address_allowed(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX paths never leave the machine
        return True
    return isinstance(address, tuple) and is_loopback(address[0])


def guard_connect(real: Callable[..., Any]) -> Callable[..., Any]:
    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _address_allowed(address):
            raise NetworkGuardError(f"test network guard: refusing to connect to {address!r}")
        return real(sock, address)

    return connect


def guard_getaddrinfo(real: Callable[..., Any]) -> Callable[..., Any]:
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not is_loopback(name):
            raise socket.gaierror(
                socket.EAI_NONAME, f"test network guard: refusing to resolve {name!r}"
            )
        return real(host, *args, **kwargs)

    return getaddrinfo
