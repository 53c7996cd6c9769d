"""The fake Binance USDⓈ-M server: HTTP dispatch, authentication, limits, faults, user stream.

It is an aiohttp application serving the REST paths and the user-data
websocket on one loopback port, over TLS with the test CA, so the client keeps
``https://fapi.binance.com`` and ``wss://fstream.binance.com`` as its URLs.
Private calls are checked like Binance checks them: the ``X-MBX-APIKEY``
header, the HMAC-SHA256 signature over the query string and body, and the
``timestamp`` against ``recvWindow``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from .faults import Fault, FaultKind, Faults
from .limits import WeightLimiter
from .models import BinanceError, FakeAccount, bad_request
from .routes import ROUTES, unknown_route
from .venue import FakeVenue

USER_STREAM_PATHS = ("/fapi/v1/listenKey",)
WS_PATHS = ("/private/ws", "/ws")


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]


@dataclass
class FakeBinance:
    """Everything the server knows; all of it is used on the server's event loop only."""

    venue: FakeVenue
    clock_offset_ms: int = 0
    limiter: WeightLimiter = field(default_factory=WeightLimiter)
    faults: Faults = field(default_factory=Faults)
    requests: list[Recorded] = field(default_factory=list)
    listen_keys: dict[str, str] = field(default_factory=dict)
    sockets: dict[str, list[asyncio.Queue[str | None]]] = field(default_factory=dict)
    refuse_streams: int = 0
    unknown: list[str] = field(default_factory=list)
    """Requests for paths the fake does not serve: a client call the fake would get wrong."""
    stream_connections: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    on_stream_connected: list[Callable[[int], None]] = field(default_factory=list)

    def now(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    # --- dispatch ------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET" and request.path in WS_PATHS:
            return await self.user_stream(request)
        body = (await request.text()) if request.can_read_body else ""
        params = dict(parse_qsl(request.query_string, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        self.requests.append(Recorded(request.method, request.path, params))
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.kind is FaultKind.DROP:
            return self._drop(request)
        try:
            if fault is not None and fault.kind is FaultKind.SERVER_ERROR:
                raise BinanceError(503, -1001, "Service Unavailable.")
            if fault is not None and fault.kind is FaultKind.ERROR:
                raise BinanceError(fault.status, fault.code, fault.msg, dict(fault.headers))
            payload, used = self._dispatch(request, params, body)
        except BinanceError as exc:
            return web.json_response(
                {"code": exc.code, "msg": exc.msg}, status=exc.status, headers=exc.headers
            )
        if fault is not None and fault.kind is FaultKind.DROP_AFTER_ACCEPT:
            return self._drop(request)
        if fault is not None and fault.kind is FaultKind.STALL_AFTER_ACCEPT:
            await self.release.wait()
            return self._drop(request)
        return web.json_response(payload, headers={"X-MBX-USED-WEIGHT-1M": str(used)})

    def _drop(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            transport.abort()
        return web.Response(status=499)

    def _dispatch(self, request: web.Request, params: dict[str, str], body: str) -> tuple[Any, int]:
        key = (request.method, request.path)
        if request.path in USER_STREAM_PATHS:
            used = self.limiter.charge(self.now(), 1)
            return self.listen_key(request.method, self._api_account(request)), used
        route = ROUTES.get(key)
        if route is None:
            self.unknown.append(f"{request.method} {request.path}")
            raise unknown_route(request.method, request.path)
        used = self.limiter.charge(self.now(), route.weight)
        account = self._authenticate(request, params, body) if route.signed else None
        return route.handler(self.venue, account, params), used

    # --- authentication ---------------------------------------------------------------------

    def _api_account(self, request: web.Request) -> FakeAccount:
        account = self.venue.accounts.get(request.headers.get("X-MBX-APIKEY", ""))
        if account is None:
            raise BinanceError(
                401, -2015, "Invalid API-key, IP, or permissions for action, request ip: 127.0.0.1"
            )
        return account

    def _authenticate(self, request: web.Request, params: dict[str, str], body: str) -> FakeAccount:
        account = self._api_account(request)
        signature = params.get("signature")
        if not signature:
            raise bad_request(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")  # noqa: E501
        payload = _unsigned(request.query_string) + _unsigned(body)
        expected = hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise bad_request(-1022, "Signature for this request is not valid.")
        try:
            timestamp = int(params["timestamp"])
            window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            raise bad_request(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.") from None  # noqa: E501
        if window > 60_000:
            raise bad_request(-1131, "recvWindow must be less than 60000")
        now = self.now()
        if timestamp >= now + 1000:
            raise bad_request(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")  # noqa: E501
        if now - timestamp > window:
            raise bad_request(-1021, "Timestamp for this request is outside of the recvWindow.")
        return account

    # --- user-data stream -----------------------------------------------------------------------

    def listen_key(self, method: str, account: FakeAccount) -> Any:
        current = next((k for k, a in self.listen_keys.items() if a == account.api_key), None)
        if method == "POST":
            if current is None:
                current = secrets.token_urlsafe(48)[:64]
                self.listen_keys[current] = account.api_key
            return {"listenKey": current}
        if current is None:
            raise bad_request(-1125, "This listenKey does not exist.")
        if method == "DELETE":
            del self.listen_keys[current]
        return {}

    async def user_stream(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey", "")
        account = self.listen_keys.get(key)
        if account is None or self.refuse_streams > 0:
            self.refuse_streams = max(0, self.refuse_streams - 1)
            return web.json_response({"code": -1125, "msg": "This listenKey does not exist."},
                                     status=400)  # fmt: skip
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.stream_connections += 1
        for notify in self.on_stream_connected:
            notify(self.stream_connections)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.sockets.setdefault(account, []).append(queue)
        reader = asyncio.ensure_future(self._read_until_closed(ws, queue))
        try:
            while (message := await queue.get()) is not None:
                await ws.send_str(message)
        except ConnectionError:
            pass
        finally:
            reader.cancel()
            self.sockets[account].remove(queue)
            await ws.close()
        return ws

    async def _read_until_closed(self, ws: web.WebSocketResponse, queue: asyncio.Queue[str | None]
                                 ) -> None:  # fmt: skip
        async for message in ws:
            if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        queue.put_nowait(None)

    def push(self, account: str, event: dict[str, Any]) -> None:
        """The venue's listener: every stream of the account gets the event, in order."""
        text = json.dumps(event)
        for queue in self.sockets.get(account, []):
            queue.put_nowait(text)

    def disconnect_streams(self) -> int:
        """Close every user-data websocket from the server side; events meanwhile are lost."""
        closed = 0
        for queues in self.sockets.values():
            for queue in queues:
                queue.put_nowait(None)
                closed += 1
        return closed


def _unsigned(raw: str) -> str:
    return "&".join(part for part in raw.split("&") if part and not part.startswith("signature="))


def arm(binance: FakeBinance, fault: Fault) -> Fault:
    return binance.faults.arm(fault)
