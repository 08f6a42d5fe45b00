"""``wait_event``: a wait with a timeout that never swallows a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from kalshi_rl.core.aio import wait_event


@pytest.mark.parametrize("timeout_s", [None, 10.0])
async def test_a_cancel_that_arrives_as_the_event_fires_is_not_swallowed(timeout_s: float | None) -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_event(event, timeout_s))
    await asyncio.sleep(0)  # suspended on the event
    event.set()  # the event fires...
    waiting.cancel()  # ...and the task is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_it_says_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 10.0) is True
    assert await wait_event(event, 0) is True  # already set: no wait at all
