"""Fan-out of stream messages to WebSocket clients, never blocking the producer.

Each subscriber has a bounded queue; when it is full the oldest message is dropped (a slow
client gets the recent stream, and memory stays bounded). Producers in other threads (the
trainer) publish through ``publish_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


class Hub:
    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self.dropped = 0
        self.last: dict[str, Any] | None = None
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.maxsize)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.discard(queue)

    def publish(self, message: dict[str, Any]) -> None:
        self.last = message
        for queue in self._queues:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(message)

    def publish_threadsafe(self, message: dict[str, Any]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.publish, message)

    @property
    def subscribers(self) -> int:
        return len(self._queues)
