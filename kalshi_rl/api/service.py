"""``RlService``: what the /rl/* API drives -- the feed, one training job, one paper actor.

- **Feed**: a ``Collector`` for the configured markets runs for the life of the service: the
  ONE ``SharedOrderbookState`` per market, streamed on /rl/ws/orderbook and traded by the actor
  (it also keeps recording to the lake and, with DATABASE_URL, to PostgreSQL).
- **Training**: at most one ``Trainer`` run at a time, in a worker thread so it never blocks
  the event loop or the actor; its progress goes to /rl/ws/training.
- **Actor**: at most one ``PaperSession`` (paper client + ``TradingActor``) on the feed's book;
  its actions go to /rl/ws/actions. Live mode is refused (501).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from kalshi_rl.api.actor_sessions import ActorSession, session_for
from kalshi_rl.api.errors import ApiError
from kalshi_rl.api.health import ReadinessLimits
from kalshi_rl.api.hubs import Hub
from kalshi_rl.api.models import ActorStart, Mode, TrainingStart
from kalshi_rl.api.stream_messages import (
    TrainingFinishedData,
    TrainingFinishedMessage,
    TrainingProgressData,
    TrainingProgressMessage,
)
from kalshi_rl.core.errors import KalshiRLError, LiveModeRefusedError
from kalshi_rl.core.extras import missing_extra
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.storage.database import open_database, redact, sqlite_url
from kalshi_rl.kalshi.auth import Credentials
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.trading.risk import TripKind
from kalshi_rl.trading.session import PaperSession

logger = logging.getLogger(__name__)

ACTOR_STOP_TIMEOUT_S = 20.0


def await_chain(task: asyncio.Task[Any]) -> str:
    """Where a task is suspended, through every coroutine it awaits (``print_stack`` shows only
    the outermost frame, which does not say which await of the actor is stuck)."""
    lines = []
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None)
        if frame is None:
            lines.append(f"  awaiting {awaited!r}")
            break
        lines.append(f'  File "{frame.f_code.co_filename}", line {frame.f_lineno}, in {frame.f_code.co_name}')
        awaited = awaited.cr_await
    return "\n".join(lines)


@dataclass(frozen=True)
class ServiceConfig:
    data_dir: Path
    models_dir: Path
    markets: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    """Series whose every market the feed follows (discovery), for a series actor to roll on."""
    ws_url: str = ""
    rest_url: str = ""
    database_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    credentials: Credentials | None = field(default=None, repr=False)
    ready: ReadinessLimits = field(default_factory=ReadinessLimits)
    """The bounds of ``GET /rl/ready``."""

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"


@dataclass
class TrainingJob:
    model_id: uuid.UUID
    name: str
    task: asyncio.Task[ModelRecord]
    started: float
    progress: TrainingProgressData | None = None
    record: ModelRecord | None = None
    error: str | None = None


class RlService:
    """Owns the feed, the training job and the actor; every method is called on the event loop."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.started = time.time()
        self.engine: Engine | None = None
        self.registry: ModelRegistry | None = None
        self.feed: Collector | None = None
        self.training: TrainingJob | None = None
        self.session: ActorSession | None = None
        self.training_hub = Hub()
        self.actions_hub = Hub(maxsize=1_000)
        self._forwarder: asyncio.Task[None] | None = None
        self._trainer: Any = None
        self._feed_stop = asyncio.Event()
        self._feed_task: asyncio.Task[Any] | None = None
        self._actor_stop: asyncio.Event | None = None
        self._actor_task: asyncio.Task[None] | None = None
        self._actor_error: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def startup(self) -> None:
        self.training_hub.bind(asyncio.get_running_loop())
        self.actions_hub.bind(asyncio.get_running_loop())
        self.engine = await asyncio.to_thread(open_database, self.config.database_url, self.config.data_dir)
        self.registry = ModelRegistry(self.engine)
        if self.config.markets or self.config.series:
            self.feed = Collector(
                CollectorConfig(
                    ws=WsConfig(url=self.config.ws_url, market_tickers=self.config.markets),
                    rest_url=self.config.rest_url,
                    lake_dir=self.config.lake_dir,
                    database_url=self.config.database_url,
                    series=self.config.series,
                ),
                self.config.credentials,
            )
            await self.feed.prepare()
            self._feed_task = asyncio.create_task(self.feed.run(self._feed_stop), name="service-feed")

    async def shutdown(self) -> None:
        # An actor already stopped through the API (or dead of an error) must not stop the
        # shutdown: the feed below still has to stop and flush its sinks.
        if self.actor_running:
            await self.stop_actor()
        if self._forwarder is not None:
            self._forwarder.cancel()
            await asyncio.gather(self._forwarder, return_exceptions=True)
        await self.halt_training()
        self._feed_stop.set()
        if self._feed_task is not None:
            await asyncio.gather(self._feed_task, return_exceptions=True)

    @property
    def database(self) -> str:
        url = self.config.database_url
        return redact(url) if url else redact(sqlite_url(self.config.data_dir))

    def require_registry(self) -> ModelRegistry:
        if self.registry is None:
            raise ApiError(503, "starting", "the service is still starting")
        return self.registry

    # -- training -----------------------------------------------------------------------------

    async def start_training(self, body: TrainingStart) -> TrainingJob:
        try:
            from kalshi_rl.agents import hyperparameters as hp
            from kalshi_rl.agents.training import Trainer, TrainRequest
        except ModuleNotFoundError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            raise ApiError(501, "not_installed", str(extra)) from None
        from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
        from kalshi_rl.data.replay.series import series_markets
        from kalshi_rl.environments.action_space import ActionConfig
        from kalshi_rl.environments.contract import EnvConfig
        from kalshi_rl.execution.fill_engine import FillConfig

        registry = self.require_registry()
        if self.training is not None and not self.training.task.done():
            raise ApiError(
                409, "training_running", f"training {self.training.name} is already running; stop it first"
            )
        hp.validate(body.algo, body.hyperparameters, body.n_envs)
        try:
            env = EnvConfig(
                tick_ms=body.tick_ms,
                episode_ticks=body.episode_ticks,
                actions=ActionConfig(round(body.order_contracts * 100), round(body.position_limit * 100)),
                fill=FillConfig(latency_min_ms=body.latency_ms, latency_max_ms=body.latency_ms),
            )
        except ValueError as exc:
            raise ApiError(400, "invalid_request", str(exc)) from None
        lake = self.config.lake_dir
        start = int(body.start.timestamp() * 1e9) if body.start else None
        end = int(body.end.timestamp() * 1e9) if body.end else None
        markets = tuple(body.markets)
        if body.series:  # every market of the series with books in the window
            markets = await asyncio.to_thread(series_markets, lake, body.series, start, end)
        low, high = await asyncio.to_thread(lake_time_range, lake, markets)
        data = await asyncio.to_thread(preload_lake, lake, markets, start or low, end or high + 1)
        data.series = body.series
        model_id = uuid.uuid4()
        name = body.name or f"{body.algo.upper()}_{body.series or markets[0]}"
        request = TrainRequest(
            algo=body.algo,
            timesteps=body.timesteps,
            n_envs=body.n_envs,
            seed=body.seed,
            name=name,
            parent=body.parent,
            hyperparameters=body.hyperparameters,
            env=env,
            checkpoint_every=body.checkpoint_every,
            model_id=model_id,
        )
        self._trainer = Trainer(registry, self.config.models_dir, on_progress=self._on_progress)
        task = asyncio.create_task(asyncio.to_thread(self._trainer.train, request, data), name="training")
        self.training = TrainingJob(model_id, name, task, time.time())
        task.add_done_callback(self._training_done)
        return self.training

    def _on_progress(self, progress: Any) -> None:  # in the trainer's thread
        data = TrainingProgressData(
            episode=progress.episode,
            total_episodes=progress.total_episodes,
            avg_reward=progress.avg_reward,
            loss=progress.loss,
            learning_rate=progress.learning_rate,
            timesteps_so_far=progress.timesteps_so_far,
            model_id=progress.model_id,
            total_timesteps=progress.total_timesteps,
        )
        if self.training is not None:
            self.training.progress = data
        self.training_hub.publish_threadsafe(
            TrainingProgressMessage(type="training_progress", data=data).wire()
        )

    def _training_done(self, task: asyncio.Task[ModelRecord]) -> None:
        job = self.training
        if job is None or job.task is not task:
            return
        if task.cancelled():
            job.error = "cancelled"
        elif task.exception() is not None:
            exc = task.exception()
            job.error = f"{type(exc).__name__}: {exc}"
            logger.warning("training %s did not start or failed: %s", job.name, job.error)
        else:
            job.record = task.result()
        finished = TrainingFinishedData(
            model_id=str(job.model_id),
            status=job.record.status if job.record else "failed",
            error=job.error,
        )
        self.training_hub.publish(TrainingFinishedMessage(type="training_finished", data=finished).wire())

    async def halt_training(self) -> None:
        """Stop the running training, if any, and wait for it to save and record itself.

        A run still setting up (tapes, environments, model) has nothing to ask yet: wait for it to
        exist rather than for the whole training to finish.
        """
        job = self.training
        while job is not None and not job.task.done():
            run = self._trainer.current if self._trainer is not None else None
            if run is not None:
                run.stop_requested.set()
                break
            await asyncio.sleep(0.05)
        if job is not None:
            await asyncio.gather(job.task, return_exceptions=True)

    async def stop_training(self) -> TrainingJob:
        job = self.training
        if job is None or job.task.done():
            raise ApiError(409, "training_not_running", "no training is running")
        trainer = self._trainer
        if trainer is None or trainer.current is None:
            raise ApiError(
                409, "training_starting", "the training is still loading its data; try again in a moment"
            )
        trainer.current.stop_requested.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(job.task), 60)
        return job

    # -- actor --------------------------------------------------------------------------------

    async def start_actor(self, body: ActorStart) -> ActorSession:
        if body.mode == "live":  # any other mode but 'paper' is refused by ActorStart (422)
            raise LiveModeRefusedError("POST /rl/actor/start")
        registry = self.require_registry()
        if self._actor_task is not None and not self._actor_task.done():
            raise ApiError(409, "actor_running", "the actor is already running; stop it or switch its model")
        if self.feed is None:
            raise ApiError(
                409, "no_feed", "the service has no market feed (set RL_MARKET_TICKER, --market or --series)"
            )
        record = await asyncio.to_thread(registry.get, body.model_id)
        if record.status not in ("ready", "deployed", "stopped"):
            raise ApiError(
                409,
                "model_not_ready",
                f"model {record.label} is {record.status}; only ready models can trade",
            )
        assert self.engine is not None
        session = session_for(body, record, self.feed, self.engine)
        await session.prepare()
        if isinstance(session, PaperSession):
            assert session.actor is not None
            await session.actor.start()
        self.session = session
        self._actor_stop = asyncio.Event()
        self._actor_error = None
        self._actor_task = asyncio.create_task(self._run_actor(session, self._actor_stop), name="paper-actor")
        if self._forwarder is not None:
            self._forwarder.cancel()
        self._forwarder = asyncio.create_task(
            self._forward_actions(session.subscribe()), name="actions-forwarder"
        )
        return session

    async def _forward_actions(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Republish the actor's broadcasts to the hub that /rl/ws/actions clients read."""
        while True:
            self.actions_hub.publish(await queue.get())

    async def _run_actor(self, session: ActorSession, stop: asyncio.Event) -> None:
        try:
            await session.run(stop)
        except Exception as exc:
            self._actor_error = f"{type(exc).__name__}: {exc}"
            logger.exception("the paper actor stopped with an error")

    async def stop_actor(self) -> ActorSession:
        if (
            self._actor_task is None
            or self._actor_task.done()
            or self.session is None
            or self._actor_stop is None
        ):
            raise ApiError(409, "actor_not_running", "the actor is not running")
        self._actor_stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._actor_task), ACTOR_STOP_TIMEOUT_S)
        except TimeoutError:
            logger.error(
                "the actor did not stop within %.0f s; cancelling it. It was at:\n%s",
                ACTOR_STOP_TIMEOUT_S,
                await_chain(self._actor_task),
            )
            self._actor_task.cancel()
            await asyncio.gather(self._actor_task, return_exceptions=True)
            self._actor_error = f"did not stop within {ACTOR_STOP_TIMEOUT_S:.0f} s and was cancelled"
        if self._forwarder is not None:
            self._forwarder.cancel()
            await asyncio.gather(self._forwarder, return_exceptions=True)
            self._forwarder = None
        return self.session

    def _running_session(self) -> ActorSession:
        if self._actor_task is None or self._actor_task.done() or self.session is None:
            raise ApiError(409, "actor_not_running", "the actor is not running")
        return self.session

    def resume_actor(self) -> TripKind | None:
        """Trade again after a risk breaker tripped; the breaker cleared (None if none was)."""
        return self._running_session().resume()

    async def flatten_actor(self) -> dict[str, Any]:
        """Emergency stop: hold from now on (until resumed), cancel resting orders, sell the
        position back to zero through the paper client."""
        return await self._running_session().flatten()

    async def switch_model(self, ref: str) -> str:
        if self._actor_task is None or self._actor_task.done() or self.session is None:
            raise ApiError(409, "actor_not_running", "the actor is not running; start it with a model")
        record = await asyncio.to_thread(self.require_registry().get, ref)
        if record.status not in ("ready", "deployed", "stopped"):
            raise ApiError(
                409,
                "model_not_ready",
                f"model {record.label} is {record.status}; only ready models can trade",
            )
        try:
            loaded = await self.session.switch_model(str(record.id))
        except KalshiRLError as exc:
            raise ApiError(409, "model_refused", str(exc)) from None
        return loaded.label

    def set_mode(self, mode: Mode) -> Literal["paper"]:
        """The mode now: 'paper' (a request for any other but 'live' is refused by ``SetMode``)."""
        if mode == "live":
            raise LiveModeRefusedError("POST /rl/actor/set-mode")
        return mode

    @property
    def actor_running(self) -> bool:
        return self._actor_task is not None and not self._actor_task.done()

    @property
    def actor_error(self) -> str | None:
        return self._actor_error
