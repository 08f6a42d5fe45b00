"""Every query value the OpenAPI document allows is accepted, and every value it rules out is
refused with 400 ``invalid_parameter`` (the document is built from the models the routes validate
with, so the two cannot disagree); the ML tab's types are generated from the same document."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ServeFactory

pytestmark = pytest.mark.slow


def allowed_values(schema: dict[str, Any]) -> list[str]:
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    if schema.get("type") == "integer":
        return [str(schema["minimum"]), str(schema["maximum"]), str(schema.get("default", schema["minimum"]))]
    if "pattern" in schema:  # model_ids: one reference, and the most it allows
        return ["ready-model", ",".join(f"m{i}" for i in range(20))]
    return ["x" * max(1, schema.get("minLength", 1))]


def refused_values(schema: dict[str, Any]) -> list[str]:
    if "enum" in schema:
        return ["", "bogus"]
    if schema.get("type") == "integer":
        return ["", "ten", "1.5", str(schema["minimum"] - 1), str(schema["maximum"] + 1)]
    if "pattern" in schema:
        return ["", "a,,b", " , ", ",".join(f"m{i}" for i in range(21))]
    return [""] if schema.get("minLength") else []


def test_every_query_value_the_document_allows_is_accepted_and_no_other(serve: ServeFactory) -> None:
    svc = serve(feed=False)
    doc = svc.get("/rl/openapi.json").json()
    checked = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                assert method == "get" and "{" not in path, (method, path)
                schema = parameter["schema"]
                assert schema.get("type") in ("string", "integer"), parameter
                declared = set(operation["responses"])
                for value in allowed_values(schema):
                    answer = svc.get(path, params={parameter["name"]: value})
                    assert answer.status_code != 400, (path, parameter["name"], value, answer.text)
                    assert str(answer.status_code) in declared, (path, parameter["name"], value)
                    checked += 1
                for value in refused_values(schema):
                    answer = svc.get(path, params={parameter["name"]: value})
                    assert answer.status_code == 400, (path, parameter["name"], value, answer.text)
                    assert answer.json()["error"]["code"] == "invalid_parameter"
                    checked += 1
    assert checked > 30


def test_path_parameters_declare_their_format(serve: ServeFactory) -> None:
    svc = serve(feed=False)
    doc = svc.get("/rl/openapi.json").json()
    episode = doc["paths"]["/rl/episodes/{episode_id}"]["get"]["parameters"][0]
    assert episode["schema"] == {"type": "string", "format": "uuid"}
    refused = svc.get("/rl/episodes/not-a-uuid")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_parameter"
    unknown = svc.get("/rl/episodes/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404


def test_a_model_update_the_document_allows_is_accepted_and_an_empty_one_is_ruled_out(
    serve: ServeFactory,
) -> None:
    svc = serve(feed=False)
    schema = svc.get("/rl/openapi.json").json()["components"]["schemas"]["ModelUpdate"]
    assert {tuple(branch["required"]) for branch in schema["anyOf"]} == {("status",), ("notes",)}
    model = {"name": "upd", "architecture": "PPO", "market_ticker": "KX-1", "checkpoint_path": "/nowhere"}
    row = svc.post("/rl/models", json=model).json()
    for body in ({"status": "ready"}, {"notes": "n"}, {"status": "stopped", "notes": None}):
        assert svc.put(f"/rl/models/{row['id']}", json=body).status_code == 200, body
    for body in ({}, {"status": None}, {"notes": None, "status": None}):
        refused = svc.put(f"/rl/models/{row['id']}", json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert "nothing to update" in refused.json()["error"]["message"]
