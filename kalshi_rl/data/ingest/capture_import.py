"""Import a recorded capture into the lake through the live path.

Frames go through exactly what a live collection runs -- ``KalshiWsClient.feed`` (parse once,
seq per sid) -> ``OrderbookClient`` -> one ``SharedOrderbookState`` per market ->
``OrderbookWriteQueue`` -> the lake -- so an imported capture can be trained on, and the parity
test can compare the live path with the replay path on real data. ``on_frame`` lets a caller
look at the shared books just before each frame is applied (the parity test samples them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.orderbook_client import MarketStats, OrderbookClient
from kalshi_rl.data.ingest.sinks import LakeSink
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue, WriteQueueConfig
from kalshi_rl.data.lake.writer import LakeWriter
from kalshi_rl.kalshi.captures import (
    BOOK_SID,
    LIFECYCLE_SID,
    TRADE_SID,
    CaptureFrame,
    read_capture,
    read_market_info,
)
from kalshi_rl.kalshi.ws_client import LIFECYCLE, ORDERBOOK, KalshiWsClient, WsConfig

SUBSCRIPTIONS = {ORDERBOOK: BOOK_SID, "trade": TRADE_SID, LIFECYCLE: LIFECYCLE_SID}


@dataclass(frozen=True)
class ImportSummary:
    market_ticker: str
    session_id: str
    frames: int
    connections: int
    stats: MarketStats


async def import_capture(
    path: Path,
    lake_dir: Path,
    *,
    connections: set[int] | None = None,
    contiguous_seq: bool = True,
    on_frame: Callable[[CaptureFrame, dict[str, SharedOrderbookState]], None] | None = None,
) -> ImportSummary:
    """Replay ``path`` through the live path into ``lake_dir``.

    ``connections`` keeps only those recorded connections. ``contiguous_seq`` (the default)
    renumbers each sid's seq within a connection, see ``read_capture``: a one-market capture of
    a multi-market subscription would otherwise break the book at every other market's message.
    ``on_frame(frame, books)`` is called just before each frame is fed.
    """
    info = read_market_info(path)
    session = f"import-{time.strftime('%Y%m%dT%H%M%S')}-{path.stem[:40]}"
    books = {info.ticker: SharedOrderbookState(info.ticker)}
    queue = OrderbookWriteQueue(
        [LakeSink(LakeWriter(lake_dir, session))], WriteQueueConfig(batch_size=10_000)
    )
    feed = OrderbookClient(books, queue, session, time.time_ns() // 1_000_000)
    client = KalshiWsClient(WsConfig(url=f"capture:{path.name}", market_tickers=(info.ticker,)), feed)
    current = None
    opened = 0
    for frame in read_capture(
        path, contiguous_seq=contiguous_seq, monotonic_recv=True, connections=connections
    ):
        if frame.conn != current:
            client.replay_connection(SUBSCRIPTIONS)
            if current is None:
                feed.record_market_info(info)
            current, opened = frame.conn, opened + 1
        if on_frame is not None:
            on_frame(frame, books)
        client.feed(frame.raw, frame.recv_ns)
    if current is not None:
        client.end_replay()
    await queue.close()
    return ImportSummary(info.ticker, session, feed.frames, opened, feed.stats[info.ticker])
