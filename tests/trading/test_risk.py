"""Risk controls of the paper actor (``trading.risk``): each breaker trips on a live hand-fed
book with the real paper client and a scripted SB3 model, holds without orders and says why
(metrics, stream, episode row); only a command resumes it; the emergency stop flattens.

The scripted model always buys YES (10 contracts at the 0.52 ask, mid 0.50): each buy costs
$0.20 against the mid plus about $0.18 in fees, so the loss limits trip after a known order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_space import Action
from kalshi_rl.trading.actor import TradingActor
from kalshi_rl.trading.actor_config import ActorConfig
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient, PaperConfig
from kalshi_rl.trading.risk import RiskLimits, utc_day_start
from tests.trading.conftest import TICKER, eventually
from tests.trading.test_hot_reload import feed, live_book
from tests.trading_support import scripted_model

WAIT_S = 30.0


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    """``buy``: always buys YES; ``hold``: always holds."""
    root = tmp_path_factory.mktemp("risk")
    registry = ModelRegistry(open_database(None, root))
    scripted_model(registry, root / "models", "buy", Action.BUY_YES)
    scripted_model(registry, root / "models", "hold", Action.HOLD)
    return registry


@asynccontextmanager
async def trading(
    registry: ModelRegistry, model: str, limits: RiskLimits, balance: int = 1_000, moving: bool = True
) -> AsyncIterator[tuple[TradingActor, asyncio.Queue[dict[str, Any]]]]:
    """``model`` trading a live book under ``limits``; yields the actor and its stream."""
    book = live_book()
    paper = PaperConfig(starting_balance_dollars=Decimal(balance), latency_min_ms=0.0, latency_max_ms=0.0)
    client = KalshiPaperTradingClient({TICKER: book}, paper)
    actor = TradingActor(ActorConfig(TICKER, model, risk=limits), registry, client, book)
    messages = actor.subscribe()
    stop = asyncio.Event()
    await client.start()
    tasks = [asyncio.create_task(actor.run(stop))]
    if moving:
        tasks.append(asyncio.create_task(feed(book, stop)))
    try:
        yield actor, messages
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await client.close()


def drain(messages: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    return [messages.get_nowait() for _ in range(messages.qsize())]


async def held_for(actor: TradingActor, ticks: int) -> None:
    held = actor.metrics.risk_held
    await eventually(lambda: actor.metrics.risk_held >= held + ticks, timeout_s=WAIT_S)


def episode_risk(registry: ModelRegistry, model: str) -> dict[str, Any]:
    episode = registry.episodes(registry.get(model).id, mode="paper")[0]
    assert episode["end_time"] is not None
    risk: dict[str, Any] = episode["metadata"]["risk"]
    return risk


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_loss_episode", -1.0),
        ("max_loss_day", 0.0),
        ("max_orders_per_minute", 0),
        ("stale_ticks", -3),
        ("refused_orders", 0),
        ("latency_ms", float("nan")),
        ("latency_ticks", 0),
        ("rollback_loss", -0.5),
        ("rollback_window_s", float("inf")),
    ],
)
def test_limits_that_make_no_sense_are_refused_naming_the_limit(name: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"^risk limit {name} must be"):
        RiskLimits(**{name: value})


def test_limits_default_to_off() -> None:
    assert RiskLimits().as_dict() == {"latency_ticks": 3, "rollback_window_s": 300.0}
    assert RiskLimits(max_loss_day=5).as_dict()["max_loss_day"] == 5


async def test_the_episode_loss_limit_stops_trading_until_resumed_and_flatten_sells_back_to_zero(
    registry: ModelRegistry,
) -> None:
    async with trading(registry, "buy", RiskLimits(max_loss_episode=0.5)) as (actor, messages):
        await eventually(lambda: actor.metrics.risk_breaker == "loss_episode", timeout_s=WAIT_S)
        ledger = actor.client.ledger(TICKER)
        orders, position = actor.metrics.orders, ledger.position_units
        assert orders == 2 and position == 2_000  # the second buy took the loss past $0.50
        await held_for(actor, 3)
        assert (actor.metrics.orders, ledger.position_units) == (orders, position)
        holds = [m["data"] for m in drain(messages) if m["type"] == "hold"]
        assert holds and {h["breaker"] for h in holds} == {"loss_episode"}
        assert holds[-1]["reason"].startswith("risk breaker loss_episode: episode loss $0.")

        # A resume does not raise the limit: the loss is still beyond it, so it trips again.
        assert actor.resume() == "loss_episode"
        await eventually(lambda: actor.metrics.risk_trips.get("loss_episode") == 2, timeout_s=WAIT_S)
        assert actor.metrics.orders == orders

        done = await actor.flatten()
        assert (done["position_before"], done["position_after"]) == ("20.00", "0.00")
        assert ledger.position_units == 0 and actor.metrics.risk_breaker == "flatten"
        await held_for(actor, 2)
        assert actor.metrics.orders == orders  # the flatten's sale is not the model's order
    risk = episode_risk(registry, "buy")
    assert [t["kind"] for t in risk["trips"]] == ["loss_episode", "loss_episode", "flatten"]
    assert (
        risk["tripped_at_end"]["kind"] == "flatten"
        and "(position 20.00 -> 0.00)" in risk["trips"][-1]["reason"]
    )
    assert risk["limits"]["max_loss_episode"] == 0.5


@pytest.fixture
def fresh(tmp_path: Path) -> ModelRegistry:
    """A registry of its own with ``buy``: no paper episode of today in it yet."""
    registry = ModelRegistry(open_database(None, tmp_path))
    scripted_model(registry, tmp_path / "models", "buy", Action.BUY_YES)
    return registry


async def test_the_day_loss_limit_trips(fresh: ModelRegistry) -> None:
    async with trading(fresh, "buy", RiskLimits(max_loss_day=0.2)) as (actor, _):
        await eventually(lambda: actor.metrics.risk_breaker == "loss_day", timeout_s=WAIT_S)
        assert actor.metrics.orders == 1  # $0.20 against the mid plus fees
        await held_for(actor, 2)
        assert actor.metrics.orders == 1 and actor.client.ledger(TICKER).position_units == 1_000


async def test_a_restart_does_not_reset_the_days_loss(fresh: ModelRegistry) -> None:
    async with trading(fresh, "buy", RiskLimits()) as (actor, _):
        await eventually(lambda: actor.metrics.total_reward < -0.3, timeout_s=WAIT_S)  # a buy or two
        lost = -actor.metrics.total_reward
    assert fresh.paper_pnl_since(utc_day_start(time.time_ns())) == pytest.approx(-lost)
    # Started again today with room for one more buy (~$0.38) on top of the loss: it trips after it.
    async with trading(fresh, "buy", RiskLimits(max_loss_day=lost + 0.25)) as (actor, _):
        await eventually(lambda: actor.metrics.risk_breaker == "loss_day", timeout_s=WAIT_S)
        assert actor.metrics.orders == 1
    # With a limit the earlier loss already exceeds, it trips before any order.
    async with trading(fresh, "buy", RiskLimits(max_loss_day=lost - 0.1)) as (actor, _):
        await eventually(lambda: actor.metrics.risk_breaker == "loss_day", timeout_s=WAIT_S)
        assert actor.metrics.orders == 0
    # The day starts at midnight UTC: nothing of today counts tomorrow.
    assert fresh.paper_pnl_since(utc_day_start(time.time_ns() + 86_400 * 10**9)) == 0.0


async def test_orders_refused_in_a_row_trip_the_breaker(registry: ModelRegistry) -> None:
    # $1 cannot pay for 10 contracts at $0.52: every buy is refused.
    async with trading(registry, "buy", RiskLimits(refused_orders=3), balance=1) as (actor, _):
        await eventually(lambda: actor.metrics.risk_breaker == "refused_orders", timeout_s=WAIT_S)
        await held_for(actor, 2)
        assert actor.metrics.rejected == 3 and actor.metrics.orders == 0
        assert actor.metrics.hold_reason == "risk breaker refused_orders: 3 orders refused in a row"
    assert episode_risk(registry, "buy")["tripped_at_end"]["kind"] == "refused_orders"


async def test_a_stale_book_trips_the_breaker_which_holds_after_the_book_recovers_until_resumed(
    registry: ModelRegistry,
) -> None:
    async with trading(registry, "hold", RiskLimits(stale_ticks=3), moving=False) as (actor, _):
        await eventually(lambda: actor.metrics.decisions >= 2, timeout_s=WAIT_S)
        actor.shared.state.stale = True
        actor.shared.touch()
        await eventually(lambda: actor.metrics.risk_breaker == "stale_book", timeout_s=WAIT_S)
        assert actor.metrics.skipped_stale == 3
        actor.shared.state.stale = False
        actor.shared.touch()
        decisions = actor.metrics.decisions
        await held_for(actor, 3)
        assert actor.metrics.decisions == decisions  # a fresh book does not resume it
        actor.resume()
        await eventually(lambda: actor.metrics.decisions >= decisions + 2, timeout_s=WAIT_S)
        assert actor.metrics.risk_breaker == "" and actor.metrics.hold_reason == ""


async def test_slow_decisions_in_a_row_trip_the_latency_breaker(registry: ModelRegistry) -> None:
    # No decision takes under a microsecond: every tick is "slow".
    limits = RiskLimits(latency_ms=0.001, latency_ticks=2)
    async with trading(registry, "hold", limits) as (actor, _):
        await eventually(lambda: actor.metrics.risk_breaker == "latency", timeout_s=WAIT_S)
        assert actor.metrics.decisions == 2
        await held_for(actor, 2)
        assert actor.metrics.decisions == 2
        assert "decision latency above 0.001 ms for 2 ticks in a row" in actor.metrics.hold_reason


async def test_the_order_rate_skips_orders_without_stopping_trading(registry: ModelRegistry) -> None:
    async with trading(registry, "buy", RiskLimits(max_orders_per_minute=2)) as (actor, messages):
        await eventually(lambda: actor.metrics.rate_limited >= 2, timeout_s=WAIT_S)
    assert actor.metrics.orders == 2 and actor.metrics.risk_breaker == ""
    assert actor.client.ledger(TICKER).position_units == 2_000
    actions = [m["data"] for m in drain(messages) if m["type"] == "action"]
    assert len(actions) == actor.metrics.decisions and not any(a["executed"] for a in actions[2:])


async def test_a_hot_loaded_version_that_loses_too_much_is_rolled_back_and_not_reloaded(
    tmp_path: Path,
) -> None:
    registry = ModelRegistry(open_database(None, tmp_path))
    scripted_model(registry, tmp_path / "models", "hot", Action.HOLD)
    limits = RiskLimits(rollback_loss=0.5, rollback_window_s=60)
    async with trading(registry, "hot", limits) as (actor, messages):  # follows the name
        await eventually(lambda: actor.metrics.decisions >= 2, timeout_s=WAIT_S)
        await asyncio.to_thread(scripted_model, registry, tmp_path / "models", "hot", Action.BUY_YES)
        await eventually(lambda: actor.metrics.risk_trips.get("rollback") == 1, timeout_s=WAIT_S)
        await eventually(lambda: actor.model is not None and actor.model.label == "hot@1", timeout_s=WAIT_S)
        orders = actor.metrics.orders
        assert orders == 2  # hot@2 bought twice: $0.76 lost, past $0.50
        decisions = actor.metrics.decisions
        await eventually(lambda: actor.metrics.decisions >= decisions + 4, timeout_s=WAIT_S)
        # hot@1 trades (holds) again and hot@2, still the latest ready version, is not reloaded.
        assert actor.model.label == "hot@1" and actor.metrics.orders == orders
        assert actor.metrics.reloads == 2 and actor.metrics.risk_breaker == ""
    holds = [m["data"] for m in drain(messages) if m["type"] == "hold"]
    assert [h["breaker"] for h in holds] == ["rollback"]
    assert holds[0]["reason"].startswith("hot@2 lost $0.") and holds[0]["reason"].endswith("back to hot@1")
    assert [t["kind"] for t in episode_risk(registry, "hot@1")["trips"]] == ["rollback"]


def test_the_paper_client_flattens_nothing_when_flat(tmp_path: Path) -> None:
    from kalshi_rl.trading.flatten import flatten_position

    book = live_book()
    client = KalshiPaperTradingClient({TICKER: book}, PaperConfig(latency_min_ms=0.0, latency_max_ms=0.0))
    done = asyncio.run(flatten_position(client, TICKER))
    assert done == {
        "market_ticker": TICKER,
        "position_before": "0.00",
        "position_after": "0.00",
        "orders": [],
    }
