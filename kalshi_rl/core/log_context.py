"""Correlation fields for log lines: who is logging (collector session, connection, market,
model, episode), carried by a context variable so every task started afterwards inherits it.

``bind`` adds fields to the current context (a task's copy: siblings are not affected);
``log_fields`` is what a formatter adds to a record (``cli/log_format.py`` writes them into each
JSON line). Lower layers only bind: how a line looks is decided at the edge.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

FIELDS = ("session_id", "conn_id", "market", "model", "episode_id")
"""The correlation fields, in the order a JSON line lists them."""

_fields: ContextVar[dict[str, Any] | None] = ContextVar("kalshi_rl_log_fields", default=None)


def bind(**fields: Any) -> None:
    """Add ``fields`` (None values are dropped) to this context's correlation fields."""
    current = dict(_fields.get() or {})
    current.update({k: str(v) for k, v in fields.items() if v is not None})
    _fields.set(current)


def log_fields() -> dict[str, Any]:
    """The correlation fields of the current context."""
    return dict(_fields.get() or {})
