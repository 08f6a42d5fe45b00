"""The ordered queue of frames for one connection and the task that writes it to the socket.

Everything for a connection (command replies and data) goes through one outbox, so
``subscribed`` always precedes the snapshots that follow it and a stall delays both. The
writer frames a whole batch itself and hands it to the socket in one write, inside
websockets' ``send_context`` (which checks that the connection is open and applies flow
control); ``ws.send`` per frame would cost a system call and a frame object per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from kalshi_rl.sim.faults import AFTER_DROP, AFTER_STALL
from kalshi_rl.sim.ledger import LedgerEntry, SimCounters

logger = logging.getLogger(__name__)

BATCH_FRAMES = 256
HIGH_WATER_FRAMES = 4_096
"""Above this many queued frames the generator waits for the connection (backpressure)."""

Outgoing = tuple[str | None, LedgerEntry | None, int]
"""``(frame or None, its ledger entry, AFTER_* actions to take once it is written)``."""


class Outbox:
    """Frames waiting for one connection; ``run`` writes them until the connection ends."""

    def __init__(self, conn: int, ws: ServerConnection, counters: SimCounters, stall_seconds: float) -> None:
        self.conn = conn
        self.ws = ws
        self.counters = counters
        self.stall_seconds = stall_seconds
        self.items: deque[Outgoing] = deque()
        self.drained = asyncio.Event()
        """Set while the queue is short; the generator waits on it (backpressure)."""
        self.drained.set()
        self.stalled = False
        self._wake = asyncio.Event()
        self._idle = True

    def __len__(self) -> int:
        return len(self.items)

    @property
    def flushed(self) -> bool:
        """Return whether everything queued has been written and the writer is waiting."""
        return not self.items and self._idle

    def put(self, frame: str | None, entry: LedgerEntry | None, after: int = 0) -> int:
        """Queue one frame (``None``: only the ``after`` actions); return the queue length."""
        items = self.items
        items.append((frame, entry, after))
        if self._idle:
            self._wake.set()
        size = len(items)
        if size > HIGH_WATER_FRAMES:
            self.drained.clear()
        return size

    def clear(self) -> None:
        """Forget every queued frame (their ledger entries stay unsent)."""
        self.items.clear()

    async def run(self) -> None:
        """Write the queue to the socket until the connection ends."""
        with contextlib.suppress(ConnectionClosed):
            await self._write_loop()

    async def _write_loop(self) -> None:
        ws = self.ws
        items = self.items
        counters = self.counters
        while True:
            if not items:
                self.drained.set()
                self._idle = True
                self._wake.clear()
                await self._wake.wait()
                self._idle = False
                continue
            frames: list[str] = []
            entries: list[LedgerEntry | None] = []
            after = 0
            while items and len(frames) < BATCH_FRAMES:
                frame, entry, after = items.popleft()
                if frame is not None:
                    frames.append(frame)
                    entries.append(entry)
                if after:
                    break
            if frames:
                async with ws.send_context():
                    ws.transport.write(b"".join([ws_text_frame(f.encode()) for f in frames]))
                for entry in entries:
                    if entry is not None:
                        entry.sent = True
                counters.messages_sent += len(frames)
            if after & AFTER_DROP:
                await self._abort()
                return
            if after & AFTER_STALL:
                counters.stalls += 1
                self.stalled = True
                await asyncio.sleep(self.stall_seconds)
                self.stalled = False
            if len(items) <= HIGH_WATER_FRAMES // 2:
                self.drained.set()
            await asyncio.sleep(0)

    async def _abort(self) -> None:
        """Flush what was written, then drop TCP without a WebSocket close handshake."""
        transport = self.ws.transport
        deadline = time.monotonic() + 1.0
        # asyncio offers no "buffer empty" event; poll briefly so the N-th frame is really out.
        while transport.get_write_buffer_size() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        self.counters.drops += 1
        logger.info("connection %d: dropping (fault injection)", self.conn)
        transport.abort()


def ws_text_frame(payload: bytes) -> bytes:
    """Return one unmasked, unfragmented, uncompressed WebSocket text frame (RFC 6455 §5.2).

    Server frames are never masked, and permessage-deflate allows uncompressed messages, so
    this is valid whatever was negotiated; it is ~7x cheaper than going through
    ``protocol.send_text`` and lets a batch leave in one ``transport.write``.
    """
    size = len(payload)
    if size < 126:
        return b"\x81" + bytes((size,)) + payload
    if size < 65_536:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload
