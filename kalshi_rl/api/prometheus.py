"""Prometheus metrics (``/metrics``): read from the objects that already count, at scrape time.

The feed, the sinks, the paper actor and the training job keep their own counters (the live
views and summaries show them); ``MetricsSource`` turns them into metric families when Prometheus
scrapes, so nothing on the hot path calls into a metrics library. Cardinality is bounded: the
feed's counters are totals over every market ever followed (a series may follow thousands), the
sink labels are the sinks and their tables, and per-market gauges cover the actor's latest
``MAX_MARKET_SERIES`` markets only. No label ever names an order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response

from kalshi_rl.data.ingest.collector import Collector
from kalshi_rl.trading.actor_config import LATENCY_BUCKETS_S, ActorMetrics

PREFIX = "kalshi_rl"
MAX_MARKET_SERIES = 20
FEED_COUNTS = ("frames", "snapshots", "deltas", "trades", "gaps", "resyncs", "quarantined")


@dataclass(eq=False)  # a registry keys its collectors by identity
class MetricsSource:
    """Where the figures are: each getter returns the live object, or None when there is none."""

    feed: Callable[[], Collector | None] = lambda: None
    session: Callable[[], Any] = lambda: None
    """A ``PaperSession`` or ``SeriesSession`` (anything with ``summary()`` and actors)."""
    training: Callable[[], dict[str, Any] | None] = lambda: None
    """The running training's latest progress (``timesteps_so_far``, ``avg_reward``), if any."""

    def collect(self) -> Iterator[Metric]:
        feed = self.feed()
        if feed is not None and feed.feed is not None:
            yield from feed_metrics(feed)
        session = self.session()
        if session is not None:
            yield from actor_metrics(session)
        progress = self.training()
        if progress is not None:
            yield from training_metrics(progress)


def counter(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> CounterMetricFamily:
    family = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=list(labels or ()))
    family.add_metric(list((labels or {}).values()), value)
    return family


def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def feed_metrics(collector: Collector) -> Iterator[Metric]:
    feed = collector.feed
    assert feed is not None
    for name in FEED_COUNTS[1:]:
        total = sum(getattr(s, name) for s in feed.stats.values())
        total += sum(getattr(f, name) for f in feed.finished.values())
        if name == "quarantined":
            total += feed.quarantined_unattributed
        yield counter(f"feed_{name}", f"Book {name} received (all markets, this session)", total)
    yield counter("feed_frames", "WebSocket frames received (every disposition)", feed.frames)
    ws = collector.ws.stats if collector.ws is not None else None
    yield counter("feed_reconnects", "WebSocket reconnections", ws.reconnects if ws else 0)
    connected = collector.ws is not None and collector.ws.connected.is_set()
    yield gauge("feed_connected", "1 while the WebSocket is connected", 1 if connected else 0)
    last = collector.ws.stream.last_recv_ns if collector.ws is not None else 0
    age = (time.time_ns() - last) / 1e9 if last else 0.0
    yield gauge("feed_last_frame_age_seconds", "Seconds since the last frame (0: none yet)", age)
    yield gauge("feed_markets", "Markets followed now", len(collector.books))
    stale = sum(1 for shared in collector.books.values() if shared.state.stale)
    yield gauge("feed_stale_books", "Followed books waiting for a snapshot", stale)
    depth = collector.queue.depth() if collector.queue is not None else 0
    yield gauge("write_queue_depth_rows", "Rows accepted but not yet handed to every sink", depth)
    backlog = GaugeMetricFamily(f"{PREFIX}_sink_backlog_rows", "Rows a sink holds for retry", labels=["sink"])
    healthy = GaugeMetricFamily(f"{PREFIX}_sink_healthy", "1 while a sink's writes succeed", labels=["sink"])
    failures = CounterMetricFamily(f"{PREFIX}_sink_failures", "Failed sink writes", labels=["sink"])
    rows = CounterMetricFamily(f"{PREFIX}_sink_rows_written", "Rows stored", labels=["sink", "table"])
    for sink in collector.sinks:
        backlog.add_metric([sink.name], sink.stats.backlog_rows)
        healthy.add_metric([sink.name], 1 if sink.stats.healthy else 0)
        failures.add_metric([sink.name], sink.stats.failures)
        for table, n in sorted(sink.stats.rows_written.items()):
            rows.add_metric([sink.name, table], n)
    yield from (backlog, healthy, failures, rows)


