"""``OrderbookState``: one market's book, kept exactly in integer ticks and units.

Kalshi publishes bids only: a YES bid ladder and a NO bid ladder. A YES ask at price ``p`` is a
NO bid at ``1 - p`` (same size), and a NO ask is a YES bid at ``1 - p``. The spec's four
ladders are therefore two stored bid ladders plus two derived ask views, so the asks can never
disagree with the bids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from kalshi_rl.core.errors import BookError
from kalshi_rl.core.events import BookSnapshot, Level, Side
from kalshi_rl.core.units import PRICE_SCALE, format_count, format_price
from kalshi_rl.data.book.price_ladder import PriceLadder

_YES: Final = Side.YES


class AskLadder(Mapping[int, int]):
    """Asks of one side, derived from the opposite side's bids: ask ``p`` = bid ``1 - p``.

    Iterates in ascending ask price (best ask first).
    """

    __slots__ = ("_bids",)

    def __init__(self, opposite_bids: PriceLadder) -> None:
        self._bids = opposite_bids

    def __getitem__(self, price_ticks: int) -> int:
        return self._bids[PRICE_SCALE - price_ticks]

    def __iter__(self) -> Iterator[int]:
        return (PRICE_SCALE - bid for bid in self._bids.descending())

    def __len__(self) -> int:
        return len(self._bids)

    def top(self, depth: int) -> list[Level]:
        """Return up to ``depth`` ``(price, size)`` asks, lowest (best) first."""
        return [(PRICE_SCALE - price, size) for price, size in self._bids.top(depth)]


class OrderbookState:
    """The book of one market: exact ladders, sequence, staleness, derived metrics.

    Mutated only by the feed (``apply_snapshot``/``apply_delta``). The top of book is kept in
    plain attributes (``best_yes_bid``, ``best_yes_ask``, ``best_no_bid``, ``best_no_ask``:
    ticks, or ``None`` when that ladder is empty), so reading it after each delta is free.
    """

    __slots__ = (
        "best_no_ask",
        "best_no_bid",
        "best_yes_ask",
        "best_yes_bid",
        "last_exchange_ms",
        "last_sequence",
        "last_update_ns",
        "market_ticker",
        "no_asks",
        "no_bids",
        "stale",
        "yes_asks",
        "yes_bids",
    )

    def __init__(self, market_ticker: str) -> None:
        self.market_ticker = market_ticker
        self.yes_bids = PriceLadder()
        self.no_bids = PriceLadder()
        self.yes_asks = AskLadder(self.no_bids)
        self.no_asks = AskLadder(self.yes_bids)
        self.best_yes_bid: int | None = None
        self.best_no_bid: int | None = None
        self.best_yes_ask: int | None = None
        self.best_no_ask: int | None = None
        self.last_sequence = 0
        self.last_update_ns = 0
        self.last_exchange_ms: int | None = None
        self.stale = True  # no snapshot yet

    # -- mutation -------------------------------------------------------------------------

    def apply_snapshot(self, snapshot: BookSnapshot) -> None:
        """Replace the whole book with ``snapshot`` and mark it fresh."""
        self.reset(snapshot.yes_bids, snapshot.no_bids)
        self.last_sequence = snapshot.seq
        self.last_update_ns = snapshot.ts_recv_ns
        self.last_exchange_ms = snapshot.ts_exchange_ms
        self.stale = False

    def reset(self, yes_bids: tuple[Level, ...] = (), no_bids: tuple[Level, ...] = ()) -> None:
        """Replace both ladders (levels must have positive sizes and prices inside (0, 1))."""
        for ladder, levels in ((self.yes_bids, yes_bids), (self.no_bids, no_bids)):
            ladder.clear()
            ladder.update(levels)
        self._set_best_yes(self.yes_bids.best())
        self._set_best_no(self.no_bids.best())

    def _set_best_yes(self, price: int) -> None:
        if price:
            self.best_yes_bid, self.best_no_ask = price, PRICE_SCALE - price
        else:
            self.best_yes_bid = self.best_no_ask = None

    def _set_best_no(self, price: int) -> None:
        if price:
            self.best_no_bid, self.best_yes_ask = price, PRICE_SCALE - price
        else:
            self.best_no_bid = self.best_yes_ask = None

    def apply_delta(self, side: Side, price_ticks: int, delta_units: int) -> int:
        """Add ``delta_units`` at ``price_ticks`` on ``side``'s bids; return the new size.

        A level that reaches exactly zero is removed. A delta that would make a level
        negative raises ``BookError`` and leaves the book unchanged.
        """
        ladder = self.yes_bids if side is _YES else self.no_bids
        sizes = ladder.sizes
        old = sizes.get(price_ticks)
        if old is not None:
            new = old + delta_units
            if new > 0:
                sizes[price_ticks] = new
                return new
            if new < 0:
                raise self._negative(side, price_ticks, old, delta_units)
            del sizes[price_ticks]
            occupied = ladder.occupied
            occupied[price_ticks] = 0
            best = self.best_yes_bid if side is _YES else self.best_no_bid
            if price_ticks == best:
                below = occupied.rfind(1, 0, price_ticks)
                if side is _YES:
                    self._set_best_yes(below if below > 0 else 0)
                else:
                    self._set_best_no(below if below > 0 else 0)
            return 0
        if delta_units <= 0:
            raise self._negative(side, price_ticks, 0, delta_units)
        sizes[price_ticks] = delta_units
        ladder.occupied[price_ticks] = 1
        if side is _YES:
            if self.best_yes_bid is None or price_ticks > self.best_yes_bid:
                self._set_best_yes(price_ticks)
        elif self.best_no_bid is None or price_ticks > self.best_no_bid:
            self._set_best_no(price_ticks)
        return delta_units

    def _negative(self, side: Side, price_ticks: int, old: int, delta_units: int) -> BookError:
        return BookError(
            f"{self.market_ticker}: {side.value} bid at {format_price(price_ticks)} holds "
            f"{format_count(old)}, delta {format_count(delta_units)} would make it negative"
        )

    # -- derived metrics ------------------------------------------------------------------

    @property
    def volume_at_best(self) -> dict[str, int]:
        """Size in units at the best price of each of the four ladders (0 when empty)."""
        yes = self.yes_bids.sizes.get(self.best_yes_bid or 0, 0)
        no = self.no_bids.sizes.get(self.best_no_bid or 0, 0)
        return {"yes_bid": yes, "yes_ask": no, "no_bid": no, "no_ask": yes}

    @property
    def total_volume(self) -> dict[str, int]:
        """Total resting size per side's bid ladder, in units."""
        return {"yes": sum(self.yes_bids.sizes.values()), "no": sum(self.no_bids.sizes.values())}

    @property
    def spread_yes(self) -> int | None:
        """YES ask minus YES bid in ticks (``None`` if either side is empty)."""
        if self.best_yes_ask is None or self.best_yes_bid is None:
            return None
        return self.best_yes_ask - self.best_yes_bid

    @property
    def spread_no(self) -> int | None:
        if self.best_no_ask is None or self.best_no_bid is None:
            return None
        return self.best_no_ask - self.best_no_bid

    @property
    def mid_price_yes(self) -> float | None:
        """Mid in ticks (a metric, so a float: it can fall on a half tick)."""
        if self.best_yes_ask is None or self.best_yes_bid is None:
            return None
        return (self.best_yes_ask + self.best_yes_bid) / 2

    @property
    def mid_price_no(self) -> float | None:
        if self.best_no_ask is None or self.best_no_bid is None:
            return None
        return (self.best_no_ask + self.best_no_bid) / 2

    def top_bids(self, side: Side, depth: int) -> list[Level]:
        """Return up to ``depth`` best bids of ``side`` as ``(price, size)``, best first."""
        return (self.yes_bids if side is _YES else self.no_bids).top(depth)

    def top_asks(self, side: Side, depth: int) -> list[Level]:
        """Return up to ``depth`` best asks of ``side`` (derived), best (lowest) first."""
        return (self.yes_asks if side is _YES else self.no_asks).top(depth)

    def copy(self) -> OrderbookState:
        """Return an independent copy (for readers that keep a book across awaits)."""
        twin = OrderbookState(self.market_ticker)
        twin.reset(tuple(self.yes_bids.sizes.items()), tuple(self.no_bids.sizes.items()))
        twin.last_sequence = self.last_sequence
        twin.last_update_ns = self.last_update_ns
        twin.last_exchange_ms = self.last_exchange_ms
        twin.stale = self.stale
        return twin

    def check_invariants(self) -> None:
        """Raise ``BookError`` if a ladder or the cached top of book is inconsistent."""
        for name, ladder, best in (
            ("yes", self.yes_bids, self.best_yes_bid),
            ("no", self.no_bids, self.best_no_bid),
        ):
            if any(size <= 0 for size in ladder.sizes.values()):
                raise BookError(f"{self.market_ticker}: {name} ladder holds a non-positive size")
            if any(not 0 < p < PRICE_SCALE for p in ladder.sizes):
                raise BookError(f"{self.market_ticker}: {name} ladder price outside (0, 1)")
            occupied = {p for p, flag in enumerate(ladder.occupied) if flag}
            if occupied != set(ladder.sizes):
                raise BookError(f"{self.market_ticker}: {name} occupancy map out of sync")
            expected = max(ladder.sizes, default=None)
            if best != expected:
                raise BookError(f"{self.market_ticker}: cached best {name} bid {best} != {expected}")
        for ask, bid in ((self.best_yes_ask, self.best_no_bid), (self.best_no_ask, self.best_yes_bid)):
            if (ask is None) != (bid is None) or (bid is not None and ask != PRICE_SCALE - bid):
                raise BookError(f"{self.market_ticker}: derived ask {ask} disagrees with bid {bid}")

    def __repr__(self) -> str:
        bid = format_price(self.best_yes_bid) if self.best_yes_bid else "-"
        ask = format_price(self.best_yes_ask) if self.best_yes_ask else "-"
        state = "stale" if self.stale else f"seq {self.last_sequence}"
        return f"OrderbookState({self.market_ticker} yes {bid}/{ask}, {state})"
