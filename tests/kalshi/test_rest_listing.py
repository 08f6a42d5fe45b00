"""``KalshiRestClient.list_markets`` (GET /markets: filters, cursor, rate limit) and ``TokenBucket``.

The listing runs against the local exchange's real REST routes; failures come from a real
HTTP front that answers what the test scripts (``tests/support/flaky_http.py``). The rate
limit is checked on an injected clock (the time it makes requests wait, never wall time).
"""

from __future__ import annotations

import asyncio

import pytest

from kalshi_rl.core.errors import DataNotFoundError, ExchangeError, InvalidValueError
from kalshi_rl.kalshi.rate_limit import TokenBucket
from kalshi_rl.kalshi.rest import KalshiRestClient
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from tests.support.flaky_http import RESET, FlakyRest


class FakeClock:
    """A monotonic clock that only moves when the bucket sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def bucket(clock: FakeClock, rate: float = 200.0) -> TokenBucket:
    return TokenBucket(rate, clock=clock, sleep=clock.sleep)


async def test_the_listing_follows_the_cursor_to_every_market_of_the_series_once(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=5, rate=50))
    for _ in range(2):
        sim.create_event(markets=5)
    other = sim.create_event(markets=3, series="KXOTHER")
    rest = KalshiRestClient(sim.rest_url)
    try:
        listed = await rest.list_markets(series_ticker="KXSIM", limit=2)
        assert [m.ticker for m in listed] == [t for t in sim.tickers if t.startswith("KXSIM-")]
        assert len(listed) == 15 and rest.requests == 8  # ceil(15 / 2) pages, the last one short
        by_event = await rest.list_markets(event_ticker=other.event_ticker, limit=1)
        assert [m.ticker for m in by_event] == [m.ticker for m in other.markets]
        assert [m.event_ticker for m in by_event] == [other.event_ticker] * 3
        everything = await rest.list_markets()
        assert len(everything) == 18
        some = (sim.tickers[4], "KXSIM-NOPE-M00", sim.tickers[0])
        assert [m.ticker for m in await rest.list_markets(tickers=some)] == [sim.tickers[0], sim.tickers[4]]
        assert await rest.list_markets(series_ticker="KXNONE") == []
    finally:
        await rest.aclose()


async def test_the_status_filter_uses_the_listing_words_not_market_statuses(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=2, rate=50, open_delay_s=60))
    rest = KalshiRestClient(sim.rest_url)
    try:
        unopened = await rest.list_markets(series_ticker="KXSIM", status="unopened")
        assert [m.ticker for m in unopened] == sim.tickers
        assert {m.status for m in unopened} == {"initialized"}  # Market.status, not the filter word
        assert await rest.list_markets(series_ticker="KXSIM", status="open") == []
        with pytest.raises(InvalidValueError, match="status must be one of"):
            await rest.list_markets(status="active")
        with pytest.raises(InvalidValueError, match="limit"):
            await rest.list_markets(limit=1001)
        with pytest.raises(DataNotFoundError, match="unknown series 'KXNONE'"):
            await rest.get_series("KXNONE")
    finally:
        await rest.aclose()


async def test_every_page_waits_for_its_tokens(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=30, rate=50))
    clock = FakeClock()
    rest = KalshiRestClient(sim.rest_url, bucket=bucket(clock))
    try:
        listed = await rest.list_markets(series_ticker="KXSIM", limit=1)
    finally:
        await rest.aclose()
    assert len(listed) == 30 and rest.requests == 30
    # Basic tier: 200 tokens/s, 10 per request, one second of budget saved: 20 at once, then
    # one every 50 ms.
    assert clock.now - 100.0 == pytest.approx(10 * 0.05)
    assert rest.bucket.waited_s == pytest.approx(0.5)


async def test_the_bucket_spreads_a_burst_at_the_documented_rate() -> None:
    clock = FakeClock()
    limiter = bucket(clock)
    await asyncio.gather(*(limiter.acquire() for _ in range(45)))
    assert clock.now - 100.0 == pytest.approx(25 * 0.05)  # 20 from the saved second, 25 refilled
    clock.now += 10.0  # idle: the bucket refills to its capacity, never beyond
    await asyncio.gather(*(limiter.acquire() for _ in range(20)))
    assert clock.now - 100.0 == pytest.approx(10.0 + 25 * 0.05)
    with pytest.raises(ValueError, match="never fit"):
        await limiter.acquire(201)


async def test_a_429_empties_the_bucket_and_other_failures_say_what_happened(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=3, rate=50))
    answers: list[object] = [(429, {"error": "too many requests"}), (500, {"error": "boom"}), RESET]
    front = await FlakyRest(sim.rest_url, lambda path: answers.pop(0) if answers else None).start()
    clock = FakeClock()
    rest = KalshiRestClient(front.url, bucket=bucket(clock))
    try:
        with pytest.raises(ExchangeError, match="429"):
            await rest.list_markets()
        before = clock.now
        with pytest.raises(ExchangeError, match="answered 500"):
            await rest.list_markets()
        assert clock.now - before == pytest.approx(0.05)  # the emptied bucket made it wait
        with pytest.raises(ExchangeError, match="cannot reach"):
            await rest.list_markets()
        assert len(await rest.list_markets()) == 3  # the exchange is fine again
    finally:
        await rest.aclose()
        await front.stop()


async def test_a_cursor_that_comes_back_is_refused_instead_of_looping(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=2, rate=50))
    page = {"markets": [], "cursor": "again"}
    front = await FlakyRest(sim.rest_url, lambda path: (200, page)).start()
    rest = KalshiRestClient(front.url)
    try:
        with pytest.raises(ExchangeError, match="cursor 'again' twice"):
            await rest.list_markets()
        assert len(front.requests) == 2
    finally:
        await rest.aclose()
        await front.stop()