def actors_of(session: Any) -> list[ActorMetrics]:
    runs = getattr(session, "runs", None)
    if runs is not None:  # a series session: one actor per market it traded
        return [run.actor.metrics for run in runs]
    actor = getattr(session, "actor", None)
    return [actor.metrics] if actor is not None else []


def actor_metrics(session: Any) -> Iterator[Metric]:
    summary = session.summary()
    if not summary or summary.get("orders") is None:
        return
    metrics = actors_of(session)
    yield counter("actor_decisions", "Decisions the actor made", sum(m.decisions for m in metrics))
    yield counter("actor_orders", "Orders the actor sent", summary["orders"])
    yield counter("actor_orders_rejected", "Orders the exchange refused", summary.get("rejected", 0))
    yield counter("actor_fills", "Fills stored (rl_fills rows)", summary.get("fills_written", 0))
    yield counter("actor_fees_dollars", "Fees paid, in dollars", summary.get("fees", 0.0))
    trips = CounterMetricFamily(
        f"{PREFIX}_actor_risk_trips", "Risk breaker trips, by breaker", labels=["breaker"]
    )
    for kind, n in sorted((summary.get("risk_trips") or {}).items()):
        trips.add_metric([kind], n)
    yield trips
    yield counter(
        "actor_risk_held_ticks", "Ticks held by a tripped risk breaker", summary.get("risk_held", 0)
    )
    yield counter(
        "actor_orders_rate_limited",
        "Orders skipped over max_orders_per_minute",
        summary.get("rate_limited", 0),
    )
    yield gauge(
        "actor_risk_tripped", "1 while a risk breaker stops trading", float(bool(summary.get("risk_breaker")))
    )
    histogram = HistogramMetricFamily(
        f"{PREFIX}_actor_decision_latency_seconds", "From the tick to the decision (and order ack)"
    )
    cumulative, buckets = 0, []
    for i, bound in enumerate(LATENCY_BUCKETS_S):
        cumulative += sum(m.latency_histogram.counts[i] for m in metrics)
        buckets.append((repr(bound), cumulative))
    buckets.append(("+Inf", sum(m.latency_histogram.count for m in metrics)))
    histogram.add_metric([], buckets, sum(m.latency_histogram.sum_s for m in metrics))
    yield histogram
    markets = summary.get("markets") or [summary]
    position = GaugeMetricFamily(
        f"{PREFIX}_actor_position_contracts", "Position in YES contracts", labels=["market"]
    )
    pnl = GaugeMetricFamily(f"{PREFIX}_actor_realized_pnl_dollars", "Realized P&L", labels=["market"])
    for market in markets[-MAX_MARKET_SERIES:]:
        ticker = market["market_ticker"]
        position.add_metric([ticker], market["position_units"] / 100)
        pnl.add_metric([ticker], market["realized_pnl"])
    yield from (position, pnl)


def training_metrics(progress: dict[str, Any]) -> Iterator[Metric]:
    yield counter("training_timesteps", "Timesteps trained in the current run", progress["timesteps_so_far"])
    reward = progress.get("avg_reward")
    yield gauge("training_episode_reward", "Mean reward of the latest episodes", reward or 0.0)


def registry_for(source: MetricsSource) -> CollectorRegistry:
    """A registry of ``source`` alone (not the process-wide default: tests run several services)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(source)
    return registry


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Any]:
    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
