"""What every /rl route shares: the service, the access check of a mutation, the body and query
parsed by their pydantic models, the JSON answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from kalshi_rl.api.access import bearer, origin_allowed, token_matches
from kalshi_rl.api.errors import ApiError, read_json, validation_message
from kalshi_rl.api.service import RlService

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
