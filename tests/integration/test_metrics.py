"""``/metrics``, ``/health`` and ``/ready`` of ``--metrics-port``, after a real run.

A real collector records a local exchange that drops connections, skips sequence numbers and
sends malformed frames; its metrics server is scraped after the run and parsed with
Prometheus's own text parser: every counter must equal the run's summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kalshi_rl.api.metrics_server import metrics_server
from kalshi_rl.api.prometheus import MetricsSource
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.sim.faults import FaultConfig
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """Every sample by (name, sorted labels), and every family's type."""
    samples: Samples = {}
    types = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types


async def test_metrics_after_a_real_run_match_its_summary(
    make_sim: Callable[..., Awaitable[SimExchange]], tmp_path: Path
) -> None:
    faults = FaultConfig(drop_every=700, gap_every=300, malformed_every=250)
    sim = await make_sim(SimConfig(markets=2, rate=1_500, faults=faults, record_ledger=False))
    collector = Collector(
        CollectorConfig(
            ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
            rest_url=sim.rest_url,
            lake_dir=tmp_path / "lake",
        )
    )
    stop = asyncio.Event()
    async with (
        metrics_server(0, MetricsSource(feed=lambda: collector), None) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        await collector.prepare()
        run = asyncio.create_task(collector.run(stop))
        assert (await http.get("/health")).json()["status"] == "ok"

        for _ in range(3_000):  # ready once connected and fed (the bound only turns a hang into a failure)
            if (await http.get("/ready")).status_code == 200:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"never ready: {(await http.get('/ready')).json()}")
        await eventually(
            lambda: (
                collector.ws is not None
                and collector.ws.stats.reconnects >= 2
                and collector.ws.stats.gaps >= 2
            ),
            "reconnects and gaps happened",
        )
        stop.set()
        summary = await run
        response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    samples, types = parse(response.text)

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    markets = summary.markets.values()
    assert value("kalshi_rl_feed_frames_total") == summary.frames > 0
    for name in ("snapshots", "deltas", "trades", "gaps", "resyncs"):
        assert value(f"kalshi_rl_feed_{name}_total") == sum(getattr(m, name) for m in markets), name
    quarantined = sum(m.quarantined for m in markets) + summary.quarantined_unattributed
    assert value("kalshi_rl_feed_quarantined_total") == quarantined > 0
    assert value("kalshi_rl_feed_gaps_total") > 0 and value("kalshi_rl_feed_resyncs_total") > 0
    assert value("kalshi_rl_feed_reconnects_total") == summary.ws.reconnects >= 2
    for sink, stats in summary.sinks.items():
        for table, rows in stats.rows_written.items():
            assert value("kalshi_rl_sink_rows_written_total", sink=sink, table=table) == rows, (sink, table)
        assert value("kalshi_rl_sink_backlog_rows", sink=sink) == 0
        assert value("kalshi_rl_sink_healthy", sink=sink) == 1
    assert value("kalshi_rl_write_queue_depth_rows") == 0
    assert value("kalshi_rl_feed_markets") == len(sim.tickers)
    assert types["kalshi_rl_feed_frames"] == "counter" and types["kalshi_rl_sink_backlog_rows"] == "gauge"
    # bounded cardinality: no family is labelled by market, order or connection
    assert not any(dict(labels).keys() - {"sink", "table"} for _, labels in samples)
