"""WebSocket streams: /rl/ws/orderbook, /rl/ws/actions, /rl/ws/training (spec §5.2).

No stream can slow its producer: the orderbook stream reads the shared book when the client is
ready (updates coalesce, at most ``max_hz`` per market), the others read bounded queues that drop
their oldest message. A client that does not take a message within ``send_timeout_s`` is
disconnected. When a token is configured, clients pass it as ``?token=`` or a Bearer header.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from kalshi_rl.api.access import bearer, origin_allowed, token_matches
from kalshi_rl.api.actor_sessions import feed_series
from kalshi_rl.api.stream_messages import (
    OrderbookData,
    OrderbookUpdate,
    StreamError,
    StreamErrorCode,
    StreamErrorData,
)
from kalshi_rl.core.units import format_count, format_price
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.trading.session import in_series

SEND_TIMEOUT_S = 5.0
SERIES_POLL_S = 0.25
"""How often a series stream looks for the feed's new markets of the series."""
MAX_HZ = 10.0
DEPTH = 10


async def _refuse(websocket: WebSocket, close_code: int, code: StreamErrorCode, message: str) -> None:
    await websocket.send_json(
        StreamError(type="error", data=StreamErrorData(code=code, message=message)).wire()
    )
    await websocket.close(code=close_code)


async def _open(websocket: WebSocket) -> bool:
    """Accept the connection; refuse it (an error message, then a 44xx close) without access."""
    await websocket.accept()
    config = websocket.app.state.service.config
    supplied = bearer(websocket.headers) or websocket.query_params.get("token")
    if not token_matches(config.api_token, supplied):
        await _refuse(websocket, 4401, "unauthorized", "token required")
        return False
    if not origin_allowed(config.cors_origins, websocket.headers):
        origin = websocket.headers["origin"]
        await _refuse(
            websocket,
            4403,
            "origin_not_allowed",
            f"the browser origin {origin!r} is not allowed (set RL_CORS_ORIGINS)",
        )
        return False
    return True


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the pump's cancellation.
    async with asyncio.timeout(SEND_TIMEOUT_S):
        await websocket.send_json(message)


def orderbook_message(state: OrderbookState) -> dict[str, Any]:
    """The spec's orderbook_update, with Kalshi's exact dollar and count strings (JSON types)."""

    def levels(pairs: list[tuple[int, int]]) -> list[tuple[str, str]]:
        return [(format_price(p), format_count(s)) for p, s in pairs]

    from kalshi_rl.core.events import Side

    spread_yes, spread_no = state.spread_yes, state.spread_no
    mid_yes, mid_no = state.mid_price_yes, state.mid_price_no
    return OrderbookUpdate(
        type="orderbook_update",
        data=OrderbookData(
            market_ticker=state.market_ticker,
            timestamp=state.last_update_ns // 1_000_000,
            yes_bids=levels(state.top_bids(Side.YES, DEPTH)),
            yes_asks=levels(state.top_asks(Side.YES, DEPTH)),
            no_bids=levels(state.top_bids(Side.NO, DEPTH)),
            no_asks=levels(state.top_asks(Side.NO, DEPTH)),
            spread_yes=format_price(spread_yes) if spread_yes is not None else None,
            spread_no=format_price(spread_no) if spread_no is not None else None,
            mid_yes=round(mid_yes / 10_000, 6) if mid_yes is not None else None,
            mid_no=round(mid_no / 10_000, 6) if mid_no is not None else None,
            stale=state.stale,
            sequence=state.last_sequence,
        ),
    ).wire()


async def _stream_book(websocket: WebSocket, shared: SharedOrderbookState) -> None:
    subscription = shared.subscribe()
    try:
        while True:
            await _send(websocket, orderbook_message(subscription.latest()))
            await asyncio.sleep(1 / MAX_HZ)
            await subscription.wait()
    finally:
        subscription.close()


async def _stream_series(websocket: WebSocket, feed: Any, series: str) -> None:
    """Every market of ``series`` in the feed, each new one joined as the feed adds it (a rolling
    series' next market), each released one left."""
    books: dict[str, SharedOrderbookState] = feed.books
    streams: dict[str, asyncio.Task[None]] = {}
    try:
        while True:
            series_of = feed.feed.series_tickers if feed.feed is not None else {}
            for ticker, shared in list(books.items()):
                mine = series_of[ticker] == series if ticker in series_of else in_series(ticker, series)
                if mine and ticker not in streams:
                    streams[ticker] = asyncio.ensure_future(_stream_book(websocket, shared))
            for ticker in [t for t in streams if t not in books]:
                streams.pop(ticker).cancel()
            for task in streams.values():
                if task.done():
                    task.result()  # a send that failed or timed out ends the stream
            await asyncio.sleep(SERIES_POLL_S)
    finally:
        for task in streams.values():
            task.cancel()
        await asyncio.gather(*streams.values(), return_exceptions=True)


async def orderbook_stream(websocket: WebSocket) -> None:
    """Live book updates of one market (``?market=``), of every market of a series as the feed
    follows it (``?series=``), or of every market of the feed (neither)."""
    if not await _open(websocket):
        return
    feed = websocket.app.state.service.feed
    market = websocket.query_params.get("market")
    series = websocket.query_params.get("series")
    books: dict[str, SharedOrderbookState] = feed.books if feed is not None else {}
    followed = feed_series(feed) if feed is not None else ()
    if not books and not followed:  # otherwise the client would wait, accepted, for nothing
        await _refuse(
            websocket,
            4409,
            "no_feed",
            "the service has no market feed (set RL_MARKET_TICKER, --market or --series)",
        )
        return
    if market is not None and market not in books:
        await _refuse(websocket, 4404, "unknown_market", f"{market} is not in the feed")
        return
    if series is not None:
        if series not in followed and not any(in_series(t, series) for t in books):
            await _refuse(websocket, 4404, "unknown_series", f"series {series} is not in the feed")
            return
        await _pump(websocket, [_stream_series(websocket, feed, series)])
        return
    chosen = [books[market]] if market else list(books.values())
    await _pump(websocket, [_stream_book(websocket, shared) for shared in chosen])


async def _stream_queue(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await _send(websocket, await queue.get())


async def actions_stream(websocket: WebSocket) -> None:
    """Every action the paper actor takes, as the spec's ``action`` message."""
    if not await _open(websocket):
        return
    hub = websocket.app.state.service.actions_hub
    queue = hub.subscribe()
    try:
        await _pump(websocket, [_stream_queue(websocket, queue)])
    finally:
        hub.unsubscribe(queue)


async def training_stream(websocket: WebSocket) -> None:
    """Training progress (the spec's ``training_progress``), about once a second while training."""
    if not await _open(websocket):
        return
    hub = websocket.app.state.service.training_hub
    queue = hub.subscribe()
    try:
        if hub.last is not None:
            queue.put_nowait(hub.last)
        await _pump(websocket, [_stream_queue(websocket, queue)])
    finally:
        hub.unsubscribe(queue)


async def _pump(websocket: WebSocket, senders: list[Any]) -> None:
    """Run the senders until the client leaves, is too slow, or a sender fails."""
    tasks = [asyncio.ensure_future(s) for s in senders]
    tasks.append(asyncio.ensure_future(_until_closed(websocket)))
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await websocket.close()


async def _until_closed(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()  # clients send nothing we need; this notices them leave
