"""A book subscriber that is cancelled stays cancelled, even when the book changes at that moment.

Python 3.11's ``asyncio.wait_for`` returns the inner result instead of raising when the task is
cancelled in the same loop iteration as the awaited event fires; a watcher built on it then
never ends, and whoever awaits it after cancelling (the paper client's ``close``, so the
actor's stop) hangs.
"""

from __future__ import annotations

import asyncio

import pytest

from kalshi_rl.data.book.shared_state import SharedOrderbookState


@pytest.mark.parametrize("timeout_s", [None, 10.0])
async def test_a_cancelled_wait_is_not_swallowed_when_the_book_changes_at_the_same_time(
    timeout_s: float | None,
) -> None:
    shared = SharedOrderbookState("KX-1")
    subscription = shared.subscribe()
    subscription.latest()
    waiting = asyncio.create_task(subscription.wait(timeout_s))
    await asyncio.sleep(0)  # now suspended on the book's event
    shared.touch()  # the event fires...
    waiting.cancel()  # ...and the task is cancelled before it could run again
    with pytest.raises(asyncio.CancelledError):
        await waiting
