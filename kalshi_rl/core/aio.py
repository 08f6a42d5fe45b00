"""Small asyncio helpers the whole package shares."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout_s: float | None) -> bool:
    """Wait until ``event`` is set or ``timeout_s`` passes; return whether it is set.

    Use this instead of ``asyncio.wait_for(event.wait(), t)``: on Python 3.11 ``wait_for``
    swallows a cancellation that arrives in the loop iteration where the event fires, so a
    cancelled task goes on running (a stop that awaits it then hangs). ``asyncio.timeout``
    always lets the cancellation through.
    """
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        pass
    return event.is_set()
