"""Market discovery (``collect --series`` / ``--event``) against the local exchange: bad input,
a series waiting for its next market, an event's markets, REST failures retried while the
known markets keep streaming. REST failures come from a real HTTP front
(``tests/support/flaky_http.py``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from kalshi_rl.core.errors import DataNotFoundError
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.discovery import DiscoveryConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.catalog import SimSeries
from kalshi_rl.sim.config import SeriesSpec
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from tests.cli_support import KALSHI_RL, cli_env
from tests.support.flaky_http import FlakyRest
from tests.support.waiting import eventually

FAST = DiscoveryConfig(
    recheck_s=30.0, min_recheck_s=0.05, settle_grace_s=0.2, retry_initial_s=0.05, retry_max_s=0.2
)


def collector_for(sim: SimExchange, lake: Path, rest_url: str | None = None, **fields: object) -> Collector:
    config = CollectorConfig(
        ws=WsConfig(
            url=sim.ws_url,
            market_tickers=fields.pop("markets", ()),  # type: ignore[arg-type]
            reconnect_initial_s=fields.pop("reconnect_initial_s", 0.05),  # type: ignore[arg-type]
        ),
        rest_url=rest_url or sim.rest_url,
        lake_dir=lake,
        write=WriteQueueConfig(flush_interval_s=0.2),
        discovery=fields.pop("discovery", FAST),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
    return Collector(config)


async def test_an_unknown_series_or_event_is_one_line_and_exit_1_before_connecting(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=1, rate=50))
    for flag, ticker, what in (("--series", "KXNOPE", "series"), ("--event", "KXSIM-NOPE", "event")):
        proc = await asyncio.create_subprocess_exec(
            KALSHI_RL,
            "collect",
            flag,
            ticker,
            "--ws-url",
            sim.ws_url,
            "--rest-url",
            sim.rest_url,
            "--data-dir",
            str(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(),
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        lines = err.decode().strip().splitlines()
        assert proc.returncode == 1, (out, err)
        assert lines == [f"error: unknown {what} '{ticker}': {sim.rest_url} has no such ticker"], lines
    assert sim.counters.connections_total == 0  # refused before connecting


async def test_a_series_without_a_market_waits_then_records_its_next_one(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(
        SimConfig(markets=1, rate=200, open_delay_s=1.0, settlement_delay_s=0.1)
    )
    sim.catalog.add_series(SimSeries("KXIDLE", sim.config.series_fee))  # listed, no market yet
    collector = collector_for(sim, tmp_path / "lake", series=("KXIDLE",))
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    try:
        await eventually(
            lambda: collector.discovery is not None and collector.discovery.checks >= 2, "checks"
        )
        (row,) = collector.view().series
        assert row.series == "KXIDLE" and row.waiting and row.markets == 0
        assert "waiting" in row.note and not collector.books  # not an error: it waits
        assert not run.done()
        event = sim.create_event(markets=2, series="KXIDLE", duration_s=0.5)
        tickers = {m.ticker for m in event.markets}
        await eventually(lambda: set(collector.books) == tickers, "the new markets recorded")
        assert not collector.view().series[0].waiting  # created, about to open
        await eventually(
            lambda: collector.feed is not None and set(collector.feed.finished) == tickers, "settled"
        )
        (row,) = collector.view().series
        assert row.finished == 2 and row.waiting and collector.view().finished_count == 2
    finally:
        stop.set()
        summary = await run
    assert {f.result for f in summary.finished.values()} <= {"yes", "no"}
    assert all(f.snapshots >= 1 and f.series == "KXIDLE" for f in summary.finished.values())


async def test_an_events_markets_are_recorded_and_its_settled_ones_are_not(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=1, rate=200, settlement_delay_s=0.1))
    done = sim.create_event(markets=2, duration_s=0.2)
    await eventually(lambda: all(m.status == "finalized" for m in done.markets), "first event settled")
    live = sim.create_event(markets=3)
    collector = collector_for(sim, tmp_path / "lake", events=(done.event_ticker, live.event_ticker))
    await collector.prepare()
    assert set(collector.books) == {m.ticker for m in live.markets}  # the settled ones are not
    assert collector.discovery is not None
    assert all(collector.discovery.found[t] == "KXSIM" for t in collector.books)
    stop = asyncio.Event()
    stop.set()
    await collector.run(stop)  # closes what prepare opened


async def test_rest_failures_are_retried_while_the_known_markets_keep_streaming(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=1, rate=300))
    (known,) = sim.tickers
    other = sim.create_event(markets=1, series="KXOTHER")  # exists before the collector: REST only
    failing = {"series": 1, "listing": True}

    def script(path: str) -> tuple[int, object] | None:
        if path.startswith("/trade-api/v2/series/") and failing["series"]:
            failing["series"] -= 1
            return 429, {"error": "too many requests"}  # at the start: retried
        if path.startswith("/trade-api/v2/markets?") and failing["listing"]:
            return 503, {"error": {"code": "service_unavailable", "message": "down"}}
        return None

    front = await FlakyRest(sim.rest_url, script).start()
    collector = collector_for(
        sim, tmp_path / "lake", rest_url=front.url, markets=(known,), series=("KXOTHER",)
    )
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    try:
        await eventually(
            lambda: collector.discovery is not None and collector.discovery.failures >= 3, "retries"
        )
        assert collector.discovery is not None and collector.feed is not None
        assert "REST failing" in collector.view().discovery
        frames = collector.feed.stats[known].frames
        await eventually(lambda: collector.feed.stats[known].frames > frames + 20, "the known market streams")  # type: ignore[union-attr]
        assert other.markets[0].ticker not in collector.books
        failing["listing"] = False
        await eventually(lambda: other.markets[0].ticker in collector.books, "found once REST answers")
        await eventually(lambda: collector.feed.stats[other.markets[0].ticker].snapshots >= 1, "its book")  # type: ignore[union-attr]
        assert collector.discovery.failures == 0 and "markets found" in collector.view().discovery
    finally:
        stop.set()
        await run
        await front.stop()
    listings = [p for p in front.requests if p.startswith("/trade-api/v2/markets?")]
    assert len(listings) >= 4 and failing["series"] == 0


async def test_a_market_created_while_reconnecting_is_found_once_the_lifecycle_is_back(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Its created frame is never sent (no connection), so only REST can find it; a check made at
    # the disconnect would come too early, so the check waits for the next connection to work.
    sim: SimExchange = await make_sim(SimConfig(markets=1, rate=200))
    sim.catalog.add_series(SimSeries("KXIDLE", sim.config.series_fee))
    collector = collector_for(
        sim,
        tmp_path / "lake",
        series=("KXIDLE",),
        discovery=DiscoveryConfig(recheck_s=600.0),
        reconnect_initial_s=4.0,  # the reconnection waits 2 to 4 s: time to create a market
    )
    await collector.prepare()
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    try:
        ws, discovery = collector.ws, collector.discovery
        assert ws is not None and discovery is not None
        await eventually(lambda: ws.working.is_set() and discovery.checks >= 2, "connected and checked")
        before = discovery.checks
        await next(iter(sim.sessions.values())).ws.close()
        await eventually(lambda: not ws.connected.is_set() and not sim.sessions, "disconnected")
        await asyncio.sleep(0.5)  # well inside the reconnect delay
        assert discovery.checks == before  # nothing checked while the lifecycle is lost
        event = sim.create_event(markets=1, series="KXIDLE")
        await eventually(lambda: event.markets[0].ticker in collector.books, "found after the reconnect")
        assert discovery.checks == before + 1 and ws.stream.conn_id == 2
    finally:
        stop.set()
        await run


async def test_given_markets_are_described_with_one_listing_and_an_unknown_one_is_named(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=5, rate=50))
    front = await FlakyRest(sim.rest_url).start()
    try:
        collector = collector_for(sim, tmp_path / "lake", rest_url=front.url, markets=tuple(sim.tickers))
        await collector.prepare()
        stop = asyncio.Event()
        stop.set()
        await collector.run(stop)
        per_market = [p for p in front.requests if p.startswith("/trade-api/v2/markets/")]
        listings = [p for p in front.requests if p.startswith("/trade-api/v2/markets?")]
        assert not per_market and len(listings) == 1  # five markets, one request
        assert all(collector.books[t].status.info is not None for t in sim.tickers)
        wrong = collector_for(
            sim, tmp_path / "lake2", rest_url=front.url, markets=(sim.tickers[0], "KXSIM-NOPE")
        )
        with pytest.raises(DataNotFoundError, match="unknown market 'KXSIM-NOPE'"):
            await wrong.prepare()
    finally:
        await front.stop()


async def test_collect_series_json_summarises_every_market_finished_or_not(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(
        SimConfig(rolling=(SeriesSpec("KXROLL", 0.5),), open_delay_s=0.3, settlement_delay_s=0.1, rate=200)
    )
    args = ["collect", "--series", "KXROLL", "--ws-url", sim.ws_url, "--rest-url", sim.rest_url]
    args += ["--data-dir", str(tmp_path), "--duration", "10", "--recheck-seconds", "2", "--json"]
    proc = await asyncio.create_subprocess_exec(
        KALSHI_RL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=cli_env()
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out)
    finished, current = summary["finished"], summary["markets"]
    assert len(finished) >= 3 and not set(finished) & set(current)
    for ticker, record in finished.items():
        assert record["phase"] == "settled" and record["result"] in ("yes", "no"), (ticker, record)
        assert record["series"] == "KXROLL" and record["snapshots"] >= 1
    made = {a.target for a in sim.ledger.actions("created")}
    assert set(finished) | set(current) <= made and len(current) <= 12  # the live ones only
