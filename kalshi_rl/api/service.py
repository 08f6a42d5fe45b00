"""``RlService``: what the /rl/* API drives -- the feed, one training job, one paper actor.

- **Feed**: a ``Collector`` for the configured markets runs for the life of the service: the
  ONE ``SharedOrderbookState`` per market, streamed on /rl/ws/orderbook and traded by the actor
  (it also keeps recording to the lake and, with DATABASE_URL, to PostgreSQL).
- **Training** (``training_control``): at most one ``Trainer`` run at a time, in a worker thread
  so it never blocks the event loop or the actor; its progress goes to /rl/ws/training.
- **Actor**: at most one ``PaperSession`` (paper client + ``TradingActor``) on the feed's book;
  its actions go to /rl/ws/actions. Live mode is refused (501).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from kalshi_rl.api.actor_sessions import ActorSession, session_for
from kalshi_rl.api.errors import ApiError
from kalshi_rl.api.health import ReadinessLimits
from kalshi_rl.api.hubs import Hub
from kalshi_rl.api.models import ActorStart, Mode
from kalshi_rl.api.training_control import TrainingControl, TrainingJob
from kalshi_rl.core.errors import KalshiRLError, LiveModeRefusedError
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.registry import ModelRegistry
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


class RlService(TrainingControl):
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
