"""``create_app``: the Starlette application of ``kalshi-rl serve`` (everything under /rl)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from kalshi_rl.api import websocket
from kalshi_rl.api.access import redact_tokens_in_server_logs
from kalshi_rl.api.errors import (
    SITE_ROUTE,
    ApiError,
    handle_api_error,
    handle_domain_error,
    handle_http_error,
    handle_unexpected,
    handle_validation_error,
)
from kalshi_rl.api.openapi import openapi_document
from kalshi_rl.api.prometheus import MetricsSource, metrics_endpoint, registry_for
from kalshi_rl.api.routes import actor, episodes, models, status, training
from kalshi_rl.api.service import RlService, ServiceConfig
from kalshi_rl.api.static_site import make_site
from kalshi_rl.core.errors import KalshiRLError

logger = logging.getLogger(__name__)


async def openapi(_request: Request) -> JSONResponse:
    return JSONResponse(openapi_document())


def service_metrics(service: RlService) -> MetricsSource:
    """What ``/metrics`` reads: the feed, the actor's session, the training's latest progress."""

    def progress() -> dict[str, Any] | None:
        job = service.training
        if job is None or job.task.done() or job.progress is None:
            return None
        return job.progress.model_dump()

    return MetricsSource(feed=lambda: service.feed, session=lambda: service.session, training=progress)


def create_app(config: ServiceConfig, service: RlService | None = None) -> Starlette:
    """Build the app; the service (feed, registry) starts and stops with it (lifespan)."""
    service = service or RlService(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redact_tokens_in_server_logs()  # after the server configured its logging
        app.state.service = service
        app.state.loop_started = asyncio.get_running_loop().time()
        await service.startup()
        try:
            yield
        finally:
            await service.shutdown()

    http = [
        Route("/rl/health", status.health, methods=["GET"]),
        Route("/rl/ready", status.ready, methods=["GET"]),
        Route("/rl/status", status.status, methods=["GET"]),
        Route("/rl/models", models.list_models, methods=["GET"]),
        Route("/rl/models", models.create_model, methods=["POST"]),
        Route("/rl/models/{model_id}", models.get_model, methods=["GET"]),
        Route("/rl/models/{model_id}", models.update_model, methods=["PUT"]),
        Route("/rl/episodes", episodes.list_episodes, methods=["GET"]),
        Route("/rl/episodes/{episode_id}", episodes.get_episode, methods=["GET"]),
        Route("/rl/training/start", training.start_training, methods=["POST"]),
        Route("/rl/training/stop", training.stop_training, methods=["POST"]),
        Route("/rl/actor/start", actor.start_actor, methods=["POST"]),
        Route("/rl/actor/stop", actor.stop_actor, methods=["POST"]),
        Route("/rl/actor/switch-model", actor.switch_model, methods=["POST"]),
        Route("/rl/actor/resume", actor.resume_actor, methods=["POST"]),
        Route("/rl/actor/flatten", actor.flatten_actor, methods=["POST"]),
        Route("/rl/actor/set-mode", actor.set_mode, methods=["POST"]),
        Route("/rl/metrics", status.metrics, methods=["GET"]),
        Route("/rl/compare", models.compare, methods=["GET"]),
        Route("/rl/openapi.json", openapi, methods=["GET"]),
    ]
    streams = [
        WebSocketRoute("/rl/ws/orderbook", websocket.orderbook_stream),
        WebSocketRoute("/rl/ws/actions", websocket.actions_stream),
        WebSocketRoute("/rl/ws/training", websocket.training_stream),
    ]
    metrics = Route("/metrics", metrics_endpoint(registry_for(service_metrics(service))), methods=["GET"])
    # Last, so every /rl route (and its 405 for a wrong method) wins over the page.
    site = Route("/{path:path}", make_site(), methods=["GET", "HEAD"], name=SITE_ROUTE)
    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST", "PUT"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    return Starlette(
        routes=[*http, *streams, metrics, site],
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            ApiError: handle_api_error,
            KalshiRLError: handle_domain_error,
            HTTPException: handle_http_error,
            ValidationError: handle_validation_error,
            Exception: handle_unexpected,
        },
    )
