"""The OpenAPI 3.1 document of the /rl/* API, built from the routes table and pydantic models.

OpenAPI has no WebSockets: the streams' messages are components like the bodies, and the
document's ``x-streams`` names, for each ``/rl/ws/*`` path, the union of the messages it sends.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from kalshi_rl import __version__
from kalshi_rl.api import models as m
from kalshi_rl.api.stream_messages import STREAMS

ERRORS = {
    "400": "Bad input (malformed JSON, invalid value)",
    "401": "A token is configured and the request lacks it",
    "404": "Unknown model, episode or market",
    "409": "Conflicts with the current state (already running, not running, not ready)",
    "422": "The body does not match the schema",
    "503": "Not ready, or still starting",
    "501": "Live trading is not available",
}

# (method, path, summary, request model, response model, status, query model, mutating)
OPERATIONS: list[
    tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, int, type[BaseModel] | None, bool]
] = [
    ("get", "/rl/health", "Liveness: the process answers", None, m.Liveness, 200, None, False),
    (
        "get",
        "/rl/ready",
        "Readiness: database, feed, books, sinks, backlog (503 with reasons when not ready)",
        None,
        m.Readiness,
        200,
        None,
        False,
    ),
    ("get", "/rl/status", "Service health and status", None, m.ServiceStatus, 200, None, False),
    (
        "get",
        "/rl/models",
        "List models (filters: status, market, name, limit)",
        None,
        m.ModelList,
        200,
        m.ModelQuery,
        False,
    ),
    ("post", "/rl/models", "Register a model", m.ModelCreate, m.Model, 201, None, True),
    ("get", "/rl/models/{model_id}", "A model by id, NAME or NAME@VERSION", None, m.Model, 200, None, False),
    (
        "put",
        "/rl/models/{model_id}",
        "Update a model's status or notes",
        m.ModelUpdate,
        m.Model,
        200,
        None,
        True,
    ),
    (
        "get",
        "/rl/episodes",
        "List episodes (filters: model_id, mode, limit)",
        None,
        m.EpisodeList,
        200,
        m.EpisodeQuery,
        False,
    ),
    (
        "get",
        "/rl/episodes/{episode_id}",
        "An episode with its latest actions",
        None,
        m.EpisodeDetail,
        200,
        None,
        False,
    ),
    (
        "post",
        "/rl/training/start",
        "Start a training run in the background",
        m.TrainingStart,
        m.TrainingState,
        202,
        None,
        True,
    ),
    (
        "post",
        "/rl/training/stop",
        "Stop the running training (it saves and records the stop)",
        None,
        m.TrainingState,
        200,
        None,
        True,
    ),
    (
        "post",
        "/rl/actor/start",
        "Start the paper actor with a ready model",
        m.ActorStart,
        m.ActorState,
        201,
        None,
        True,
    ),
    ("post", "/rl/actor/stop", "Stop the paper actor", None, m.ActorState, 200, None, True),
    (
        "post",
        "/rl/actor/resume",
        "Trade again after a risk breaker tripped (only this resumes one)",
        None,
        m.RiskCommand,
        200,
        None,
        True,
    ),
    (
        "post",
        "/rl/actor/flatten",
        "Emergency stop: hold, cancel resting orders, sell the position back to zero",
        None,
        m.RiskCommand,
        200,
        None,
        True,
    ),
    (
        "post",
        "/rl/actor/switch-model",
        "Hot-swap the actor's model (same contract)",
        m.SwitchModel,
        m.Switching,
        200,
        None,
        True,
    ),
    (
        "post",
        "/rl/actor/set-mode",
        "Set the mode: 'paper' only; 'live' answers 501",
        m.SetMode,
        m.ModeState,
        200,
        None,
        True,
    ),
    ("get", "/rl/metrics", "Actor, training and feed metrics", None, m.Metrics, 200, None, False),
    (
        "get",
        "/rl/compare",
        "Compare models' evaluation metrics (?model_ids=a,b)",
        None,
        m.Comparison,
        200,
        m.CompareQuery,
        False,
    ),
]


PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "model_id": {"type": "string", "minLength": 1, "description": "A model's id, NAME or NAME@VERSION"},
    "episode_id": {"type": "string", "format": "uuid"},
}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The query parameters of ``model`` (the one the route validates with), each with its own
    schema: a query value is absent or a value, never null, so ``X | None`` is listed as X."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if options:
            prop.update(options[0])
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            prop.pop("default")
        description = prop.pop("description", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def openapi_document() -> dict[str, Any]:
    models: set[type[BaseModel]] = {op[3] for op in OPERATIONS if op[3]} | {
        op[4] for op in OPERATIONS if op[4]
    }
    models |= {m.ErrorBody, *STREAMS.values()}
    _, schema = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, request, response, status, query, mutating in OPERATIONS:
        operation: dict[str, Any] = {"summary": summary, "responses": {}}
        parameters = query_parameters(query) if query is not None else []
        for segment in path.split("/"):
            if segment.startswith("{"):
                name = segment[1:-1]
                parameters.append(
                    {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
                )
        if parameters:
            operation["parameters"] = parameters
        if request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{request.__name__}"}}
                },
            }
        body = (
            {"schema": {"$ref": f"#/components/schemas/{response.__name__}"}}
            if response
            else {"schema": {"type": "object"}}
        )
        operation["responses"][str(status)] = {"description": "OK", "content": {"application/json": body}}
        for code, text in ERRORS.items():
            operation["responses"][code] = {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            }
        if mutating:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kalshi-rl service",
            "version": __version__,
            "description": "RL trading on Kalshi books: registry, training, paper actor. WebSockets: "
            + ", ".join(STREAMS)
            + " (x-streams: the messages each sends, JSON text frames).",
        },
        "paths": paths,
        "x-streams": {
            path: {
                "description": (union.__doc__ or "").strip(),
                "message": {"$ref": f"#/components/schemas/{union.__name__}"},
            }
            for path, union in STREAMS.items()
        },
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m kalshi_rl.api.openapi [PATH]``: write the document (the front end's types are
    generated from it at build time, so the UI and the API cannot drift)."""
    import json
    import sys

    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    if args:
        with open(args[0], "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
