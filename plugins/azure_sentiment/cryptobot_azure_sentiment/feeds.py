"""Headlines from RSS/Atom (parsed by feedparser) or JSON-lines feeds, refreshed and cached.

The agent owns its reader rather than receiving news through the engine:
the SDK's market events (bar, trade, book, metric point) have no place for
text, and a plugin must not depend on the core. Every headline carries its
publication time, so an agent only ever looks at headlines published at or
before ``market.now``: a backtest sees no news from its future. Entries
without a date are dropped for that reason.

A refresh is a conditional GET (``If-None-Match`` / ``If-Modified-Since``); a
feed that fails keeps its last good headlines, and the failure is kept so the
caller can say which feed is down.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

_JSON_TYPES = ("application/json", "application/x-ndjson", "application/jsonl", "text/jsonl")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Headline:
    key: str
    """Stable identity: the entry's id (or link), plus a hash of its text."""
    title: str
    summary: str
    published: datetime
    feed: str

    @property
    def text(self) -> str:
        """What is scored: the title, then the summary if it adds anything."""
        if not self.summary or self.summary == self.title:
            return self.title
        return f"{self.title}. {self.summary}"


def _key(entry_id: str, title: str, summary: str) -> str:
    digest = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:16]
    return f"{entry_id}#{digest}"


def _clean(text: str) -> str:
    """Feed summaries often hold HTML; keep the words."""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def parse_feed(body: bytes, feed: str) -> list[Headline]:
    """RSS 0.9x/1.0/2.0 or Atom, through feedparser; entries without a date are skipped."""
    import feedparser  # type: ignore[import-untyped]

    parsed = feedparser.parse(body)
    if parsed.get("bozo") and not parsed.entries:
        raise ValueError(f"not an RSS or Atom feed ({parsed.get('bozo_exception')})")
    headlines = []
    for entry in parsed.entries:
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        title = _clean(entry.get("title", ""))
        if stamp is None or not title:
            continue
        summary = _clean(entry.get("summary", ""))
        entry_id = entry.get("id") or entry.get("link") or title
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC)
        headlines.append(Headline(_key(entry_id, title, summary), title, summary, published, feed))
    return headlines


def parse_jsonl(body: bytes, feed: str) -> list[Headline]:
    """One JSON object per line: ``title`` and ISO-8601 ``published`` required."""
    headlines = []
    for number, line in enumerate(body.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item: Any = json.loads(line)
            title = _clean(str(item["title"]))
            published = datetime.fromisoformat(str(item["published"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"line {number} is not an object with 'title' and an ISO-8601 'published' "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        if published.tzinfo is None:
            raise ValueError(f"line {number}: 'published' {item['published']!r} has no time zone")
        summary = _clean(str(item.get("summary", "")))
        entry_id = str(item.get("id") or item.get("url") or title)
        key = _key(entry_id, title, summary)
        headlines.append(Headline(key, title, summary, published.astimezone(UTC), feed))
    return headlines


@dataclass(slots=True)
class _FeedState:
    headlines: list[Headline]
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    fetched: bool = False


class FeedReader:
    """Fetches every feed at most once per ``refresh`` seconds (monotonic clock)."""

    def __init__(
        self,
        feeds: Sequence[str],
        *,
        refresh: float,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._feeds = tuple(feeds)
        self._refresh = refresh
        self._clock = clock
        self._state = {feed: _FeedState([]) for feed in self._feeds}
        self._last_refresh: float | None = None
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=True
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def errors(self) -> dict[str, str]:
        """The feeds whose last fetch failed, with why."""
        return {feed: s.error for feed, s in self._state.items() if s.error is not None}

    def any_fetched(self) -> bool:
        return any(s.fetched for s in self._state.values())

    async def headlines(self) -> list[Headline]:
        """Every known headline, newest first; refreshes the feeds when they are due."""
        now = self._clock()
        if self._last_refresh is None or now - self._last_refresh >= self._refresh:
            self._last_refresh = now
            for feed in self._feeds:
                await self._fetch(feed)
        unique = {h.key: h for s in self._state.values() for h in s.headlines}
        return sorted(unique.values(), key=lambda h: (h.published, h.key), reverse=True)

    async def _fetch(self, feed: str) -> None:
        state = self._state[feed]
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            response = await self._http.get(feed, headers=headers)
        except httpx.HTTPError as exc:
            state.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return
        if response.status_code == 304 and state.fetched:
            state.error = None
            return
        if response.status_code != 200:
            state.error = f"HTTP {response.status_code} {response.reason_phrase}"
            return
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        path = feed.split("?", maxsplit=1)[0]
        as_jsonl = content_type in _JSON_TYPES or path.endswith(_JSONL_SUFFIXES)
        try:
            parsed = (parse_jsonl if as_jsonl else parse_feed)(response.content, feed)
        except ValueError as exc:
            state.error = f"malformed feed: {exc}"
            return
        state.headlines = parsed
        state.etag = response.headers.get("ETag")
        state.last_modified = response.headers.get("Last-Modified")
        state.error = None
        state.fetched = True


def mentioning(headlines: Iterable[Headline], words: Sequence[str]) -> list[Headline]:
    """Headlines whose text names one of ``words`` as a whole word, case-insensitively."""
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE
    )
    return [h for h in headlines if pattern.search(h.text)]
