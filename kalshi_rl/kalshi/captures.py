"""Turn third-party capture files back into the WebSocket frames Kalshi sends today.

Why this exists: the only real production recordings we have (``shared/data/kalshi-captures``,
written by the ``mdowis/Kalshi_orderbook_streamer`` collector) are not raw frames. The collector
flattened ``msg`` into the top level, renamed fields (``yes``/``no`` for ``yes_dollars_fp``/
``no_dollars_fp``), dropped ``ts_ms`` and wrote ``seq`` 0 on ticker lines. To push real market
data through the real parsing path (``messages.parse_frame`` -> the book), as test fixtures or
when importing such captures, each line is rebuilt here into its current-shape frame. Only this
module knows the collector's format.

Sids are fixed per channel (book 1, trade 2, lifecycle 3, ticker 4). File order is kept. A
snapshot whose seq does not advance the book's sequence starts a new connection (``conn``):
on a live feed a stream that starts over means a reconnect, and the KXETH15M capture repeats
its first block exactly that way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from kalshi_rl.core.errors import DataNotFoundError, ExchangeError, InvalidValueError
from kalshi_rl.core.events import MarketInfo, Side
from kalshi_rl.core.units import parse_count_fp, parse_price_dollars
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.rest import parse_market

BOOK_SID, TRADE_SID, LIFECYCLE_SID, TICKER_SID = 1, 2, 3, 4

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MARKET_ID_RE = re.compile(r'"ticker":\s*"([^"]+)".*?"market_id":\s*"([^"]+)"')
_LIFECYCLE_FIELDS = ("result", "settlement_value", "determination_ts", "settled_ts")
_TICKER_FIELDS = (
    "market_id",
    "price_dollars",
    "yes_bid_dollars",
    "yes_ask_dollars",
    "volume_fp",
    "open_interest_fp",
    "dollar_volume",
    "dollar_open_interest",
    "yes_bid_size_fp",
    "yes_ask_size_fp",
    "last_trade_size_fp",
    "ts",
)


@dataclass(frozen=True)
class CaptureFrame:
    """One capture line as the frame Kalshi would send now, with when it was received.

    ``kind`` is the capture's line type (snapshot, delta, trade, ticker, lifecycle); ``conn``
    counts the connections seen so far; ``line_no`` is 1-based.
    """

    raw: str
    recv_ns: int
    conn: int
    line_no: int
    kind: str


def read_capture(
    path: str | Path,
    *,
    contiguous_seq: bool = False,
    monotonic_recv: bool = False,
    connections: set[int] | None = None,
) -> Iterator[CaptureFrame]:
    """Yield the book, trade, ticker and lifecycle lines of a capture as WS frames, in file order.

    ``contiguous_seq`` renumbers each sid's seq 1, 2, 3... within a connection. Kalshi's seq
    counts per subscription, so a one-market capture of a multi-market subscription shows
    "gaps" that are other markets' messages (the KXETH15M file has 682); the rebuilt book
    matching all 251 of Kalshi's ticker messages says nothing of this market was lost. Use it to
    replay such a capture through the live path as an unbroken stream.
    ``monotonic_recv`` makes receive times non-decreasing in file order, as a live collector's
    are (the capture mixes local and exchange clocks; see its README).
    ``connections`` keeps only those recorded connections (before clocks are made monotonic).
    """
    frames = _read_capture(path)
    last_ns = 0
    seqs: dict[tuple[int, int], int] = {}
    for frame in frames:
        if connections is not None and frame.conn not in connections:
            continue
        raw, recv_ns = frame.raw, frame.recv_ns
        if contiguous_seq:
            body = json.loads(raw)
            if "seq" in body and "sid" in body:
                key = (frame.conn, body["sid"])
                seqs[key] = body["seq"] = seqs.get(key, 0) + 1
                raw = json.dumps(body, separators=(",", ":"))
        if monotonic_recv:
            recv_ns = last_ns = max(last_ns, recv_ns)
        yield CaptureFrame(raw, recv_ns, frame.conn, frame.line_no, frame.kind)


def _read_capture(path: str | Path) -> Iterator[CaptureFrame]:
    capture = _existing(path)
    market_ids = _market_ids(capture)
    conn, high_seq = 0, -1
    for line_no, record in _records(capture):
        kind = record.get("type")
        if kind in ("meta", "stats"):
            continue
        if not isinstance(kind, str) or kind not in _BUILDERS:
            raise InvalidValueError(f"{capture}:{line_no}: unknown capture line type {kind!r}")
        try:
            if kind == "snapshot":
                if record["seq"] <= high_seq:
                    conn += 1  # the sequence started over: a new connection
                high_seq = record["seq"]
            elif kind == "delta":
                high_seq = max(high_seq, record["seq"])
            raw, recv_ns = _BUILDERS[kind](record, market_ids.get(str(record.get("ticker")), ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidValueError(
                f"{capture}:{line_no}: malformed {kind} line ({type(exc).__name__}: {exc})"
            ) from None
        yield CaptureFrame(raw, recv_ns, conn, line_no, kind)


def read_market_info(path: str | Path) -> MarketInfo:
    """Return the market metadata of a capture's last ``meta`` line (the latest REST poll)."""
    capture = _existing(path)
    meta = None
    for _, record in _records(capture):
        if record.get("type") == "meta":
            meta = record
    if meta is None:
        raise DataNotFoundError(f"{capture} has no meta line")
    try:
        return parse_market(meta, _epoch_s_to_ns(meta["ts"]) if "ts" in meta else 0)
    except (ExchangeError, TypeError) as exc:
        raise InvalidValueError(f"{capture}: bad meta line ({exc})") from None


