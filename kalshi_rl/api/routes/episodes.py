"""Training and paper episodes: the list, and one with its latest actions."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from kalshi_rl.api import models as m
from kalshi_rl.api.errors import ApiError
from kalshi_rl.api.routes.common import ok, query, service_of
from kalshi_rl.data.storage.schema import trading_actions


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
