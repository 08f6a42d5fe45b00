"""Waiting for something to happen: the one polling helper of the suite (sync and async).

A timeout only bounds a hang; the tests assert on what happened, never on how long it took.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], what: str = "", timeout_s: float = 60.0, every_s: float = 0.05
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or predicate} did not happen within {timeout_s} s")
        time.sleep(every_s)


async def eventually(
    predicate: Callable[[], T], what: str = "", timeout_s: float = 60.0, every_s: float = 0.02
) -> T:
    """Like ``wait_until``, on the event loop (other tasks run while it waits)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or predicate} did not happen within {timeout_s} s")
        await asyncio.sleep(every_s)
