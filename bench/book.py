"""Benchmark: deltas/s applied to OrderbookState with the best bid and ask read after each.

Two streams, both replayed from memory so only the book is timed:
- the local exchange's market model (2 M deltas, a realistic add/update/remove mix), and
- the real KXETH15M capture's 1,847 deltas (with its snapshot), replayed many times.
Goal (issue 2): >= 1.5 M deltas/s. Prints the figures and the ratio to the goal.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from kalshi_rl.core.events import BookDelta, BookSnapshot, Side
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.kalshi.captures import read_capture
from kalshi_rl.kalshi.messages import parse_frame
from kalshi_rl.sim.model import MarketModel, MarketModelConfig, ModelDelta

GOAL = 1_500_000
CAPTURE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "kalshi-captures"
    / "KXETH15M-26APR200200-00.jsonl"
)


def model_stream(n: int, seed: int = 1) -> tuple[BookSnapshot, list[tuple[Side, int, int]]]:
    model = MarketModel(MarketModelConfig(), seed)
    yes, no = model.book.snapshot()
    start = BookSnapshot("BENCH", 1, 1, yes, no, None, 0)
    ops: list[tuple[Side, int, int]] = []
    while len(ops) < n:
        for event in model.step(len(ops) / n):
            if isinstance(event, ModelDelta):
                ops.append((event.side, event.price_ticks, event.delta_units))
    return start, ops


def mix(start: BookSnapshot, ops: list[tuple[Side, int, int]]) -> Counter[str]:
    book = OrderbookState("MIX")
    book.apply_snapshot(start)
    kinds: Counter[str] = Counter()
    for side, price, delta in ops:
        ladder = book.yes_bids if side is Side.YES else book.no_bids
        old = ladder.sizes.get(price, 0)
        new = book.apply_delta(side, price, delta)
        kinds["add" if old == 0 else "remove" if new == 0 else "update"] += 1
    return kinds


def time_stream(
    ops: list[tuple[Side, int, int]], repeats: int, snapshot: BookSnapshot | None = None
) -> float:
    """Return deltas/s (median of ``repeats`` passes)."""
    rates = []
    for _ in range(repeats):
        book = OrderbookState("BENCH")
        if snapshot is not None:
            book.apply_snapshot(snapshot)
        apply = book.apply_delta
        started = time.perf_counter()
        for side, price, delta in ops:
            apply(side, price, delta)
            _bid = book.best_yes_bid
            _ask = book.best_yes_ask
        rates.append(len(ops) / (time.perf_counter() - started))
    return statistics.median(rates)


def capture_stream() -> tuple[BookSnapshot, list[tuple[Side, int, int]]] | None:
    if not CAPTURE.is_file():
        return None
    snapshot: BookSnapshot | None = None
    ops: list[tuple[Side, int, int]] = []
    for frame in read_capture(CAPTURE):
        if frame.conn != 1:  # the second, complete pass of the capture
            continue
        message = parse_frame(frame.raw, frame.recv_ns)
        if isinstance(message, BookSnapshot) and snapshot is None:
            snapshot = message
        elif isinstance(message, BookDelta) and snapshot is not None:
            ops.append((message.side, message.price_ticks, message.delta_units))
    return (snapshot, ops) if snapshot else None


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    start, ops = model_stream(1_000_000)
    kinds = mix(start, ops)
    total = sum(kinds.values())
    rate = time_stream(ops, repeats=5, snapshot=start)
    print(
        f"model stream : {len(ops):,} deltas ({', '.join(f'{k} {v / total:.0%}' for k, v in sorted(kinds.items()))}) "
        f"-> {rate / 1e6:.2f} M deltas/s, ratio to goal {rate / GOAL:.2f}"
    )
    capture = capture_stream()
    if capture:
        snapshot, cap_ops = capture
        rate_cap = time_stream(cap_ops, repeats=400, snapshot=snapshot)
        print(
            f"real capture : {len(cap_ops):,} deltas (KXETH15M) x 400 -> {rate_cap / 1e6:.2f} M deltas/s, ratio to goal {rate_cap / GOAL:.2f}"
        )


if __name__ == "__main__":
    main()
