"""``--metrics-port``: /metrics, /health and /ready for ``collect`` and ``paper``.

The same checks and metrics as ``serve`` (``health``, ``prometheus``), on a small server running
in the command's own event loop beside its feed, so what it reports is read from the live
objects. ``/rl/health`` and ``/rl/ready`` answer too, so one probe fits every command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kalshi_rl import __version__
from kalshi_rl.api.health import ReadinessLimits, readiness
from kalshi_rl.api.prometheus import MetricsSource, metrics_endpoint, registry_for
from kalshi_rl.data.storage.database import create_db_engine, parse_database_url

logger = logging.getLogger(__name__)


def ops_app(source: MetricsSource, engine: Engine | None, limits: ReadinessLimits) -> Starlette:
    """The app: /metrics from ``source``; /ready checks ``engine`` (if any) and the feed."""

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "service": "kalshi-rl", "version": __version__, "pid": os.getpid()}
        )

    async def ready(_request: Request) -> JSONResponse:
        checks = await readiness(engine, source.feed(), limits, database=False)
        ok = all(c.ok for c in checks)
        body = {
            "ready": ok,
            "reasons": [f"{c.name}: {c.reason}" for c in checks if not c.ok],
            "checks": [{"name": c.name, "ok": c.ok, "reason": c.reason} for c in checks],
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    metrics = metrics_endpoint(registry_for(source))
    return Starlette(
        routes=[
            Route("/metrics", metrics, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/rl/health", health, methods=["GET"]),
            Route("/rl/ready", ready, methods=["GET"]),
        ]
    )


@contextlib.asynccontextmanager
async def metrics_server(
    port: int | None,
    source: MetricsSource,
    database_url: str | None,
    limits: ReadinessLimits | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[int | None]:
    """Serve ``ops_app`` on ``host:port`` while the block runs (nothing when ``port`` is None);
    yield the bound port (``0`` picks a free one)."""
    if port is None:
        yield None
        return
    engine = create_db_engine(parse_database_url(database_url)) if database_url else None
    server = uvicorn.Server(
        uvicorn.Config(
            ops_app(source, engine, limits or ReadinessLimits()),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    # ``_serve``, not ``serve``: ``serve`` replaces the process's SIGINT/SIGTERM handlers with its
    # own for as long as it runs, and the command's (stop and flush) must stay in charge.
    task = asyncio.create_task(server._serve(), name="metrics-server")
    while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn has no "started" event)
        await asyncio.sleep(0.02)
    if task.done():
        task.result()  # raises why it could not bind
        raise OSError(f"the metrics server did not start on {host}:{port}")
    bound = server.servers[0].sockets[0].getsockname()[1]
    logger.info("metrics, health and readiness on http://%s:%d/metrics", host, bound)
    try:
        yield bound
    finally:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        if engine is not None:
            engine.dispose()
