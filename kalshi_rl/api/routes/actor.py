"""The paper actor's routes: start, stop, switch model, the risk commands, the mode."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from kalshi_rl.api import models as m
from kalshi_rl.api.routes.common import mutating, ok, parse, service_of
from kalshi_rl.api.service import RlService
from kalshi_rl.trading.series_session import SeriesSession


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
