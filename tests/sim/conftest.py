"""Shared helpers for the local-exchange tests: a started exchange and a bare WebSocket probe."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kalshi_rl.core.events import Side
from kalshi_rl.kalshi.encode import command
from kalshi_rl.sim.ledger import LedgerEntry

Book = dict[Side, dict[int, int]]


class Probe:
    """A bare WebSocket client: sends commands, reads frames as text or JSON."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 1
        self.texts: list[str] = []

    async def cmd(self, name: str, **params: Any) -> int:
        request_id = self.next_id
        self.next_id += 1
        await self.ws.send(command(request_id, name, **params))
        return request_id

    async def text(self, timeout: float = 5.0) -> str:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        text = raw if isinstance(raw, str) else raw.decode()
        self.texts.append(text)
        return text

    async def frame(self, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads(await self.text(timeout))

    async def frames(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        return [await self.frame(max(0.01, deadline - time.monotonic())) for _ in range(count)]

    async def until_quiet(self, quiet_s: float = 0.3) -> list[str]:
        """Read every frame until none arrives for ``quiet_s``."""
        texts = []
        while True:
            try:
                texts.append(await self.text(quiet_s))
            except TimeoutError:
                return texts


@pytest.fixture
async def open_probe() -> AsyncIterator[Callable[..., Awaitable[Probe]]]:
    """Connect probes to an exchange URL; close them all at the end."""
    probes: list[Probe] = []

    async def open_(url: str, **kwargs: Any) -> Probe:
        probe = Probe(await connect(url, compression=None, max_queue=None, **kwargs))
        probes.append(probe)
        return probe

    yield open_
    for probe in probes:
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await asyncio.wait_for(probe.ws.close(), 2)


def new_book() -> Book:
    return {Side.YES: {}, Side.NO: {}}


def apply_delta(book: Book, side: Side, price: int, delta: int) -> None:
    """Apply one delta; a negative level is a test failure, zero removes the level."""
    size = book[side].get(price, 0) + delta
    assert size >= 0, f"{side} level {price} went negative"
    if size == 0:
        book[side].pop(price, None)
    else:
        book[side][price] = size


def replay(entries: Iterable[LedgerEntry], generated: bool = False) -> dict[str, Book]:
    """Rebuild books from ledger entries: a snapshot resets its market, a delta changes it.

    By default only what was sent counts (the client's view); ``generated=True`` also counts
    what was generated but never sent (lost to a gap, or queued when the connection ended).
    """
    books: dict[str, Book] = {}
    for entry in entries:
        kind = entry.original_kind if entry.kind == "lost" else entry.kind
        if entry.market_ticker is None or not (entry.sent or generated):
            continue
        if kind == "snapshot":
            assert entry.yes_bids is not None
            assert entry.no_bids is not None
            books[entry.market_ticker] = {Side.YES: dict(entry.yes_bids), Side.NO: dict(entry.no_bids)}
        elif kind == "delta" and entry.market_ticker in books:
            assert entry.side is not None
            assert entry.price_ticks is not None
            assert entry.delta_units is not None
            apply_delta(books[entry.market_ticker], entry.side, entry.price_ticks, entry.delta_units)
    return books


def as_levels(book: Book) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return sorted(book[Side.YES].items()), sorted(book[Side.NO].items())
