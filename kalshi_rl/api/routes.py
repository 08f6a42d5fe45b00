"""The HTTP routes of spec §4.6, all under /rl."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from kalshi_rl import __version__
from kalshi_rl.api import models as m
from kalshi_rl.api.access import bearer, origin_allowed, token_matches
from kalshi_rl.api.errors import ApiError, read_json, validation_message
from kalshi_rl.api.health import readiness
from kalshi_rl.api.service import RlService
from kalshi_rl.data.storage.schema import trading_actions
from kalshi_rl.trading.series_session import SeriesSession

B = TypeVar("B", bound=BaseModel)
Handler = Callable[[Request], Awaitable[JSONResponse]]


def service_of(request: Request) -> RlService:
    service: RlService = request.app.state.service
    return service


def check_access(request: Request) -> None:
    """Refuse a mutation without the configured token (401) or from a foreign browser page (403)."""
    config = service_of(request).config
    if not token_matches(config.api_token, bearer(request.headers)):
        raise ApiError(401, "unauthorized", "this route needs 'Authorization: Bearer <RL_API_TOKEN>'")
    if not origin_allowed(config.cors_origins, request.headers):
        raise ApiError(
            403,
            "origin_not_allowed",
            f"the browser origin {request.headers['origin']!r} is not allowed (set RL_CORS_ORIGINS)",
        )


def mutating(handler: Handler) -> Handler:
    async def guarded(request: Request) -> JSONResponse:
        check_access(request)
        return await handler(request)

    guarded.__doc__ = handler.__doc__
    guarded.__name__ = handler.__name__
    return guarded


async def parse(request: Request, model: type[B]) -> B:
    data = await read_json(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_body", validation_message(exc)) from None


def ok(body: BaseModel | dict[str, Any], status: int = 200) -> JSONResponse:
    content = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return JSONResponse(content, status_code=status)


def query(request: Request, model: type[B]) -> B:
    """The query parameters validated by ``model`` (the one the OpenAPI document lists), or a 400."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ApiError(400, "invalid_parameter", validation_message(exc)) from None


# -- status and models --------------------------------------------------------------------------


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


async def list_models(request: Request) -> JSONResponse:
    """Models, newest first; filters: status, market, name, limit."""
    registry = service_of(request).require_registry()
    q = query(request, m.ModelQuery)
    records = await asyncio.to_thread(registry.list_models, q.status, q.market, q.name, q.limit)
    return ok(m.ModelList(models=[m.Model(**r.to_dict()) for r in records]))


async def get_model(request: Request) -> JSONResponse:
    """One model by id, NAME or NAME@VERSION (with its performance summary)."""
    registry = service_of(request).require_registry()
    record = await asyncio.to_thread(registry.get, request.path_params["model_id"])
    return ok(m.Model(**record.to_dict()))


@mutating
async def create_model(request: Request) -> JSONResponse:
    """Register a model (e.g. trained elsewhere); versions auto-increment per name."""
    body = await parse(request, m.ModelCreate)
    registry = service_of(request).require_registry()
    parent = None
    if body.parent_model_id is not None:
        parent = (await asyncio.to_thread(registry.get, body.parent_model_id)).id
    record = await asyncio.to_thread(
        registry.create,
        body.name,
        body.architecture,
        body.market_ticker,
        body.checkpoint_path,
        body.hyperparameters,
        body.training_config,
        parent,
        body.status,
        None,
        body.notes,
    )
    return ok(m.Model(**record.to_dict()), 201)


@mutating
async def update_model(request: Request) -> JSONResponse:
    """Change a model's status or notes."""
    body = await parse(request, m.ModelUpdate)
    values = body.model_dump(exclude_none=True)  # not empty: ModelUpdate refuses that
    registry = service_of(request).require_registry()
    record = await asyncio.to_thread(registry.get, request.path_params["model_id"])
    service = service_of(request)
    live = (
        service.session.actor.model
        if service.actor_running and service.session and service.session.actor
        else None
    )
    if live is not None and live.record.id == record.id and values.get("status") in ("archived", "failed"):
        raise ApiError(409, "model_in_use", f"{record.label} is trading; stop or switch the actor first")
    updated = await asyncio.to_thread(registry.update, record.id, **values)
    return ok(m.Model(**updated.to_dict()))


# -- episodes -----------------------------------------------------------------------------------


def episode_model(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "episode_id": str(row["episode_id"]),
        "model_id": str(row["model_id"]) if row["model_id"] else None,
    }


async def list_episodes(request: Request) -> JSONResponse:
    """Training and paper episodes, newest first; filters: model_id, mode, limit."""
    registry = service_of(request).require_registry()
    q = query(request, m.EpisodeQuery)
    rows = await asyncio.to_thread(registry.episodes, q.model_id, q.mode, q.limit)
    return ok(m.EpisodeList(episodes=[m.Episode(**episode_model(r)) for r in rows]))


