"""``TradingActor``: the inference-only paper-trading loop (spec §4.4).

Every tick of the grid (``tick_ms`` from the model's contract, the env's step; wall-clock
stamps, monotonic scheduling: ``TickGrid``) it reads the ONE ``SharedOrderbookState`` of its
market, builds the observation with the env's own builder by the env's own rules
(``LiveObserver``), asks the policy for an action (a numpy forward pass; no SB3, no training
code), turns it into an order with the env's action map and position limit, sends it through
the paper client, logs the action through ``ActionWriteQueue`` (never awaiting the database)
and broadcasts it to subscribers. A tick without an observation (stale book) is held and the
reason published; a grid tick that passes while the actor is busy is counted missed.

Hot reload (``actor_reload``): a new checkpoint of the model followed (or one switched to by
command) is loaded in the background and swapped in between two ticks; one that cannot be loaded
is logged and ignored: the actor keeps trading with the model it has.

Risk controls (``risk``, ``actor_risk``): limits and circuit breakers checked every tick; a
tripped breaker holds with its reason until resumed by command; ``flatten`` is the emergency
stop; a hot-loaded version that loses too much is rolled back.

The policy runs as it was trained (``agents.inference``): masked, normalised, recurrent as its
contract says. A recurrent state starts afresh with every episode: this actor's (each market
of a series has its own), every gap-free segment of the book (a training episode never spans
a gap; the observation's history restarts there too) and every model swapped in.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import time
import uuid
from collections import deque
from typing import Any

import numpy as np

from kalshi_rl.agents.inference import PolicyRunner
from kalshi_rl.core.aio import wait_event
from kalshi_rl.core.errors import KalshiRLError, LiveModeRefusedError
from kalshi_rl.core.log_context import bind
from kalshi_rl.core.units import format_count
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.sql_queue import ActionWriteQueue
from kalshi_rl.environments.action_space import ACTION_NAMES, KALSHI_ORDERS, Action, decode_action
from kalshi_rl.environments.observation_space import LiveObserver, PositionState
from kalshi_rl.execution.position import MICRO_PER_DOLLAR, PositionLedger
from kalshi_rl.trading.actor_config import ActorConfig, ActorMetrics, TradingClient
from kalshi_rl.trading.actor_episode import carry_day_loss, final_position, open_episode
from kalshi_rl.trading.actor_reload import HotReload
from kalshi_rl.trading.actor_risk import RiskControls
from kalshi_rl.trading.actor_stream import ActionStream, action_message, hold_message, hold_reason
from kalshi_rl.trading.model_source import LoadedModel, ModelSource
from kalshi_rl.trading.risk import RiskGuard
from kalshi_rl.trading.tick_grid import Tick, TickGrid, format_wall_ns

logger = logging.getLogger(__name__)

_WARM_STOP_NS = 400_000
"""Warm the decision path until this long before the tick (one cold pass takes ~300 µs)."""


class TradingActor(RiskControls, HotReload):
    """Trades one market on paper with a registered model; see the module docstring."""

    def __init__(
        self,
        config: ActorConfig,
        registry: ModelRegistry,
        client: TradingClient,
        shared: SharedOrderbookState,
        actions: ActionWriteQueue | None = None,
        guard: RiskGuard | None = None,
    ) -> None:
        """``guard``: the risk breakers (a series shares one across its markets' actors); by
        default one of ``config.risk``."""
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
        self.stream = ActionStream(config.broadcast_queue)
        self._observer: LiveObserver | None = None
        self._equity_micro = 0.0
        self._reloader: asyncio.Task[None] | None = None
        self._rng = np.random.default_rng(config.seed)
        self._scratch_rng = np.random.default_rng(config.seed + 1)  # warm-up draws only
        self._stale_since_ns: int | None = None  # first tick that found the book stale
        self._held = 0  # ticks held since the last decision
        self._runner: PolicyRunner | None = None  # the model's policy with its recurrent state
        self._runner_segment = 0  # the book segment the runner's state belongs to
        self.guard = guard if guard is not None else RiskGuard(config.risk)
        self.guard.new_episode()
        self._trading = asyncio.Lock()  # a flatten never interleaves with a tick
        self._hot: LoadedModel | None = None  # the version the reloader found, until swapped in
        self._trial: tuple[LoadedModel, int, float | None] | None = None
        """While a hot-loaded version is on trial (``rollback_loss``): the version it replaced,
        the tick it took over and the equity then (None until a tick with a mark)."""

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, model: LoadedModel | None = None) -> None:
        """Load the model (its contract fixes tick, actions and observation), open the episode;
        ``model``: one already loaded (a series hands each market's actor the last one's)."""
        if self.model is not None:
            return  # already started
        self.model = model if model is not None else await asyncio.to_thread(self.source.load)
        self._observer = LiveObserver(self.model.env.tick_ms * 1_000_000, self.model.env.spec)
        await carry_day_loss(self.registry, self.guard, self.config.clock.time_ns())
        self.episode_id = await open_episode(self.registry, self.model, self.config.market_ticker)
        bind(market=self.config.market_ticker, model=self.model.label, episode_id=self.episode_id)
        self._reloader = asyncio.create_task(self._watch_for_new_models(), name="actor-hot-reload")
        logger.info(
            "actor trading %s with %s every %d ms",
            self.config.market_ticker,
            self.model.label,
            self.model.env.tick_ms,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Tick on the grid until ``stop`` is set: each grid tick is decided, held or missed."""
        if self.model is None:
            await self.start()
        assert self.model is not None
        bind(market=self.config.market_ticker, model=self.model.label, episode_id=self.episode_id)
        grid = TickGrid(self.config.clock, self.model.env.tick_ms * 1_000_000)
        try:
            while not stop.is_set():
                if not await self._wait_for(grid.upcoming(), stop):
                    break
                tick = grid.take()
                if tick is None:
                    continue
                self.metrics.clock_steps = grid.steps
                if tick.missed:
                    self.metrics.missed_ticks += tick.missed
                    logger.warning(
                        "missed %d tick(s) before %s: the last decision or the wake-up ran late",
                        tick.missed,
                        format_wall_ns(tick.wall_ns),
                    )
                collecting = gc.isenabled()
                gc.disable()  # a collection due now runs right after the tick, not inside it
                try:
                    await self.on_tick(tick.wall_ns, tick.due_ns)
                finally:
                    if collecting:
                        gc.enable()
        finally:
            await self.close()

    async def _wait_for(self, tick: Tick, stop: asyncio.Event) -> bool:
        """Wait until ``tick`` falls due (at once if it has); False if ``stop`` is set meanwhile.

        With ``spin_us``, its last ``spin_us`` are spent warming the decision path up, yielding
        to the loop between passes: asyncio timers fire up to a millisecond late, and a cold
        decision path runs several times slower than a warm one (but see ``ActorConfig``).
        """
        clock = self.config.clock
        wake = tick.due_ns - self.config.spin_us * 1_000
        now = clock.monotonic_ns()
        if wake > now:
            await wait_event(stop, (wake - now) / 1e9)
        else:
            await asyncio.sleep(0)  # late: still let the feed run between two ticks
        while (now := clock.monotonic_ns()) < tick.due_ns and not stop.is_set():
            if self.config.spin_us and now < tick.due_ns - _WARM_STOP_NS:
                self._warm_up(tick.wall_ns)
            await asyncio.sleep(0)
        return not stop.is_set()

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
                final_position=final_position(ledger),
                metadata={
                    "model": self.model.label if self.model else None,
                    **self.metrics.counts(),
                    "risk": self.guard.record(),
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
            self._runner_for(model).peek(observation, self._scratch_rng)  # the state is left as it was

    def _runner_for(self, model: LoadedModel) -> PolicyRunner:
        """``model``'s policy with its state, afresh for a new policy and a new book segment."""
        runner = self._runner
        if runner is None or runner.policy is not model.policy:
            runner = self._runner = PolicyRunner(model.policy, model.label)
        segment = self._observer.segment if self._observer is not None else 0
        if segment != self._runner_segment:  # only ``observe`` (on a tick) moves to a new one
            self._runner_segment = segment
            runner.reset()
        return runner

    def _position(self, model: LoadedModel) -> PositionState:
        ledger = self.client.ledger(self.config.market_ticker)
        limit = model.env.actions.position_limit_units
        return PositionState(ledger.position_units, ledger.average_cost_ticks(), limit)

    async def on_tick(self, tick_ns: int, due_ns: int | None = None) -> None:
        """Decide at the tick stamped ``tick_ns`` (wall clock) that fell due at ``due_ns``
        (monotonic; latency counts from it, or from this call if None)."""
        async with self._trading:
            await self._tick(tick_ns, due_ns)

    async def _tick(self, tick_ns: int, due_ns: int | None) -> None:
        started = time.perf_counter()
        self._swap_in(tick_ns)
        model = self.model
        assert model is not None and self._observer is not None
        self.metrics.ticks += 1
        ledger = self.client.ledger(self.config.market_ticker)
        mark = self.shared.state.mid_price_yes
        if mark is not None:
            self._tripped(self.guard.on_equity(ledger.equity_micro(mark), tick_ns))
            if self._trial is not None and self._rolled_back(ledger.equity_micro(mark), tick_ns):
                return
        if self.guard.tripped is not None:
            self._hold_tripped(tick_ns, self.guard.tripped)
            return
        observation = self._observer.observe(self.shared, self._position(model), tick_ns)
        if observation is None:
            stale = self.shared.state.stale
            self._hold(tick_ns)
            if stale:
                self._tripped(self.guard.on_stale(tick_ns))
            return
        self.guard.on_fresh()
        if self.metrics.hold_reason:
            logger.info("trading again after %d held tick(s)", self._held)
            self.metrics.hold_reason, self._held, self._stale_since_ns = "", 0, None
        runner = self._runner_for(model)
        action, confidence = runner.decide(observation, None if self.config.deterministic else self._rng)
        self.metrics.decisions += 1
        intent = decode_action(action, ledger.position_units, model.env.actions)
        details: dict[str, Any] = {"name": ACTION_NAMES[action]}
        result: dict[str, Any] | None = None
        executed = False
        if intent is not None and not self.guard.may_send(self.config.clock.monotonic_ns()):
            self.metrics.rate_limited = self.guard.rate_limited
            details["skipped"] = "max_orders_per_minute reached: no order this tick"
            intent = None
        if intent is not None:
            side, direction = KALSHI_ORDERS[Action(action)]
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
                refused = False
            except KalshiRLError as exc:
                result = getattr(exc, "body", None) or {
                    "error": {"code": type(exc).__name__, "message": str(exc)}
                }
                self.metrics.rejected += 1
                refused = True
            self._tripped(self.guard.sent(self.config.clock.monotonic_ns(), refused, tick_ns))
        # Measured from the tick itself (wake-up jitter included) to the decision or the order's
        # ack, on the monotonic clock (a wall-clock step cannot skew it).
        elapsed_us = (
            (self.config.clock.monotonic_ns() - due_ns) / 1_000
            if due_ns is not None
            else (time.perf_counter() - started) * 1e6
        )
        self.metrics.latencies_us.append(elapsed_us)  # type: ignore[union-attr]
        self.metrics.latency_histogram.observe(elapsed_us / 1e6)
        self._tripped(self.guard.on_latency(elapsed_us / 1_000, tick_ns))
        if intent is not None:
            self.metrics.order_latencies_us.append(elapsed_us)  # type: ignore[union-attr]
            self.metrics.processing_us.append((time.perf_counter() - started) * 1e6)  # type: ignore[union-attr]
        equity = ledger.equity_micro(mark) if mark is not None else self._equity_micro
        reward = (equity - self._equity_micro) / MICRO_PER_DOLLAR if self.metrics.decisions > 1 else 0.0
        self._equity_micro = equity
        self.metrics.total_reward += reward
        self._log(tick_ns, action, details, observation, reward, executed, result, confidence, ledger, mark)

    def _hold(self, tick_ns: int) -> None:
        """No observation at this tick: hold (no order) and say why (metrics, stream, log)."""
        if self.shared.state.stale and self._stale_since_ns is None:
            self._stale_since_ns = tick_ns
        reason = hold_reason(self.shared, self._stale_since_ns or tick_ns)
        if reason != self.metrics.hold_reason:
            logger.warning("%s: holding (no order): %s", self.config.market_ticker, reason)
        self.metrics.skipped_stale += 1
        self.metrics.hold_reason = reason
        self._held += 1
        label = self.model.label if self.model else None
        ticker = self.config.market_ticker
        self.stream.publish(hold_message(ticker, tick_ns, reason, self.metrics.skipped_stale, label))

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
        label = self.model.label if self.model else None
        if self.actions is not None:
            self.actions.enqueue_action(
                {
                    "episode_id": self.episode_id,
                    "timestamp": tick_ns // 1_000_000,
                    "market_ticker": self.config.market_ticker,
                    "action": action,
                    "action_details": {**details, "model": label},
                    "state_hash": hashlib.md5(observation.tobytes()).hexdigest(),
                    "reward": reward,
                    "executed": executed,
                    "execution_result": result,
                }
            )
        message = action_message(
            self.config.market_ticker, tick_ns, details, result, ledger, mark, confidence, label, executed
        )
        self.recent.append(message["data"])
        self.stream.publish(message)

    # -- subscribers ----------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue of this actor's ``action`` and ``hold`` messages (see ``actor_stream``)."""
        return self.stream.subscribe()

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.stream.unsubscribe(queue)

    def set_mode(self, mode: str) -> None:
        if mode == "live":
            raise LiveModeRefusedError("TradingActor.set_mode")
        if mode != "paper":
            raise ValueError(f"unknown mode {mode!r}: only 'paper'")
