"""Liveness, readiness, the service's status and its metrics (feed, actor, training)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from kalshi_rl import __version__
from kalshi_rl.api import models as m
from kalshi_rl.api.health import readiness
from kalshi_rl.api.routes.actor import actor_metrics, actor_state
from kalshi_rl.api.routes.common import ok, service_of
from kalshi_rl.api.routes.training import training_state
from kalshi_rl.api.service import RlService


def uptime_s(request: Request) -> float:
    return round(asyncio.get_running_loop().time() - request.app.state.loop_started, 3)


async def health(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return ok(m.Liveness(service="kalshi-rl", version=__version__, uptime_s=uptime_s(request)))


async def ready(request: Request) -> JSONResponse:
    """Readiness with reasons; 503 when a check fails (never a 500)."""
    service = service_of(request)
    checks = await readiness(service.engine, service.feed, service.config.ready)
    body = m.Readiness(
        ready=all(c.ok for c in checks),
        reasons=[f"{c.name}: {c.reason}" for c in checks if not c.ok],
        checks=[m.ReadinessCheck(name=c.name, ok=c.ok, reason=c.reason) for c in checks],
    )
    return ok(body, 200 if body.ready else 503)


async def status(request: Request) -> JSONResponse:
    """Service health: database, feed, actor and training state."""
    service = service_of(request)
    return ok(
        m.ServiceStatus(
            service="kalshi-rl",
            version=__version__,
            uptime_s=uptime_s(request),
            database=service.database,
            feed=feed_state(service),
            actor=actor_state(service),
            training=training_state(service),
        )
    )


def feed_state(service: RlService) -> dict[str, Any]:
    feed = service.feed
    if feed is None:
        return {"markets": [], "running": False}
    books = {
        ticker: {
            "stale": shared.state.stale,
            "last_update_ns": shared.state.last_update_ns,
            "subscribers": shared.subscriber_count,
            **(vars(feed.feed.stats[ticker]) if feed.feed else {}),
        }
        for ticker, shared in feed.books.items()
    }
    sinks = {
        s.name: {
            "healthy": s.stats.healthy,
            "rows_written": s.stats.rows_written,
            "backlog_rows": s.stats.backlog_rows,
            "last_error": s.stats.last_error,
        }
        for s in feed.sinks
    }
    ws = feed.ws.stats if feed.ws else None
    return {
        "markets": list(feed.books),
        "running": True,
        "books": books,
        "sinks": sinks,
        "reconnects": ws.reconnects if ws else 0,
        "gaps": ws.gaps if ws else 0,
    }


async def metrics(request: Request) -> JSONResponse:
    """Actor, training and feed metrics."""
    service = service_of(request)
    training = training_state(service).model_dump(mode="json") if service.training else None
    return ok(m.Metrics(actor=actor_metrics(service), training=training, feed=feed_state(service)))
