"""``--metrics-port`` of ``collect`` and ``paper``: the options' values and the server they start."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from kalshi_rl.api.health import ReadinessLimits
from kalshi_rl.api.prometheus import MetricsSource
from kalshi_rl.config import Settings


def ready_limits(settings: Settings) -> ReadinessLimits:
    return ReadinessLimits(
        max_feed_silence_s=settings.rl_ready_max_feed_silence_s,
        max_backlog_rows=settings.rl_ready_max_backlog_rows,
    )


@dataclass(frozen=True)
class OpsServer:
    """Where /metrics, /health and /ready are served (``port`` None: nowhere)."""

    port: int | None
    host: str
    database_url: str | None
    limits: ReadinessLimits

    def serving(self, source: MetricsSource) -> AbstractAsyncContextManager[int | None]:
        from kalshi_rl.api.metrics_server import metrics_server

        return metrics_server(self.port, source, self.database_url, self.limits, self.host)
