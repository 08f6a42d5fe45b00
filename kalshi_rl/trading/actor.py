"""``TradingActor``: the inference-only paper-trading loop (spec §4.4).

Every tick of the grid (``tick_ms`` from the model's contract, the env's step) it reads the ONE
``SharedOrderbookState`` of its market, builds the observation with the env's own builder by the
env's own rules (``LiveObserver``), asks the policy for an action (a numpy forward pass; no SB3,
no training code), turns it into an order with the env's action map and position limit, sends
it through the paper client, logs the action through ``ActionWriteQueue`` (never awaiting the
database) and broadcasts it to subscribers (dropping the oldest message of a slow one).

Hot reload: a background task polls the registry and the checkpoint's mtime, loads a new
checkpoint in a worker thread, checks that its train/serve contract equals the running one, and
hands it over; the tick loop swaps it in between two ticks. A missing, corrupt or mismatched
checkpoint is logged and ignored: the actor keeps trading with the model it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import time
import uuid
from collections import deque
from typing import Any

import numpy as np

from kalshi_rl.core.errors import KalshiRLError, LiveModeRefusedError
from kalshi_rl.core.units import PRICE_SCALE, format_count
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.shared_state import SharedOrderbookState
from kalshi_rl.data.sql_queue import ActionWriteQueue
from kalshi_rl.environments.action_space import ACTION_NAMES, Action, decode_action
from kalshi_rl.environments.observation_space import LiveObserver, PositionState
from kalshi_rl.execution.position import MICRO_PER_DOLLAR, PositionLedger
from kalshi_rl.trading.actor_config import ActorConfig, ActorMetrics, TradingClient
from kalshi_rl.trading.model_source import LoadedModel, ModelSource

logger = logging.getLogger(__name__)

_SPIN_NS = 2_000_000
"""Sleep until 2 ms before a tick, then spin to it, so decisions start on the tick."""
_WARM_STOP_NS = 400_000
"""Warm the decision path until this long before the tick (one cold pass takes ~300 µs)."""


class TradingActor:
    """Trades one market on paper with a registered model; see the module docstring."""

    def __init__(
        self,
        config: ActorConfig,
        registry: ModelRegistry,
        client: TradingClient,
        shared: SharedOrderbookState,
        actions: ActionWriteQueue | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.client = client
        self.shared = shared
        self.actions = actions
        self.source = ModelSource(registry, config.model_ref)
        self.metrics = ActorMetrics(
            latencies_us=deque(maxlen=10_000),
            order_latencies_us=deque(maxlen=10_000),
            processing_us=deque(maxlen=10_000),
            switches=[],
        )
        self.model: LoadedModel | None = None
        self.episode_id: uuid.UUID | None = None
        self.recent: deque[dict[str, Any]] = deque(maxlen=50)
        self._pending: LoadedModel | None = None
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self._observer: LiveObserver | None = None
        self._equity_micro = 0.0
        self._reloader: asyncio.Task[None] | None = None
        self._rng = np.random.default_rng(config.seed)
        self._scratch_rng = np.random.default_rng(config.seed + 1)  # warm-up draws only

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the model (its contract fixes tick, actions and observation), open the episode."""
        if self.model is not None:
            return  # already started
        self.model = await asyncio.to_thread(self.source.load)
        self._observer = LiveObserver(self.model.env.tick_ms * 1_000_000, self.model.env.spec)
        self.episode_id = await asyncio.to_thread(
            self.registry.start_episode,
            self.model.record.id,
            self.config.market_ticker,
            "paper",
            {
                "model": self.model.label,
                "contract": self.model.record.training_config.get("contract", {}).get(
                    "observation_fingerprint"
                ),
            },
        )
        self._reloader = asyncio.create_task(self._watch_for_new_models(), name="actor-hot-reload")
        logger.info(
            "actor trading %s with %s every %d ms",
            self.config.market_ticker,
            self.model.label,
            self.model.env.tick_ms,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Tick on the grid until ``stop`` is set; never skips a tick to load a model."""
        if self.model is None:
            await self.start()
        assert self.model is not None
        try:
            while not stop.is_set():
                tick_ns = self.model.env.tick_ms * 1_000_000
                now = time.time_ns()
                next_tick = now + (-now) % tick_ns
                wake = next_tick - _SPIN_NS
                if wake > now:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), (wake - now) / 1e9)
                if stop.is_set():
                    break
                while time.time_ns() < next_tick - _WARM_STOP_NS:
                    self._warm_up(next_tick)
                while time.time_ns() < next_tick:  # asyncio timers fire up to ~1 ms late: spin the rest
                    pass
                late = time.time_ns() - next_tick
                if late >= tick_ns:
                    self.metrics.missed_ticks += late // tick_ns
                collecting = gc.isenabled()
                gc.disable()  # a collection due now runs right after the tick, not inside it
                try:
                    await self.on_tick(next_tick)
                finally:
                    if collecting:
                        gc.enable()
        finally:
            await self.close()

    async def close(self) -> None:
        if self._reloader is not None:
            self._reloader.cancel()
            await asyncio.gather(self._reloader, return_exceptions=True)
            self._reloader = None
        if self.episode_id is not None:
            ledger = self.client.ledger(self.config.market_ticker)
            await asyncio.to_thread(
                self.registry.finish_episode,
                self.episode_id,
                total_reward=self.metrics.total_reward,
                total_steps=self.metrics.ticks,
                final_position={
                    "position_units": ledger.position_units,
                    "realized_pnl": ledger.realized_micro / MICRO_PER_DOLLAR,
                    "fees": ledger.fees_micro / MICRO_PER_DOLLAR,
                },
                metadata={
                    "model": self.model.label if self.model else None,
                    "reloads": self.metrics.reloads,
                    "orders": self.metrics.orders,
                    "missed_ticks": self.metrics.missed_ticks,
                },
            )
            self.episode_id = None

    # -- one tick -------------------------------------------------------------------------------

    def _warm_up(self, tick_ns: int) -> None:
        """Run the observation and the policy on scratch state while waiting for the tick.

        Nothing is recorded (the history is only read; a private generator draws the action),
        so the tick's decision is unchanged; but it then runs from warm caches: after 100 ms
        idle, a first pass through this code costs several times the next one (measured in
        ``bench/actor.py``).
        """
        model, observer = self.model, self._observer
        if model is None or observer is None:
            return
        observation = observer.peek(self.shared, self._position(model), tick_ns)
        if observation is not None:
            model.policy.sample(observation, self._scratch_rng)

    def _position(self, model: LoadedModel) -> PositionState:
        ledger = self.client.ledger(self.config.market_ticker)
        limit = model.env.actions.position_limit_units
        return PositionState(ledger.position_units, ledger.average_cost_ticks(), limit)

    async def on_tick(self, tick_ns: int) -> None:
        started = time.perf_counter()
        if self._pending is not None:  # swap between ticks, never during one
            self.model, self._pending = self._pending, None
            self.metrics.reloads += 1
            self.metrics.switches.append((self.model.label, tick_ns))  # type: ignore[union-attr]
            logger.info("now trading with %s", self.model.label)
        model = self.model
        assert model is not None and self._observer is not None
        self.metrics.ticks += 1
        ledger = self.client.ledger(self.config.market_ticker)
        observation = self._observer.observe(self.shared, self._position(model), tick_ns)
        if observation is None:
            self.metrics.skipped_stale += 1
            return
        if self.config.deterministic:
            action, confidence = model.policy.act(observation)
        else:
            action, confidence = model.policy.sample(observation, self._rng)
        self.metrics.decisions += 1
        intent = decode_action(action, ledger.position_units, model.env.actions)
        details: dict[str, Any] = {"name": ACTION_NAMES[action]}
        result: dict[str, Any] | None = None
        executed = False
        if intent is not None:
            side, direction = _order_of(Action(action))
            details.update(
                side=side, action=direction, quantity=format_count(intent.count_units), order_type="market"
            )
            try:
                result = await self.client.create_order(
                    self.config.market_ticker,
                    side,
                    "market",
                    format_count(intent.count_units),
                    None,
                    action=direction,
                    time_in_force="immediate_or_cancel",
                    reduce_only=direction == "sell",
                )
                executed = result.get("fill_count", "0.00") not in ("0.00", "0", 0)
                self.metrics.orders += 1
            except KalshiRLError as exc:
                result = getattr(exc, "body", None) or {
                    "error": {"code": type(exc).__name__, "message": str(exc)}
                }
                self.metrics.rejected += 1
        # Measured from the tick itself (wake-up jitter included) to the decision or the order's
        # ack; a tick stamped in the future (replayed in tests) counts from on_tick's start.
        now_ns = time.time_ns()
        elapsed_us = (
            (now_ns - tick_ns) / 1_000 if now_ns >= tick_ns else (time.perf_counter() - started) * 1e6
        )
        self.metrics.latencies_us.append(elapsed_us)  # type: ignore[union-attr]
        if intent is not None:
            self.metrics.order_latencies_us.append(elapsed_us)  # type: ignore[union-attr]
            self.metrics.processing_us.append((time.perf_counter() - started) * 1e6)  # type: ignore[union-attr]
        mark = self.shared.state.mid_price_yes
        equity = ledger.equity_micro(mark) if mark is not None else self._equity_micro
        reward = (equity - self._equity_micro) / MICRO_PER_DOLLAR if self.metrics.decisions > 1 else 0.0
        self._equity_micro = equity
        self.metrics.total_reward += reward
        self._log(tick_ns, action, details, observation, reward, executed, result, confidence, ledger, mark)

    def _log(
        self,
        tick_ns: int,
        action: int,
        details: dict[str, Any],
        observation: np.ndarray,
        reward: float,
        executed: bool,
        result: dict[str, Any] | None,
        confidence: float,
        ledger: PositionLedger,
        mark: float | None,
    ) -> None:
        timestamp = tick_ns // 1_000_000
        if self.actions is not None:
            self.actions.enqueue_action(
                {
                    "episode_id": self.episode_id,
                    "timestamp": timestamp,
                    "market_ticker": self.config.market_ticker,
                    "action": action,
                    "action_details": {**details, "model": self.model.label if self.model else None},
                    "state_hash": hashlib.md5(observation.tobytes()).hexdigest(),
                    "reward": reward,
                    "executed": executed,
                    "execution_result": result,
                }
            )
        unrealized = ledger.unrealized_micro(mark) / MICRO_PER_DOLLAR if mark is not None else 0.0
        price = result.get("average_fill_price") if result else None
        event = {
            "type": "action",
            "data": {
                "timestamp": timestamp,
                "market_ticker": self.config.market_ticker,
                "action": details["name"],
                "details": {
                    "side": details.get("side"),
                    "price": price,
                    "quantity": details.get("quantity"),
                    "order_type": details.get("order_type"),
                },
                "state": {
                    "position": format_count(ledger.position_units),
                    "avg_price": round(ledger.average_cost_ticks() / PRICE_SCALE, 6),
                    "unrealized_pnl": round(unrealized, 6),
                },
                "confidence": round(confidence, 6),
                "model": self.model.label if self.model else None,
                "executed": executed,
            },
        }
        self.recent.append(event["data"])  # type: ignore[arg-type]
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()  # a slow subscriber loses its oldest message, never blocks us
            queue.put_nowait(event)

    # -- subscribers and hot reload -----------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=self.config.broadcast_queue)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    async def switch_model(self, ref: str) -> LoadedModel:
        """Trade with another model from the next tick (same contract required)."""
        assert self.model is not None
        source = ModelSource(self.registry, ref)
        loaded = await asyncio.to_thread(source.load, self.model.contract)
        self.source = source
        self._pending = loaded
        return loaded

    async def _watch_for_new_models(self) -> None:
        while True:
            await asyncio.sleep(self.config.reload_poll_s)
            current = self._pending or self.model
            if current is None:
                continue
            try:
                if not await asyncio.to_thread(self.source.changed, current):
                    continue
                loaded = await asyncio.to_thread(self.source.load, current.contract)
            except KalshiRLError as exc:
                if str(exc) != self.metrics.last_reload_error:
                    logger.warning("keeping %s: %s", current.label, exc)
                self.metrics.reload_refusals += 1
                self.metrics.last_reload_error = str(exc)
                await asyncio.sleep(max(self.config.reload_poll_s, 1.0))
                continue
            except Exception as exc:  # a corrupt file must never stop trading
                logger.warning(
                    "keeping %s: cannot load the new checkpoint (%s: %s)",
                    current.label,
                    type(exc).__name__,
                    exc,
                )
                self.metrics.reload_refusals += 1
                self.metrics.last_reload_error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(max(self.config.reload_poll_s, 1.0))
                continue
            if loaded.mtime_ns != current.mtime_ns or loaded.record.id != current.record.id:
                self._pending = loaded
                logger.info(
                    "loaded %s (checkpoint %s); switching at the next tick", loaded.label, loaded.checkpoint
                )

    def set_mode(self, mode: str) -> None:
        if mode == "live":
            raise LiveModeRefusedError("TradingActor.set_mode")
        if mode != "paper":
            raise ValueError(f"unknown mode {mode!r}: only 'paper'")


def _order_of(action: Action) -> tuple[str, str]:
    """The Kalshi (side, action) of an env action (sells are reduce-only)."""
    return {
        Action.BUY_YES: ("yes", "buy"),
        Action.SELL_YES: ("yes", "sell"),
        Action.BUY_NO: ("no", "buy"),
        Action.SELL_NO: ("no", "sell"),
    }[action]
