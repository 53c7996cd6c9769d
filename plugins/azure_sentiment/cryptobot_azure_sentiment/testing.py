"""Loopback fakes for offline tests: the Azure AI Language sentiment API and news feeds.

:class:`FakeLanguageService` speaks the service's wire format, so the real
``azure-ai-textanalytics`` client runs against it unchanged:
``POST /language/:analyze-text?api-version=2023-04-01`` with an
``Ocp-Apim-Subscription-Key`` header and a body
``{"kind": "SentimentAnalysis", "analysisInput": {"documents": [...]}, "parameters": {...}}``,
answered with ``{"kind": "SentimentAnalysisResults", "results": {"documents": [...],
"errors": [...], "modelVersion": ...}}``. It enforces the service's limits (10
documents per request, non-empty text, the key) with the service's error
bodies, and scores text with a small word list, so results are deterministic.
It can be made to fail (any status), to hold answers (slow), or be stopped.

:class:`FakeFeeds` serves RSS 2.0 or JSON-lines documents with an ``ETag``.

Both bind 127.0.0.1 on an ephemeral port and run in a daemon thread; pass an
``ssl.SSLContext`` to serve HTTPS. Nothing here is used by the plugin itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

MODEL_VERSION = "2022-11-01"
API_VERSIONS = ("2023-04-01", "2022-05-01")
MAX_DOCUMENTS = 10
POSITIVE = frozenset({
    "surge", "surges", "soar", "soars", "rally", "rallies", "record", "gain", "gains",
    "approve", "approved", "approval", "inflows", "bullish", "upgrade", "partnership",
    "adoption", "boost", "beats", "strong",
})  # fmt: skip
NEGATIVE = frozenset({
    "hack", "hacked", "crash", "crashes", "plunge", "plunges", "lawsuit", "ban", "banned",
    "outflows", "bearish", "exploit", "fraud", "selloff", "sell-off", "drains", "halt",
    "halts", "weak", "fears",
})  # fmt: skip
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_WORD = re.compile(r"[a-z][a-z-]*")


def _error(code: str, message: str, inner: tuple[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        body["innererror"] = {"code": inner[0], "message": inner[1]}
    return body


def _scores(text: str) -> tuple[str, dict[str, float]]:
    words = _WORD.findall(text.lower())
    pos = sum(w in POSITIVE for w in words)
    neg = sum(w in NEGATIVE for w in words)
    lean = (pos - neg) / max(2, pos + neg)
    positive = round(0.02 + 0.96 * max(lean, 0.0), 2)
    negative = round(0.02 + 0.96 * max(-lean, 0.0), 2)
    neutral = round(1.0 - positive - negative, 2)
    if positive > 0.5:
        label = "positive"
    elif negative > 0.5:
        label = "negative"
    else:
        label = "mixed" if pos and neg else "neutral"
    return label, {"positive": positive, "neutral": neutral, "negative": negative}


def analyse(doc_id: str, text: str) -> dict[str, Any]:
    """The service's answer for one document: document and sentence sentiment."""
    sentences = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        if not sentence:
            continue
        label, scores = _scores(sentence)
        offset = text.index(sentence, match.start())
        sentences.append({
            "sentiment": label, "confidenceScores": scores, "offset": offset,
            "length": len(sentence), "text": sentence,
        })  # fmt: skip
    label, scores = _scores(text)
    return {
        "id": doc_id, "sentiment": label, "confidenceScores": scores,
        "sentences": sentences, "warnings": [],
    }  # fmt: skip


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class _Loopback:
    """A threaded HTTP(S) server on 127.0.0.1 that records what it was asked."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.held = False
        self.failing: tuple[int, dict[str, Any]] | None = None
        self.connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.scheme = "http"
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._running = False

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        self._running = True
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and close the port, like a crashed service:
        pooled keep-alive connections break, new ones are refused."""
        if self._running:
            self.released.set()
            self._server.shutdown()
            self._running = False
        self._server.server_close()
        with self.lock:
            open_connections = list(self.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def hold(self) -> None:
        """Answer nothing until :meth:`release` (a slow service)."""
        self.released.clear()
        self.held = True

    def release(self) -> None:
        self.held = False
        self.released.set()

    def fail_with(self, status: int | None, code: str = "ServiceUnavailable",
                  message: str = "The service is temporarily unavailable.") -> None:  # fmt: skip
        """Answer every request with ``status`` and an error body; ``None`` to heal."""
        self.failing = None if status is None else (status, {"error": _error(code, message)})

    def requests(self, method: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if method is None or s.method == method]

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        return 404, {}, b""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with fake.lock:
                    fake.connections.add(self.connection)

            def finish(self) -> None:
                with fake.lock:
                    fake.connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test output is for the tests."""

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                seen = Seen(method, parts.path, parse_qs(parts.query), dict(self.headers), body)
                with fake.lock:
                    fake.seen.append(seen)
                if fake.held:
                    fake.released.wait(timeout=30)
                if fake.failing is not None:
                    status, error = fake.failing
                    headers = {"Content-Type": "application/json; charset=utf-8"}
                    reply = (status, headers, json.dumps(error).encode())
                else:
                    reply = fake.answer(seen)
                status, headers, content = reply
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass  # the client gave up waiting

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        return Handler


class FakeLanguageService(_Loopback):
    """The sentiment part of Azure AI Language; ``endpoint`` is what the client is given."""

    def __init__(self, key: str = "test-key", ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(ssl_context)
        self.key = key

    @property
    def endpoint(self) -> str:
        return self.url

    def documents_scored(self) -> int:
        return sum(
            len(s.body["analysisInput"]["documents"])
            for s in self.requests("POST")
            if isinstance(s.body, dict) and "analysisInput" in s.body
        )

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "apim-request-id": hashlib.sha256(repr(seen.body).encode()).hexdigest()[:32],
            "x-envoy-upstream-service-time": "12",
        }

        def reply(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
            return status, headers, json.dumps(payload).encode()

        if seen.headers.get("Ocp-Apim-Subscription-Key") != self.key:
            return reply(401, {"error": _error(
                "401", "Access denied due to invalid subscription key or wrong API endpoint. "
                "Make sure to provide a valid key for an active subscription and use a correct "
                "regional API endpoint for your resource.")})  # fmt: skip
        if seen.method != "POST" or seen.path != "/language/:analyze-text":
            return reply(404, {"error": _error("404", "Resource not found")})
        version = seen.query.get("api-version", [""])[0]
        if version not in API_VERSIONS:
            message = f"Resource not found (api-version {version!r} is not supported)"
            return reply(404, {"error": _error("404", message)})
        body = seen.body
        if not isinstance(body, dict) or body.get("kind") != "SentimentAnalysis":
            inner = ("InvalidParameterValue", "Job task parameter value is not supported.")
            return reply(400, {"error": _error("InvalidRequest", "Invalid Request.", inner)})
        documents = body.get("analysisInput", {}).get("documents", [])
        if len(documents) > MAX_DOCUMENTS:
            return reply(400, {"error": _error(
                "InvalidRequest", "Invalid document in request.",
                ("InvalidDocumentBatch", "Batch request contains too many records. "
                 f"Max {MAX_DOCUMENTS} records are permitted."))})  # fmt: skip
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for document in documents:
            text = str(document.get("text", ""))
            if not text.strip():
                errors.append({"id": document["id"], "error": _error(
                    "InvalidArgument", "Invalid document in request.",
                    ("InvalidDocument", "Document text is empty."))})  # fmt: skip
                continue
            results.append(analyse(str(document["id"]), text))
        return reply(200, {
            "kind": "SentimentAnalysisResults",
            "results": {"documents": results, "errors": errors, "modelVersion": MODEL_VERSION},
        })  # fmt: skip


@dataclass(frozen=True)
class Item:
    """One news item to serve."""

    id: str
    title: str
    published: datetime
    summary: str = ""


def rss(items: Iterable[Item], title: str = "Crypto news") -> bytes:
    """An RSS 2.0 document of ``items``."""
    entries = "".join(
        f"<item><title>{escape(i.title)}</title><link>https://news.example/{escape(i.id)}</link>"
        f"<guid isPermaLink=\"false\">{escape(i.id)}</guid>"
        f"<pubDate>{format_datetime(i.published, usegmt=True)}</pubDate>"
        f"<description>{escape(i.summary)}</description></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>"
        f"<description>{escape(title)}</description>{entries}</channel></rss>"
    ).encode()


def jsonl(items: Iterable[Item]) -> bytes:
    """A JSON-lines document of ``items``."""
    return "".join(
        json.dumps({"id": i.id, "title": i.title, "summary": i.summary,
                    "published": i.published.isoformat()}) + "\n"
        for i in items
    ).encode()  # fmt: skip


class FakeFeeds(_Loopback):
    """Serves documents by path, with an ETag and 304 on ``If-None-Match``."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(ssl_context)
        self.documents: dict[str, tuple[bytes, str]] = {}

    def serve(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> str:
        """Serve ``body`` at ``path``; returns the document's URL."""
        self.documents[path] = (body, content_type)
        return f"{self.url}{path}"

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        found = self.documents.get(seen.path)
        if found is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        body, content_type = found
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if seen.headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"Content-Type": content_type, "ETag": etag}, body