def _existing(path: str | Path) -> Path:
    capture = Path(path)
    if not capture.is_file():
        raise DataNotFoundError(f"capture file not found: {capture}")
    return capture


def _records(capture: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with capture.open(encoding="utf-8") as lines:
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:  # Decimal keeps local receive times exact to the nanosecond
                record = json.loads(line, parse_float=Decimal)
            except ValueError as exc:
                raise InvalidValueError(f"{capture}:{line_no}: not JSON ({exc})") from None
            if type(record) is not dict:
                raise InvalidValueError(f"{capture}:{line_no}: expected a JSON object")
            yield line_no, record


def _market_ids(capture: Path) -> dict[str, str]:
    """Map each ticker to its market id: snapshot lines lack one, later lines carry it."""
    ids: dict[str, str] = {}
    with capture.open(encoding="utf-8") as lines:
        for line in lines:
            if '"market_id"' in line and (found := _MARKET_ID_RE.search(line)):
                ids.setdefault(found[1], found[2])
    return ids


def _epoch_s_to_ns(seconds: object) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int | Decimal):
        raise TypeError(f"expected epoch seconds, got {seconds!r}")
    return int(seconds * 1_000_000_000)


def _rfc3339_ns(text: str) -> int:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _levels(pairs: list[list[str]] | None) -> list[tuple[int, int]]:
    return [(parse_price_dollars(price), parse_count_fp(count)) for price, count in pairs or ()]


def _snapshot(r: dict[str, Any], market_id: str) -> tuple[str, int]:
    raw = encode.snapshot_frame(
        BOOK_SID, r["seq"], r["ticker"], market_id, _levels(r.get("yes")), _levels(r.get("no"))
    )
    return raw, _epoch_s_to_ns(r["ts"])


def _delta(r: dict[str, Any], market_id: str) -> tuple[str, int]:
    # Built by hand: encode.delta_frame derives ``ts`` from ``ts_ms`` and would cut the
    # capture's microseconds, which the ticker cross-check needs.
    ts_ns = _rfc3339_ns(r["ts"])
    msg = {
        "market_ticker": r["ticker"],
        "market_id": r.get("market_id") or market_id,
        "price_dollars": r["price_dollars"],
        "delta_fp": r["delta_fp"],
        "side": r["side"],
        "ts": r["ts"],
        "ts_ms": ts_ns // 1_000_000,
    }
    frame = {"type": "orderbook_delta", "sid": BOOK_SID, "seq": r["seq"], "msg": msg}
    return json.dumps(frame, separators=(",", ":")), ts_ns


def _trade(r: dict[str, Any], _market_id: str) -> tuple[str, int]:
    recv_ns = _epoch_s_to_ns(r["ts"])  # whole seconds: the only time a trade line has
    raw = encode.trade_frame(
        TRADE_SID,
        r["seq"],
        r["ticker"],
        str(r["trade_id"]),
        parse_price_dollars(r["yes_price_dollars"]),
        parse_count_fp(r["count_fp"]),
        Side(r["taker_side"]),
        recv_ns // 1_000_000,
    )
    return raw, recv_ns


def _lifecycle(r: dict[str, Any], _market_id: str) -> tuple[str, int]:
    fields = {key: r[key] for key in _LIFECYCLE_FIELDS if key in r}
    raw = encode.lifecycle_frame(LIFECYCLE_SID, r["seq"], r["ticker"], r["event_type"], **fields)
    return raw, _epoch_s_to_ns(r["ts"])


def _ticker(r: dict[str, Any], market_id: str) -> tuple[str, int]:
    time_ns = _rfc3339_ns(r["time"])
    msg: dict[str, Any] = {"market_ticker": r["ticker"], "market_id": market_id}
    msg.update((key, r[key]) for key in _TICKER_FIELDS if key in r)
    msg.update(ts_ms=time_ns // 1_000_000, time=r["time"])
    frame = {"type": "ticker", "sid": TICKER_SID, "msg": msg}  # the ticker channel has no seq
    return json.dumps(frame, separators=(",", ":")), time_ns


_BUILDERS: dict[str, Callable[[dict[str, Any], str], tuple[str, int]]] = {
    "snapshot": _snapshot,
    "delta": _delta,
    "trade": _trade,
    "lifecycle": _lifecycle,
    "ticker": _ticker,
}
