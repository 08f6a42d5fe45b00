"""What ``redact`` hides and what a JSON line carries (the whole-command greps are in
tests/e2e/test_json_logs.py)."""

from __future__ import annotations

import asyncio
import json
import logging

from kalshi_rl.cli.log_format import JsonFormatter, RedactingFilter, redact, register_secret
from kalshi_rl.core.log_context import bind


def test_redact_hides_headers_tokens_keys_and_registered_secrets() -> None:
    register_secret("hunter2-registered")
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----"
    text = (
        "> KALSHI-ACCESS-SIGNATURE: c2lnbmF0dXJl== | {'Authorization': 'Bearer abc.def'} | "
        f"GET /rl/ws/actions?token=t0k&x=1 | {pem} | url with hunter2-registered"
    )
    out = redact(text)
    for secret in ("c2lnbmF0dXJl", "abc.def", "t0k", "MIIEvQIBADANBgkq", "hunter2-registered"):
        assert secret not in out, out
    assert out.count("<redacted>") == 5 and "x=1" in out


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("kalshi_rl.test", logging.INFO, __file__, 1, message, args, None)


def test_a_json_line_carries_the_fields_bound_in_its_task_only() -> None:
    formatter = JsonFormatter()

    async def in_a_session() -> dict[str, str]:
        bind(session_id="s-1", conn_id=2, market="KX-A", model="m@3", episode_id=None)
        return json.loads(formatter.format(record("got %s", "Authorization: Bearer zzz9")))

    line = asyncio.run(in_a_session())
    assert line["message"] == "got Authorization: Bearer <redacted>"
    assert {k: line[k] for k in ("session_id", "conn_id", "market", "model")} == {
        "session_id": "s-1",
        "conn_id": "2",
        "market": "KX-A",
        "model": "m@3",
    }
    assert "episode_id" not in line and line["level"] == "info" and line["logger"] == "kalshi_rl.test"
    assert "session_id" not in json.loads(formatter.format(record("outside")))  # not this task's


def test_text_lines_are_redacted_too() -> None:
    rec = record("sent %s", "KALSHI-ACCESS-SIGNATURE=abcdef")
    assert RedactingFilter().filter(rec) and rec.getMessage() == "sent KALSHI-ACCESS-SIGNATURE=<redacted>"
