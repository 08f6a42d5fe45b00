"""Liveness and readiness: what an orchestrator or a load balancer asks a running process.

Liveness (``GET /rl/health``) only says the process answers. Readiness (``GET /rl/ready``) says
whether it is doing its job, as a list of named checks, each with the reason it fails:

* ``database``: a ``SELECT 1`` on the registry database answers within ``db_timeout_s``;
* ``feed``: the WebSocket is connected and a frame arrived within ``max_feed_silence_s``
  (an exchange that stalls or a dead connection reads as not ready);
* ``books``: no followed book is stale (waiting for a snapshot after a gap or a reconnect);
* ``sinks``: every sink's last write succeeded;
* ``backlog``: the write queue and every sink's backlog stay under ``max_backlog_rows``.

A check never raises: a failing dependency is a reason in the answer (HTTP 503), not a 500.
``collect`` and ``paper`` serve the same checks on ``--metrics-port`` (``metrics_server``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine

from kalshi_rl.data.ingest.collector import Collector
from kalshi_rl.data.storage.database import check_connection

MAX_LISTED = 5
"""Markets named in one reason (a series may follow hundreds)."""


@dataclass(frozen=True)
class ReadinessLimits:
    """The bounds readiness checks against (``RL_READY_*`` settings)."""

    max_feed_silence_s: float = 60.0
    max_backlog_rows: int = 1_000_000
    db_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_feed_silence_s <= 0 or self.db_timeout_s <= 0 or self.max_backlog_rows <= 0:
            raise ValueError("readiness limits must be > 0")


CheckName = Literal["database", "feed", "books", "sinks", "backlog"]


@dataclass(frozen=True)
class Check:
    name: CheckName
    ok: bool
    reason: str = ""


async def check_database(engine: Engine | None, timeout_s: float) -> Check:
    if engine is None:
        return Check("database", False, "no database opened yet (starting)")
    try:
        await asyncio.wait_for(asyncio.to_thread(check_connection, engine), timeout_s)
    except TimeoutError:
        return Check("database", False, f"no answer within {timeout_s:g} s")
    except Exception as exc:  # any failure is a reason, never an error of the route
        return Check("database", False, f"{type(exc).__name__}: {exc}")
    return Check("database", True)


def named(markets: list[str]) -> str:
    more = f" and {len(markets) - MAX_LISTED} more" if len(markets) > MAX_LISTED else ""
    return ", ".join(sorted(markets)[:MAX_LISTED]) + more


def feed_checks(feed: Collector, limits: ReadinessLimits, now_ns: int | None = None) -> list[Check]:
    """The feed, books, sinks and backlog checks of a running ``Collector``."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    checks = []
    ws = feed.ws
    if ws is None or not ws.connected.is_set():
        error = ws.stats.last_error if ws is not None else ""
        checks.append(Check("feed", False, "not connected" + (f" ({error})" if error else "")))
    else:
        last = ws.stream.last_recv_ns or feed.started_ns
        silence_s = (now_ns - last) / 1e9
        if silence_s > limits.max_feed_silence_s:
            checks.append(
                Check("feed", False, f"no frame for {silence_s:.1f} s (> {limits.max_feed_silence_s:g} s)")
            )
        else:
            checks.append(Check("feed", True))
    stale = [ticker for ticker, shared in feed.books.items() if shared.state.stale]
    checks.append(Check("books", not stale, f"stale: {named(stale)}" if stale else ""))
    sick = [f"{s.name} ({s.stats.last_error or 'failing'})" for s in feed.sinks if not s.stats.healthy]
    checks.append(Check("sinks", not sick, f"unhealthy: {', '.join(sick)}" if sick else ""))
    backlogs = {s.name: s.stats.backlog_rows for s in feed.sinks}
    if feed.queue is not None:
        backlogs["queue"] = feed.queue.depth()
    over = [f"{name} {rows}" for name, rows in backlogs.items() if rows > limits.max_backlog_rows]
    checks.append(
        Check(
            "backlog",
            not over,
            f"rows waiting: {', '.join(over)} (> {limits.max_backlog_rows})" if over else "",
        )
    )
    return checks


async def readiness(
    engine: Engine | None, feed: Collector | None, limits: ReadinessLimits, database: bool = True
) -> list[Check]:
    """Every check (the feed's only when there is one; the database's unless ``database`` is
    False and there is no engine: ``collect`` without DATABASE_URL has none); never raises."""
    checks = [await check_database(engine, limits.db_timeout_s)] if database or engine else []
    if feed is not None:
        try:
            checks += feed_checks(feed, limits)
        except Exception as exc:  # a half-started feed: a reason, not a 500
            checks.append(Check("feed", False, f"{type(exc).__name__}: {exc}"))
    return checks
