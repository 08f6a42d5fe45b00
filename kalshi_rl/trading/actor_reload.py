"""``HotReload``: how the ``TradingActor`` changes model while it trades (spec §4.4).

A background task polls the registry and the checkpoint's mtime, loads a new checkpoint in a
worker thread, checks that its train/serve contract equals the running one, and hands it over;
the tick loop swaps it in between two ticks. A missing, corrupt or mismatched checkpoint is
logged and ignored: the actor keeps trading with the model it has. A switch by command takes
the same path.
"""

from __future__ import annotations

import asyncio
import logging

from kalshi_rl.core.errors import KalshiRLError
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.trading.actor_config import ActorConfig, ActorMetrics
from kalshi_rl.trading.model_source import LoadedModel, ModelSource

logger = logging.getLogger(__name__)


class HotReload:
    """The model-changing side of ``TradingActor`` (a mixin: the actor holds the state it uses)."""

    config: ActorConfig
    registry: ModelRegistry
    metrics: ActorMetrics
    model: LoadedModel | None
    source: ModelSource
    _pending: LoadedModel | None
    _hot: LoadedModel | None
    _trial: tuple[LoadedModel, int, float | None] | None

    def _swap_in(self, tick_ns: int) -> None:
        """Trade with the model handed over since the last tick, if any (never during a tick);
        a hot-loaded one goes on trial when ``rollback_loss`` is set."""
        if self._pending is None:
            return
        if self._pending is self._hot and self.model is not None and self.config.risk.rollback_loss:
            self._trial = (self.model, tick_ns, None)
        self.model, self._pending = self._pending, None
        self.metrics.reloads += 1
        self.metrics.switches.append((self.model.label, tick_ns))  # type: ignore[union-attr]
        logger.info("now trading with %s", self.model.label)

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
            source = self.source
            if current is None:
                continue
            try:
                if not await asyncio.to_thread(source.changed, current):
                    continue
                loaded = await asyncio.to_thread(source.load, current.contract)
            except Exception as exc:  # a corrupt file must never stop trading
                known = isinstance(exc, KalshiRLError)
                reason = str(exc) if known else f"{type(exc).__name__}: {exc}"
                if not known or reason != self.metrics.last_reload_error:
                    cannot = "" if known else "cannot load the new checkpoint: "
                    logger.warning("keeping %s: %s%s", current.label, cannot, reason)
                self.metrics.reload_refusals += 1
                self.metrics.last_reload_error = reason
                await asyncio.sleep(max(self.config.reload_poll_s, 1.0))
                continue
            if source is not self.source:
                continue  # a switch or a rollback changed what the actor follows meanwhile
            if loaded.mtime_ns != current.mtime_ns or loaded.record.id != current.record.id:
                self._pending = self._hot = loaded
                logger.info(
                    "loaded %s (checkpoint %s); switching at the next tick", loaded.label, loaded.checkpoint
                )
