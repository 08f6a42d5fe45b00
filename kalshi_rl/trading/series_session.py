"""``SeriesSession``: paper-trade a series, one market after the next (``paper --series S``).

The feed is a ``Collector`` whose books include the series' markets (a discovering collector
adds each new market before it opens). The session trades the series' **current market**: of
the markets of the series it has not traded yet, those open for trading now (active, before
their close time), the one that closes first. When there is none it waits and says why
(``waiting``), which is not an error.

Each market is traded by its own ``TradingActor`` and is one ``trading_episodes`` row. Every
actor computes its observation the same way, from its own market's book and close time (time
to close is a feature); they share one model, handed from each actor to the next (so a hot
reload or a model switch carries over and the contract never changes within the session), one
paper account (cash carries over), and one action stream (``subscribe``), on which the session
also announces each roll (``market_roll``).

A market's life in the session: its actor starts when it becomes current and stops at its
close (no order after it). Its position is then settled by the market's result once known
(``determined``, from the lifecycle channel or REST) through the paper client, and only then is
its episode closed, with the settled position, the P&L (fills + settlement) and Kalshi's
``Settlement`` record. Settlements are awaited beside the next market's trading, since a short
series opens its next market as the last one closes. A market stopped early (``stop``), or
whose result has not come ``settle_timeout_s`` after its close, closes its episode unsettled,
its position as it stands.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from kalshi_rl.core.aio import wait_event
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.sql_queue import ActionWriteQueue, OrderWriteQueue
from kalshi_rl.kalshi.auth import Credentials
from kalshi_rl.trading.actor import TradingActor
from kalshi_rl.trading.actor_config import ActorConfig
from kalshi_rl.trading.actor_episode import final_position
from kalshi_rl.trading.actor_stream import ActionStream
from kalshi_rl.trading.model_source import LoadedModel, ModelSource
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient, create_trading_client
from kalshi_rl.trading.risk import RiskGuard, RiskLimits, TripKind
from kalshi_rl.trading.series_markets import current_market, past_close, settlement_known
from kalshi_rl.trading.session import check_scope, paper_config
from kalshi_rl.trading.stream_messages import MarketRollData, MarketRollMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesSessionConfig:
    model_ref: str
    series: str
    collector: CollectorConfig
    starting_balance_dollars: Decimal = Decimal(1_000)
    latency_ms: tuple[float, float] | None = None  # default: the model's contract latency
    seed: int = 0
    mode: str = "paper"
    deterministic: bool = True
    risk: RiskLimits = field(default_factory=RiskLimits)
    """One set of breakers for the whole series: a trip holds every later market too."""
    settle_timeout_s: float = 900.0
    """How long after a market's close its result is awaited before its episode is closed
    unsettled (Kalshi determines short series' markets within minutes)."""
    poll_s: float = 0.1
    """How often the session looks for the series' next market while none is open."""


class _MarketActor(TradingActor):
    """The actor of one market of a series: stopping it leaves its episode open, for the
    session to close once the market has settled."""

    async def close(self) -> None:
        episode, self.episode_id = self.episode_id, None
        try:
            await super().close()
        finally:
            self.episode_id = episode


@dataclass
class MarketRun:
    """One market of the series as the session traded it (one episode)."""

    ticker: str
    actor: TradingActor
    episode_id: uuid.UUID | None
    started_ns: int
    closed_ns: int | None = None
    state: str = "trading"
    """trading -> settling -> settled | unsettled."""
    settlement: dict[str, Any] | None = field(default=None)


class SeriesSession:
    """Owns the tasks of one series paper session; ``run`` until ``stop`` is set."""

    def __init__(
        self,
        config: SeriesSessionConfig,
        engine: Engine,
        credentials: Credentials | None = None,
        feed: Collector | None = None,
    ) -> None:
        """``feed``: an already running collector to trade on (the service's); else one is made."""
        self.config = config
        self.registry = ModelRegistry(engine)
        self.owns_feed = feed is None
        self.collector = feed if feed is not None else Collector(config.collector, credentials)
        self.orders = OrderWriteQueue(engine)
        self.actions = ActionWriteQueue(engine)
        self.client: KalshiPaperTradingClient | None = None
        self.model: LoadedModel | None = None
        self.stream = ActionStream(1_000)
        self.runs: list[MarketRun] = []
        self.waiting = ""
        """Why no market is being traded now ("" while one is)."""
        self.stopped = False
        self._model_ref = config.model_ref
        self._current: MarketRun | None = None
        self._settling: set[asyncio.Task[None]] = set()
        self.guard = RiskGuard(config.risk)
        ActorConfig(config.series, config.model_ref, mode=config.mode)  # refuses 'live' up front

    @property
    def actor(self) -> TradingActor | None:
        """The actor of the market being traded, else of the last one."""
        return self.runs[-1].actor if self.runs else None

    @property
    def market_ticker(self) -> str | None:
        """The market being traded now (None while waiting for the next)."""
        return self._current.ticker if self._current is not None else None

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """Every actor's ``action``/``hold`` messages and the session's ``market_roll``."""
        return self.stream.subscribe()

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.stream.unsubscribe(queue)

    async def switch_model(self, ref: str) -> LoadedModel:
        """Trade with another model (same contract) from the next tick, and on every later market."""
        assert self.model is not None, "prepare() first"
        current = self._current
        if current is not None:
            return await current.actor.switch_model(ref)  # handed on at the roll
        loaded = await asyncio.to_thread(ModelSource(self.registry, ref).load, self.model.contract)
        self.model, self._model_ref = loaded, ref
        return loaded

    async def prepare(self) -> None:
        """Load the model, check it may trade the series, prepare the feed and the account."""
        self.model = await asyncio.to_thread(ModelSource(self.registry, self.config.model_ref).load)
        check_scope(self.model.record, self.config.series)
        if self.model.env.series is None:
            logger.info("%s is a market model; trading it on series %s", self.model.label, self.config.series)
        config = self.config
        paper = paper_config(self.model.env, config.starting_balance_dollars, config.latency_ms, config.seed)
        if self.owns_feed:
            await self.collector.prepare()
        self.client = create_trading_client(
            config.mode, paper, books=self.collector.books, order_queue=self.orders
        )

    async def run(self, stop: asyncio.Event) -> None:
        if self.client is None:
            await self.prepare()
        assert self.client is not None
        self.orders.start()
        self.actions.start()
        feed = asyncio.create_task(
            self.collector.run(stop) if self.owns_feed else stop.wait(), name="series-feed"
        )
        try:
            await self.client.start()
            while (ticker := await self._next_market(stop)) is not None:
                await self._trade(ticker, stop)
        finally:
            stop.set()
            self.stopped = True
            await asyncio.gather(*self._settling, return_exceptions=True)
            await asyncio.gather(feed, return_exceptions=True)
            await self.client.close()
            await self.actions.close()
            await self.orders.close()
            if feed.done() and not feed.cancelled() and feed.exception() is not None:
                raise feed.exception()  # type: ignore[misc]

    async def _next_market(self, stop: asyncio.Event) -> str | None:
        """Wait for the series' current market; None once ``stop`` is set."""
        traded = {run.ticker for run in self.runs}
        while not stop.is_set():
            feed = self.collector.feed
            series_of = feed.series_tickers if feed is not None else None
            tick_ns = self.model.env.tick_ms * 1_000_000 if self.model is not None else 0
            ticker, why = current_market(
                self.collector.books, self.config.series, traded, time.time_ns(), series_of, tick_ns
            )
            if ticker is not None:
                self.waiting = ""
                return ticker
            if why != self.waiting:
                logger.info("%s", why)
                self.waiting = why
            await wait_event(stop, self.config.poll_s)
        return None

    async def _trade(self, ticker: str, stop: asyncio.Event) -> None:
        """Trade ``ticker`` until it closes (or ``stop``), then leave its settlement to a task."""
        assert self.client is not None and self.model is not None
        config = self.config
        shared = self.collector.books[ticker]
        actor = _MarketActor(
            ActorConfig(
                ticker,
                self._model_ref,
                mode=config.mode,
                deterministic=config.deterministic,
                seed=config.seed,
                risk=config.risk,
            ),
            self.registry,
            self.client,
            shared,
            self.actions,
            self.guard,
        )
        actor.stream = self.stream
        previous = self.runs[-1].ticker if self.runs else None
        await actor.start(self.model)
        run = self._current = MarketRun(ticker, actor, actor.episode_id, time.time_ns())
        self.runs.append(run)
        self.stream.publish(_roll_message(config.series, previous, ticker, actor))
        market_stop = asyncio.Event()
        task = asyncio.create_task(actor.run(market_stop), name=f"actor-{ticker}")
        try:
            subscription = shared.subscribe()
            try:
                while not (stop.is_set() or task.done() or past_close(shared.status, time.time_ns())):
                    close_ms = shared.status.close_time_ms
                    wait_s = 1.0 if close_ms is None else min(1.0, max(0.0, close_ms / 1e3 - time.time()))
                    await subscription.wait(wait_s)
                    subscription.mark_seen()
            finally:
                subscription.close()
        finally:
            market_stop.set()
            await asyncio.gather(task, return_exceptions=True)
            run.closed_ns = time.time_ns()
            run.state = "settling"
            self._current = None
            # The next market trades with the model this one ended with (reloads and switches).
            self.model, self._model_ref = actor.model, actor.source.ref
            settler = asyncio.create_task(self._settle(run, stop), name=f"settle-{ticker}")
            self._settling.add(settler)
            settler.add_done_callback(self._settling.discard)
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    async def _settle(self, run: MarketRun, stop: asyncio.Event) -> None:
        """Await the market's result, settle its position, close its episode."""
        assert self.client is not None
        shared = self.collector.books.get(run.ticker)
        deadline = time.monotonic() + self.config.settle_timeout_s
        while (
            shared is not None
            and not settlement_known(shared.status)
            and not stop.is_set()
            and time.monotonic() < deadline
        ):
            await wait_event(stop, min(self.config.poll_s, max(0.0, deadline - time.monotonic())))
        if shared is not None and settlement_known(shared.status):
            await self.client.settle_market(run.ticker)  # once; the client's watcher may have already
            found = (await self.client.get_settlements(ticker=run.ticker))["settlements"]
            run.settlement = found[0] if found else None
        run.state = "settled" if run.settlement is not None else "unsettled"
        if run.state == "unsettled" and not stop.is_set():
            logger.warning(
                "%s: no result %.0f s after its close; episode closed unsettled",
                run.ticker,
                self.config.settle_timeout_s,
            )
        await self._finish(run)

    async def _finish(self, run: MarketRun) -> None:
        assert self.client is not None
        if run.episode_id is None:
            return
        ledger = self.client.ledger(run.ticker)
        metrics = run.actor.metrics
        await asyncio.to_thread(
            self.registry.finish_episode,
            run.episode_id,
            total_reward=metrics.total_reward,
            total_steps=metrics.ticks,
            final_position={**final_position(ledger), "settled": run.settlement is not None},
            metadata={
                "model": run.actor.model.label if run.actor.model else None,
                "series": self.config.series,
                "settlement": run.settlement,
                **metrics.counts(),
                "risk": run.actor.guard.record(),
            },
        )
        run.episode_id = None

    def resume(self) -> TripKind | None:
        """Trade again after a breaker tripped; the kind it cleared, if any (``RiskGuard``)."""
        actor = self._current.actor if self._current is not None else None
        if actor is not None:
            return actor.resume()
        cleared = self.guard.resume()
        return cleared.kind if cleared is not None else None

    async def flatten(self) -> dict[str, Any]:
        """Emergency stop: trip the ``flatten`` breaker (every later market is held too) and sell
        the market traded now back to zero (markets already closed cannot be traded)."""
        if self._current is not None:
            return await self._current.actor.flatten()
        self.guard.trip("flatten", "emergency stop", time.time_ns())
        return {"market_ticker": None, "position_before": "0.00", "position_after": "0.00", "orders": []}

    def summary(self) -> dict[str, Any]:
        """The session's figures: totals over its markets, and each market's episode."""
        client = self.client
        if client is None or not self.runs:
            return {
                "series": self.config.series,
                "market_ticker": None,
                "markets": [],
                "waiting": self.waiting,
            }
        markets: list[dict[str, Any]] = []
        for run in self.runs:
            ledger, metrics = client.ledger(run.ticker), run.actor.metrics
            markets.append(
                {
                    "market_ticker": run.ticker,
                    "state": run.state,
                    "ticks": metrics.ticks,
                    "decisions": metrics.decisions,
                    "orders": metrics.orders,
                    "rejected": metrics.rejected,
                    **final_position(ledger),
                    "result": run.settlement["market_result"] if run.settlement else None,
                }
            )
        actor = self.runs[-1].actor
        totals = {k: sum(m[k] for m in markets) for k in ("ticks", "decisions", "orders", "rejected")}
        return {
            "model": actor.model.label if actor.model else None,
            "series": self.config.series,
            "market_ticker": self.market_ticker,
            "waiting": self.waiting,
            **totals,
            "realized_pnl": round(sum(m["realized_pnl"] for m in markets), 6),
            "fees": round(sum(m["fees"] for m in markets), 6),
            "reloads": sum(run.actor.metrics.reloads for run in self.runs),
            "risk_breaker": self.guard.tripped.kind if self.guard.tripped else "",
            "risk_trips": dict(self.guard.counts),
            "risk_held": sum(run.actor.metrics.risk_held for run in self.runs),
            "rate_limited": self.guard.rate_limited,
            "actions_written": self.actions.stats.rows_written.get("trading_actions", 0),
            "orders_written": self.orders.stats.rows_written.get("rl_orders", 0),
            "fills_written": self.orders.stats.rows_written.get("rl_fills", 0),
            "markets": markets,
        }


def _roll_message(series: str, previous: str | None, ticker: str, actor: TradingActor) -> dict[str, Any]:
    """``market_roll``: the session now trades ``ticker`` (after ``previous``)."""
    close_ms = actor.shared.status.close_time_ms
    return MarketRollMessage(
        type="market_roll",
        data=MarketRollData(
            timestamp=time.time_ns() // 1_000_000,
            series=series,
            previous=previous,
            market_ticker=ticker,
            close_time=close_ms,
            model=actor.model.label if actor.model else None,
        ),
    ).wire()
