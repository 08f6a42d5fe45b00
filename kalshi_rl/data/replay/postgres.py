"""Preload a replay window from the spec's PostgreSQL tables (``train --source postgres``).

Same result as ``preload_lake`` for the books (segments come from the stored ``segment``
column, exact prices and counts from the NUMERIC columns), with two limits of the spec's
schema: receive times are stored to the microsecond, and market metadata (close time,
settlement) is not in PostgreSQL, so the time-to-close feature is absent and positions are
marked to market at the end of each episode.
"""

from __future__ import annotations

import itertools

import numpy as np
import psycopg

from kalshi_rl.core.errors import DataNotFoundError, StorageError
from kalshi_rl.core.events import Level
from kalshi_rl.core.units import parse_count_fp, parse_price_dollars
from kalshi_rl.data.replay.lake import MarketMeta, ReplayData, Segment, _fingerprint, split_by_segment
from kalshi_rl.data.storage.database import libpq_conninfo, parse_database_url, redact

_US = "(extract(epoch FROM received_at) * 1000000)::bigint * 1000"


def _ladder(levels: list[dict[str, str]]) -> tuple[Level, ...]:
    return tuple(sorted((parse_price_dollars(lv["price"]), parse_count_fp(lv["quantity"])) for lv in levels))


def preload_postgres(
    url: str, markets: tuple[str, ...], start_ns: int | None, end_ns: int | None
) -> ReplayData:
    parsed = parse_database_url(url)
    try:
        conn = psycopg.connect(libpq_conninfo(parsed), connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise StorageError(
            f"cannot connect to {redact(parsed)}: {str(exc).strip().splitlines()[0]}"
        ) from None
    with conn:
        low, high = conn.execute(
            f"SELECT min({_US}), max({_US}) FROM orderbook_snapshots WHERE market_ticker = ANY(%s)",
            [list(markets)],
        ).fetchone() or (None, None)
        if low is None:
            held = conn.execute(
                "SELECT DISTINCT market_ticker FROM orderbook_snapshots ORDER BY 1"
            ).fetchall()
            raise DataNotFoundError(
                f"no books for {', '.join(markets)} in {redact(parsed)}; it holds: {', '.join(r[0] for r in held) or 'nothing'}"
            )
        last_delta = conn.execute(
            f"SELECT max({_US}) FROM orderbook_deltas WHERE market_ticker = ANY(%s)", [list(markets)]
        ).fetchone()
        high = max(high, (last_delta or (None,))[0] or high)
        start = low if start_ns is None else start_ns
        end = (high + 1) if end_ns is None else end_ns
        snaps = conn.execute(
            f"SELECT market_ticker, segment, {_US}, yes_bids, no_bids FROM orderbook_snapshots "
            f"WHERE market_ticker = ANY(%s) AND {_US} <= %s ORDER BY market_ticker, received_at",
            [list(markets), end],
        ).fetchall()
        rows = conn.execute(
            f"SELECT segment, {_US}, side = 'yes_bid', (price * 10000)::int, (delta * 100)::bigint "
            f"FROM orderbook_deltas WHERE segment = ANY(%s) AND {_US} <= %s ORDER BY segment, sequence_number",
            [[s[1] for s in snaps], end],
        ).fetchall()
    columns = {
        name: np.asarray([r[i] for r in rows])
        for i, name in enumerate(("segment", "ts_recv_ns", "is_yes", "price_ticks", "delta_units"))
    }
    arrays = split_by_segment(columns) if rows else {}
    next_snapshot = {a[1]: b[2] for a, b in itertools.pairwise(snaps) if a[0] == b[0]}
    segments = []
    for market, segment, snap_ns, yes, no in snaps:
        ts, is_yes, price, delta = arrays.get(
            segment, (np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int32), np.zeros(0, np.int64))
        )
        last = int(ts[-1]) if len(ts) else snap_ns
        seg_end, reason = (
            (next_snapshot[segment], "break") if segment in next_snapshot else (last, "data_end")
        )
        if seg_end >= end:
            seg_end, reason = end, "window_end"
        if seg_end < start:
            continue
        segments.append(
            Segment(
                market, segment, snap_ns, _ladder(yes), _ladder(no), ts, is_yes, price, delta, seg_end, reason
            )
        )
    if not segments:
        raise DataNotFoundError(
            f"no book data for {', '.join(markets)} in the requested window of {redact(parsed)}"
        )
    data = ReplayData(markets, start, end, segments, {m: MarketMeta(m) for m in markets}, "postgres")
    data.fingerprint = _fingerprint(segments)
    return data
