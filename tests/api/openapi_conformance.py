"""Check a response body against what the OpenAPI document declares for it.

The document is built from pydantic models with a small part of JSON Schema (``$ref``,
``anyOf``, ``oneOf``, ``enum``, ``const``, ``type``, ``properties``/``required``, ``items``,
``prefixItems``, ``minItems``/``maxItems``, ``additionalProperties``, ``pattern``,
``minimum``/``maximum``, ``format: date-time``), so that part is checked here, directly on the
document's JSON: a response (or a stream message) that the models would let through but the
document rules out, or one built as a plain dict beside the models, is caught too.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
PATH_PARAMETER = re.compile(r"\{[^/]+\}")
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
"""JSON Schema's ``date-time``: RFC 3339, so a time and a zone are required (Python's
``fromisoformat`` alone would also take a bare date or a naive time)."""


def violations(value: Any, schema: dict[str, Any], doc: dict[str, Any], where: str = "$") -> list[str]:
    """Each way ``value`` breaks ``schema`` (empty: it conforms)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return violations(value, doc["components"]["schemas"][name], doc, where)
    problems: list[str] = []
    if "anyOf" in schema:
        branches = [violations(value, branch, doc, where) for branch in schema["anyOf"]]
        if all(branches):
            problems.append(f"{where}: {value!r} matches no branch ({'; '.join(b[0] for b in branches)})")
    if "oneOf" in schema:
        matched = [b for b in schema["oneOf"] if not violations(value, b, doc, where)]
        if len(matched) != 1:
            first = [violations(value, b, doc, where)[:1] for b in schema["oneOf"]]
            problems.append(
                f"{where}: {value!r} matches {len(matched)} of the oneOf branches, not 1 "
                f"({'; '.join(p[0] for p in first if p)})"
            )
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    kind = schema.get("type")
    # (a JSON boolean is not an integer or a number)
    if kind is not None and (
        not isinstance(value, JSON_TYPES[kind]) or (isinstance(value, bool) and kind != "boolean")
    ):
        return [*problems, f"{where}: {value!r} is not of type {kind}"]
    if schema.get("format") == "date-time" and isinstance(value, str):
        try:
            datetime.fromisoformat(value)
            if not RFC3339.fullmatch(value):
                raise ValueError(value)
        except ValueError:
            problems.append(f"{where}: {value!r} is not a date-time")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: {value!r} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where}: {value!r} is above {schema['maximum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        problems += [f"{where}: lacks {name!r}" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name in properties:
                problems += violations(item, properties[name], doc, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: {name!r} is not declared")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += violations(item, schema["additionalProperties"], doc, f"{where}.{name}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            problems.append(
                f"{where}: {len(value)} items, not {schema.get('minItems')}-{schema.get('maxItems')}"
            )
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            if i < len(prefix):
                problems += violations(item, prefix[i], doc, f"{where}[{i}]")
            elif "items" in schema:
                problems += violations(item, schema["items"], doc, f"{where}[{i}]")
    return problems


def declared_schema(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The schema the document gives the ``status`` answer to ``method path`` (a concrete path,
    e.g. ``/rl/models/abc``, is matched against the document's templates)."""
    bare = path.split("?", 1)[0]
    for template, operations in doc["paths"].items():
        if re.fullmatch(PATH_PARAMETER.sub("[^/]+", template), bare) and method in operations:
            response = operations[method]["responses"].get(str(status))
            assert response is not None, f"{method.upper()} {template} does not declare {status}"
            schema: dict[str, Any] = response["content"]["application/json"]["schema"]
            return schema
    raise AssertionError(f"the document has no {method.upper()} {bare}")


def conformance(doc: dict[str, Any], method: str, path: str, status: int, body: Any) -> list[str]:
    """How the answer ``(status, body)`` to ``method path`` breaks the document (empty: it doesn't)."""
    return violations(body, declared_schema(doc, method, path, status), doc)


def stream_conformance(doc: dict[str, Any], path: str, message: Any) -> list[str]:
    """How ``message``, received on the WebSocket ``path``, breaks the document's ``x-streams``."""
    stream = doc["x-streams"].get(path.split("?", 1)[0])
    assert stream is not None, f"the document declares no stream {path}"
    return violations(message, stream["message"], doc)
