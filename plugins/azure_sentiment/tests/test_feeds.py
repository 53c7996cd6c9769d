"""The feed reader: RSS, Atom and JSON lines through feedparser and json, refresh and ETags."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cryptobot_azure_sentiment.feeds import FeedReader, Headline, mentioning, parse_feed
from cryptobot_azure_sentiment.testing import FakeFeeds, Item, jsonl

from .support import NOW, FakeClock, run

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Chain news</title><id>urn:feed</id><updated>2024-01-02T12:00:00Z</updated>
  <entry><title>Solana &lt;b&gt;outage&lt;/b&gt; halts blocks</title><id>urn:e1</id>
    <updated>2024-01-02T10:30:00Z</updated><summary type="html">&lt;p&gt;Validators
    restart.&lt;/p&gt;</summary></entry>
  <entry><title>Undated rumour</title><id>urn:e2</id></entry>
</feed>"""


def _read(reader: FeedReader, times: int = 1) -> list[list[Headline]]:
    async def scenario() -> list[list[Headline]]:
        try:
            return [await reader.headlines() for _ in range(times)]
        finally:
            await reader.aclose()

    return run(scenario)


def test_rss_and_jsonl_feeds_merge_newest_first(feeds: FakeFeeds) -> None:
    extra = [Item("j1", "Cardano staking record", NOW - timedelta(minutes=5), "Summary here")]
    urls = [f"{feeds.url}/news.xml", feeds.serve("/more.jsonl", jsonl(extra), "text/plain")]
    (headlines,) = _read(FeedReader(urls, refresh=60, timeout=2))
    assert [h.title for h in headlines[:2]] == [
        "Bitcoin surges past record in the future", "Cardano staking record",
    ]  # fmt: skip
    assert len(headlines) == 7
    cardano = headlines[1]
    assert (cardano.published, cardano.text) == (
        NOW - timedelta(minutes=5), "Cardano staking record. Summary here",
    )  # fmt: skip


def test_atom_entries_are_cleaned_and_undated_ones_dropped() -> None:
    (headline,) = parse_feed(ATOM, "https://feed.example/atom")
    assert headline.title == "Solana outage halts blocks"
    assert headline.summary == "Validators restart."
    assert headline.published == NOW - timedelta(hours=1, minutes=30)


def test_refresh_is_conditional_and_waits_for_its_interval(feeds: FakeFeeds) -> None:
    clock = FakeClock()
    reader = FeedReader([f"{feeds.url}/news.xml"], refresh=60, timeout=2, clock=clock)

    async def scenario() -> list[int]:
        try:
            await reader.headlines()
            await reader.headlines()  # within the interval: no request
            clock.now += 60
            await reader.headlines()  # due: a conditional request, answered 304
            return [len(feeds.requests("GET")), len(await reader.headlines())]
        finally:
            await reader.aclose()

    requests, count = run(scenario)
    assert requests == 2
    assert count == 6
    first, second = feeds.requests("GET")
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"].startswith('"')


def test_a_broken_feed_keeps_its_last_headlines_and_says_why(feeds: FakeFeeds) -> None:
    clock = FakeClock()
    url = f"{feeds.url}/news.xml"
    reader = FeedReader([url], refresh=0, timeout=2, clock=clock)

    async def scenario() -> tuple[int, dict[str, str], int]:
        try:
            good = len(await reader.headlines())
            feeds.serve("/news.xml", b"<html><body>502 Bad Gateway", "text/html")
            still = len(await reader.headlines())
            return good, reader.errors(), still
        finally:
            await reader.aclose()

    good, broken, still = run(scenario)
    assert good == still == 6
    assert broken[url].startswith("malformed feed: not an RSS or Atom feed")


def test_jsonl_lines_must_have_a_title_and_a_zoned_date(feeds: FakeFeeds) -> None:
    bad = feeds.serve("/bad.jsonl", b'{"title": "ok", "published": "2024-01-02T10:00:00"}\n')
    reader = FeedReader([bad], refresh=60, timeout=2)
    assert _read(reader) == [[]]
    assert reader.errors()[bad] == (
        "malformed feed: line 1: 'published' '2024-01-02T10:00:00' has no time zone"
    )


def test_a_feed_that_times_out_is_an_error_not_a_hang(feeds: FakeFeeds) -> None:
    feeds.hold()
    try:
        reader = FeedReader([f"{feeds.url}/news.xml"], refresh=60, timeout=0.2)
        assert _read(reader) == [[]]
    finally:
        feeds.release()
    assert reader.errors()[f"{feeds.url}/news.xml"] == "ReadTimeout"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("BTC", "Bitcoin"), ["a1", "a2", "a3", "a5", "a6"]),
        (("ETH", "Ethereum", "Ether"), ["a4"]),
        (("Ether",), []),  # a whole word: 'Ether' does not match 'Ethereum'
    ],
)
def test_mentioning_matches_whole_words(
    feeds: FakeFeeds, words: tuple[str, ...], expected: list[str]
) -> None:
    (headlines,) = _read(FeedReader([f"{feeds.url}/news.xml"], refresh=60, timeout=2))
    keys = sorted(h.key.split("#")[0] for h in mentioning(headlines, words))
    assert keys == expected
