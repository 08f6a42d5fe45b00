"""``PaperSession``: a live feed, the paper client and the actor for one market, run together.

``kalshi-rl paper`` and the service's actor start the same thing: a ``Collector`` (the ONE
shared book per market, which also keeps recording to the lake), an ``OrderWriteQueue`` and an
``ActionWriteQueue`` on the registry database, a ``KalshiPaperTradingClient`` filling against
the shared book with the model's own fill settings, and a ``TradingActor``. Shutdown runs in
reverse so every queue is flushed and the episode row closed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.sql_queue import ActionWriteQueue, OrderWriteQueue
from kalshi_rl.environments.contract import EnvConfig, env_config_from_contract
from kalshi_rl.kalshi.auth import Credentials
from kalshi_rl.trading.actor import TradingActor
from kalshi_rl.trading.actor_config import ActorConfig
from kalshi_rl.trading.model_source import LoadedModel
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient, PaperConfig, create_trading_client
from kalshi_rl.trading.risk import RiskGuard, RiskLimits, TripKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaperSessionConfig:
    model_ref: str
    market_ticker: str
    collector: CollectorConfig
    starting_balance_dollars: Decimal = Decimal(1_000)
    latency_ms: tuple[float, float] | None = None  # default: the model's contract latency
    seed: int = 0
    mode: str = "paper"
    deterministic: bool = True
    risk: RiskLimits = field(default_factory=RiskLimits)


def in_series(market_ticker: str, series: str) -> bool:
    """Whether ``market_ticker`` is a market of ``series``: Kalshi names a market after its event
    and an event after its series (``KXBTC15M`` -> ``KXBTC15M-26APR191500`` -> ``...-00``)."""
    return market_ticker.startswith(series + "-")


def check_scope(model: ModelRecord, series: str | None, market_ticker: str | None = None) -> None:
    """Refuse to trade a series model outside its series (another series, or a market of one).

    A market model may trade any market or series: its features are the market-agnostic book
    features every model sees, and the user chose it (paper's default is its first market).
    """
    own = model.training_config.get("contract", {}).get("series")
    if own is None:
        return
    if series is not None and series != own:
        raise ConfigError(f"model {model.label} was trained on series {own}, not {series}")
    if market_ticker is not None and not in_series(market_ticker, own):
        raise ConfigError(
            f"model {model.label} was trained on series {own}; {market_ticker} is not one of its markets"
        )


def paper_config(
    env: EnvConfig, balance: Decimal, latency_ms: tuple[float, float] | None, seed: int
) -> PaperConfig:
    """The paper account of a session: the model's fill settings, its latency unless overridden."""
    fill = env.fill
    low, high = latency_ms or (fill.latency_min_ms, fill.latency_max_ms)
    return PaperConfig(
        starting_balance_dollars=balance,
        latency_min_ms=low,
        latency_max_ms=high,
        fill=replace(fill, latency_min_ms=low, latency_max_ms=high),
        seed=seed,
    )


class PaperSession:
    """Owns the tasks of one paper-trading session; ``run`` until ``stop`` is set."""

    def __init__(
        self,
        config: PaperSessionConfig,
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
        self.actor: TradingActor | None = None
        ActorConfig(config.market_ticker, config.model_ref, mode=config.mode)  # refuses 'live' up front

    async def prepare(self) -> None:
        """Check the model, the database and the feed's market before anything runs."""
        record = await asyncio.to_thread(self.registry.get, self.config.model_ref)
        check_scope(record, None, self.config.market_ticker)
        env = env_config_from_contract(record.training_config["contract"])
        config = self.config
        paper = paper_config(env, config.starting_balance_dollars, config.latency_ms, config.seed)
        if self.owns_feed:
            await self.collector.prepare()
        if self.config.market_ticker not in self.collector.books:
            raise ConfigError(
                f"market {self.config.market_ticker} is not in the feed ({', '.join(self.collector.books)})"
            )
        self.client = create_trading_client(
            self.config.mode, paper, books=self.collector.books, order_queue=self.orders
        )
        shared = self.collector.books[self.config.market_ticker]
        self.actor = TradingActor(
            ActorConfig(
                self.config.market_ticker,
                self.config.model_ref,
                mode=self.config.mode,
                deterministic=self.config.deterministic,
                seed=self.config.seed,
                risk=self.config.risk,
            ),
            self.registry,
            self.client,
            shared,
            self.actions,
        )

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """The actor's ``action``/``hold`` messages (after ``prepare``)."""
        assert self.actor is not None, "prepare() first"
        return self.actor.subscribe()

    async def switch_model(self, ref: str) -> LoadedModel:
        """Trade with another model from the next tick (same contract required)."""
        assert self.actor is not None, "prepare() first"
        return await self.actor.switch_model(ref)

    @property
    def guard(self) -> RiskGuard:
        """The actor's risk breakers (after ``prepare``)."""
        assert self.actor is not None, "prepare() first"
        return self.actor.guard

    def resume(self) -> TripKind | None:
        """Trade again after a breaker tripped; the kind it cleared, if any (``RiskGuard``)."""
        assert self.actor is not None, "prepare() first"
        return self.actor.resume()

    async def flatten(self) -> dict[str, Any]:
        """Emergency stop: stop trading, cancel resting orders, sell the position back to zero."""
        assert self.actor is not None, "prepare() first"
        return await self.actor.flatten()

    @property
    def market_ticker(self) -> str | None:
        """The market traded (a series session's changes as it rolls)."""
        return self.config.market_ticker

    async def run(self, stop: asyncio.Event) -> None:
        if self.actor is None:
            await self.prepare()
        assert self.actor is not None and self.client is not None
        self.orders.start()
        self.actions.start()
        feed = asyncio.create_task(
            self.collector.run(stop) if self.owns_feed else stop.wait(), name="paper-feed"
        )
        try:
            await self.client.start()
            await self.actor.start()
            await self.actor.run(stop)
        finally:
            stop.set()
            await asyncio.gather(feed, return_exceptions=True)
            await self.client.close()
            await self.actions.close()
            await self.orders.close()
            if feed.done() and not feed.cancelled() and feed.exception() is not None:
                raise feed.exception()  # type: ignore[misc]

    def summary(self) -> dict[str, Any]:
        """The session's figures: decisions, orders, latency, reloads, position, P&L, rows written."""
        actor, client = self.actor, self.client
        if actor is None or client is None:
            return {}
        ledger = client.ledger(self.config.market_ticker)
        metrics = actor.metrics
        return {
            "model": actor.model.label if actor.model else None,
            "market_ticker": self.config.market_ticker,
            "ticks": metrics.ticks,
            "decisions": metrics.decisions,
            "orders": metrics.orders,
            "rejected": metrics.rejected,
            "skipped_stale": metrics.skipped_stale,
            "hold_reason": metrics.hold_reason,
            "missed_ticks": metrics.missed_ticks,
            "clock_steps": metrics.clock_steps,
            "reloads": metrics.reloads,
            "reload_refusals": metrics.reload_refusals,
            "risk_breaker": metrics.risk_breaker,
            "risk_trips": dict(actor.guard.counts),  # Ctrl-C's ``stop`` trips the guard directly
            "risk_held": metrics.risk_held,
            "rate_limited": metrics.rate_limited,
            "decision_latency": metrics.latency_percentiles(),
            "order_latency": metrics.latency_percentiles(orders_only=True),
            "position_units": ledger.position_units,
            "realized_pnl": ledger.realized_micro / 1e6,
            "fees": ledger.fees_micro / 1e6,
            "total_reward": round(metrics.total_reward, 6),
            "actions_written": self.actions.stats.rows_written.get("trading_actions", 0),
            "orders_written": self.orders.stats.rows_written.get("rl_orders", 0),
            "fills_written": self.orders.stats.rows_written.get("rl_fills", 0),
        }
