"""The OpenAPI document names the closed sets of the API (statuses, modes, breakers, checks) as
enums on the response side too, so the ML tab's generated types carry them; and what the server
really answers, through a whole training and actor lifecycle, stays inside the document."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from kalshi_rl.api.openapi import openapi_document
from tests.api.conftest import Running, ServeFactory
from tests.api.openapi_conformance import conformance, violations
from tests.api.test_lifecycles import trained
from tests.support.waiting import wait_until

STATUSES = ["training", "ready", "failed", "stopped", "deployed", "archived"]
TRIPS = ["loss_episode", "loss_day", "stale_book", "refused_orders", "latency", "flatten", "stop", "rollback"]

# (schema, property) -> the values the document must list for it
ENUMS: dict[tuple[str, str], list[str]] = {
    ("Model", "status"): STATUSES,
    ("ModelCreate", "status"): STATUSES,
    ("ModelCreate", "architecture"): ["PPO", "A2C"],
    ("TrainingState", "status"): STATUSES,
    ("TrainingStart", "algo"): ["ppo", "a2c"],
    ("Episode", "mode"): ["training", "paper"],
    ("EpisodeDetail", "mode"): ["training", "paper"],
    ("ActorStart", "mode"): ["paper", "live"],
    ("SetMode", "mode"): ["paper", "live"],
    ("ActorState", "mode"): ["paper"],
    ("ModeState", "mode"): ["paper"],
    ("RiskCommand", "resumed"): TRIPS,
    ("ReadinessCheck", "name"): ["database", "feed", "books", "sinks", "backlog"],
    ("Liveness", "status"): ["ok"],
}


def closed_set(prop: dict[str, Any]) -> list[Any] | None:
    """The values a property may take (null aside), or None when it is open."""
    for branch in [prop, *prop.get("anyOf", [])]:
        if "enum" in branch:
            return list(branch["enum"])
        if "const" in branch:
            return [branch["const"]]
    return None


def test_the_document_lists_every_closed_set_as_an_enum() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for (schema, name), values in ENUMS.items():
        assert closed_set(schemas[schema]["properties"][name]) == values, (schema, name)


def test_every_answer_of_the_document_is_a_declared_schema() -> None:
    """No operation answers a bare ``{"type": "object"}`` (the generated types would be ``unknown``)."""
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                assert "$ref" in schema, (method, path, status, schema)


MODEL = {
    "id": "3f0c1f5e-0000-4000-8000-000000000000",
    "name": "m",
    "version": 1,
    "architecture": "PPO",
    "market_ticker": "KX-1",
    "parent_model_id": None,
    "checkpoint_path": "/x",
    "hyperparameters": {},
    "training_config": {},
    "training_episodes": 0,
    "training_timesteps": 0,
    "created_at": "2026-01-01T00:00:00+00:00",
    "updated_at": None,
    "performance_summary": None,
    "status": "ready",
    "notes": None,
}


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (lambda b: b["models"][0].update(status="bogus"), "'bogus' is not one of"),
        (lambda b: b["models"][0].update(status=None), "None is not of type string"),
        (lambda b: b["models"][0].update(version="1"), "'1' is not of type integer"),
        (lambda b: b["models"][0].pop("name"), "lacks 'name'"),
        (lambda b: b["models"][0].update(notes=3), "matches no branch"),
        (lambda b: b["models"][0].update(hyperparameters=[]), "is not of type object"),
        (lambda b: b["models"][0].update(created_at="2026-01-01T00:00:00"), "is not a date-time"),  # no zone
        (lambda b: b["models"][0].update(updated_at="2026-01-01"), "is not a date-time"),
    ],
)
def test_an_answer_outside_the_document_is_caught(change: Any, found: str) -> None:
    doc = openapi_document()
    body = {"models": [copy.deepcopy(MODEL)]}
    assert conformance(doc, "get", "/rl/models", 200, body) == []
    change(body)
    problems = conformance(doc, "get", "/rl/models", 200, body)
    assert any(found in p for p in problems), problems


def test_an_actor_mode_outside_its_const_is_caught() -> None:
    doc = openapi_document()
    actor = {"running": True, "mode": "live"}
    assert violations(actor, {"$ref": "#/components/schemas/ActorState"}, doc) == [
        "$.mode: 'live' is not 'paper'"
    ]


class Checked:
    """A served app whose every answer is checked against the document it serves."""

    def __init__(self, svc: Running) -> None:
        self.svc = svc
        self.doc = svc.get("/rl/openapi.json").json()

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        answer: httpx.Response = getattr(self.svc, method)(path, **kwargs)
        assert answer.status_code == expect, (method, path, answer.text)
        body = answer.json()
        problems = conformance(self.doc, method, path, answer.status_code, body)
        assert problems == [], (method, path, problems)
        return body


@pytest.mark.slow
def test_the_answers_of_a_whole_lifecycle_stay_inside_the_document(
    serve: ServeFactory, sim_lake: tuple[Path, list[str]]
) -> None:
    svc = serve(feed=True)
    api = Checked(svc)
    market = svc.config.markets[0]
    api.call("get", "/rl/health", 200)
    wait_until(lambda: svc.get("/rl/ready").status_code == 200, timeout_s=30)
    api.call("get", "/rl/ready", 200)
    api.call("get", "/rl/status", 200)
    first = trained(svc, sim_lake[1], "enums")
    second = trained(svc, sim_lake[1], "enums", timesteps=128)
    api.call("get", "/rl/status", 200)  # the finished training's state
    api.call("get", "/rl/models", 200)
    api.call("get", f"/rl/models/{first['id']}", 200)
    api.call("get", "/rl/episodes", 200, params={"mode": "training"})
    api.call("post", "/rl/actor/start", 201, json={"model_id": first["id"], "market_ticker": market})
    wait_until(lambda: (svc.get("/rl/metrics").json()["actor"] or {}).get("decisions", 0) > 0, timeout_s=30)
    api.call("post", "/rl/actor/set-mode", 200, json={"mode": "paper"})
    api.call("post", "/rl/actor/set-mode", 501, json={"mode": "live"})
    api.call("post", "/rl/actor/set-mode", 422, json={"mode": "sandbox"})
    api.call("post", "/rl/actor/switch-model", 200, json={"model_id": second["id"]})
    api.call("post", "/rl/actor/flatten", 200)
    resumed = api.call("post", "/rl/actor/resume", 200)
    assert resumed["resumed"] == "flatten"  # a breaker's kind, one of the document's
    api.call("get", "/rl/metrics", 200)
    api.call("get", "/rl/status", 200)  # the actor running
    api.call("post", "/rl/actor/stop", 200)
    papers = api.call("get", "/rl/episodes", 200, params={"mode": "paper"})["episodes"]
    api.call("get", f"/rl/episodes/{papers[0]['episode_id']}", 200)
    api.call("put", f"/rl/models/{first['id']}", 200, json={"status": "archived"})
    api.call("get", "/rl/compare", 200, params={"model_ids": f"{first['id']},{second['id']}"})
    api.call("get", "/rl/models/nobody@3", 404)