async def get_episode(request: Request) -> JSONResponse:
    """One episode with its action count and latest actions."""
    service = service_of(request)
    try:
        episode_id = uuid.UUID(request.path_params["episode_id"])
    except ValueError:
        raise ApiError(400, "invalid_parameter", "episode id must be a UUID") from None
    registry = service.require_registry()
    engine = registry.engine

    def load() -> tuple[dict[str, Any] | None, int, list[dict[str, Any]]]:
        row = registry.episode(episode_id)  # its times UTC-aware (SQLite drops the zone)
        with engine.connect() as conn:
            count = (
                conn.execute(select(func.count()).where(trading_actions.c.episode_id == episode_id)).scalar()
                or 0
            )
            recent = conn.execute(
                select(trading_actions)
                .where(trading_actions.c.episode_id == episode_id)
                .order_by(trading_actions.c.id.desc())
                .limit(20)
            ).mappings()
            return row, int(count), [dict(r) for r in recent]

    row, count, recent = await asyncio.to_thread(load)
    if row is None:
        raise ApiError(404, "not_found", f"no episode {episode_id}")
    actions = [{**a, "episode_id": str(a["episode_id"])} for a in recent]
    return ok(m.EpisodeDetail(**episode_model(row), actions=count, recent_actions=actions))


# -- training -----------------------------------------------------------------------------------


def training_state(service: RlService) -> m.TrainingState:
    job = service.training
    if job is None:
        return m.TrainingState(running=False)
    record = job.record
    return m.TrainingState(
        running=not job.task.done(),
        model_id=str(job.model_id),
        model=record.label if record else job.name,
        status=record.status if record else ("training" if not job.task.done() else "failed"),
        progress=job.progress,
        error=job.error or (record.notes if record and record.status == "failed" else None),
    )


@mutating
async def start_training(request: Request) -> JSONResponse:
    """Start a training run in the background (one at a time); answers with its model id."""
    body = await parse(request, m.TrainingStart)
    service = service_of(request)
    await service.start_training(body)
    return ok(training_state(service), 202)


@mutating
async def stop_training(request: Request) -> JSONResponse:
    """Ask the running training to stop; it saves a checkpoint and records the stop."""
    service = service_of(request)
    await service.stop_training()
    return ok(training_state(service))


# -- actor --------------------------------------------------------------------------------------


def actor_state(service: RlService) -> m.ActorState:
    session = service.session
    if session is None:
        return m.ActorState(running=False)
    actor = session.actor  # a series' current (or last) market's
    series = session if isinstance(session, SeriesSession) else None
    model = actor.model if actor is not None and actor.model is not None else series.model if series else None
    if model is None:
        return m.ActorState(running=False)
    return m.ActorState(
        running=service.actor_running,
        model=model.label,
        model_id=str(model.record.id),
        market_ticker=session.market_ticker,
        series=series.config.series if series else None,
        waiting=series.waiting or None if series else None,
        metrics=actor_metrics(service),
    )


def actor_metrics(service: RlService) -> dict[str, Any] | None:
    session = service.session
    if session is None or (session.actor is None and not isinstance(session, SeriesSession)):
        return None
    return {**session.summary(), "error": service.actor_error}


@mutating
async def start_actor(request: Request) -> JSONResponse:
    """Start the paper actor on the feed with a ready model (mode 'paper'; 'live' is 501)."""
    body = await parse(request, m.ActorStart)
    service = service_of(request)
    await service.start_actor(body)
    return ok(actor_state(service), 201)


@mutating
async def stop_actor(request: Request) -> JSONResponse:
    """Stop the actor: flush its queues and close its episode."""
    service = service_of(request)
    await service.stop_actor()
    return ok(actor_state(service))


@mutating
async def resume_actor(request: Request) -> JSONResponse:
    """Trade again after a risk breaker tripped (breakers resume only by this command)."""
    service = service_of(request)
    resumed = service.resume_actor()
    return ok(m.RiskCommand(resumed=resumed, actor=actor_state(service)))


@mutating
async def flatten_actor(request: Request) -> JSONResponse:
    """Emergency stop: stop trading, cancel resting orders, sell the position back to zero."""
    service = service_of(request)
    done = await service.flatten_actor()
    return ok(m.RiskCommand(flatten=done, actor=actor_state(service)))


@mutating
async def switch_model(request: Request) -> JSONResponse:
    """Trade with another ready model from the next tick (same train/serve contract)."""
    body = await parse(request, m.SwitchModel)
    service = service_of(request)
    label = await service.switch_model(body.model_id)
    return ok(m.Switching(switching_to=label, actor=actor_state(service)))


@mutating
async def set_mode(request: Request) -> JSONResponse:
    """Set the trading mode: only 'paper'; 'live' answers 501."""
    body = await parse(request, m.SetMode)
    return ok(m.ModeState(mode=service_of(request).set_mode(body.mode)))


# -- metrics and comparison ---------------------------------------------------------------------


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


async def compare(request: Request) -> JSONResponse:
    """Models side by side: their evaluation metrics (``?model_ids=a,b``; default: ready models)."""
    registry = service_of(request).require_registry()
    raw = query(request, m.CompareQuery).model_ids
    if raw:
        refs = [r.strip() for r in raw.split(",") if r.strip()]
        if not refs or len(refs) > 20:
            raise ApiError(400, "invalid_parameter", "model_ids must list 1-20 models")
        records = [await asyncio.to_thread(registry.get, ref) for ref in refs]
    else:
        records = await asyncio.to_thread(registry.list_models, "ready", None, None, 20)
    rows = []
    for r in records:
        summary = r.performance_summary or {}
        results = summary.get("results") or []
        own = results[0] if results else None
        rows.append(
            {
                "model": r.label,
                "model_id": str(r.id),
                "status": r.status,
                "market_ticker": r.market_ticker,
                "evaluated": own is not None,
                "metrics": own,
                "baselines": results[1:],
                "window": summary.get("window"),
            }
        )
    return ok(m.Comparison(models=rows))
