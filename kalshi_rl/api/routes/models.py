"""The model registry's routes: list, read, register, update, compare."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from kalshi_rl.api import models as m
from kalshi_rl.api.errors import ApiError
from kalshi_rl.api.routes.common import mutating, ok, parse, query, service_of


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
