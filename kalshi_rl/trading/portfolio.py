"""``Portfolio``: cash, one ``PositionLedger`` per market, collateral, settlements.

All money is held exactly in micro-dollars (``PositionLedger``'s unit) and formatted only at the
edge, in Kalshi's shapes (``market_position``, ``balance``, settlement records).

Fees: each fill (one match) is charged the trade fee of the market's fee schedule at that
moment (``shared.status.fees``: the series' schedule or its event's override, through the
``FeePolicy``), and its balance change is rounded the way Kalshi's current fee-rounding document
says (``OrderFeeAccumulator``, one per order across its taker and maker fills): aligned down to
the member's precision ($0.01 by default, $0.0001 for a direct member), the difference a
rounding fee, rebated in whole increments once the order has accumulated one. The net fee
(trade + rounding - rebate) is what the market's P&L pays; a settlement payout is floored to the
same precision. So cash is always a whole number of precision increments.

Collateral: every open order (in flight or resting) reserves its worst case. Per market and side
bought, contracts that would close a held opposite position cost nothing (a closed YES+NO pair
returns $1, more than the price plus fee), the rest cost ``units × limit + taker fee at the
limit`` (price + fee per contract rises with the price, and a maker fee is never above the
taker fee, so the limit's price + taker fee bounds any fill), plus one precision increment per
match the order may make (what each match's rounding can add). Closing is credited to the
cheapest orders first, so the reserve is the true worst case. Kalshi's ``balance`` is what is
available for trading: cash minus these reserves.

When a market trades, and what it settles at, is ``market_rules``' (the paper client's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kalshi_rl.core.errors import FeeScheduleError
from kalshi_rl.core.events import Side
from kalshi_rl.core.fee_schedule import DEFAULT_FEE_SCHEDULE
from kalshi_rl.core.units import PRICE_SCALE, format_count, format_price
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.execution.fees import FeeModel, FeePolicy, FillFee, OrderFeeAccumulator
from kalshi_rl.execution.position import MICRO_PER_DOLLAR, PositionLedger
from kalshi_rl.trading.kalshi_shapes import dollars, rfc3339
from kalshi_rl.trading.orders import KalshiApiError, invalid_order

CENT_MICRO = MICRO_PER_DOLLAR // 100
TICK_MICRO = MICRO_PER_DOLLAR // PRICE_SCALE


@dataclass
class Commitment:
    """An open order's claim on the balance: buy ``units`` of ``side`` up to ``limit_ticks``."""

    ticker: str
    side: Side
    units: int
    limit_ticks: int
    resting: bool = False


class Portfolio:
    """The paper account: exact positions and P&L as Kalshi nets them, and the cash behind them."""

    def __init__(
        self,
        starting_balance_micro: int = 1_000 * MICRO_PER_DOLLAR,
        fees: FeePolicy | None = None,
        books: Mapping[str, SharedOrderbookState] | None = None,
        slack_matches: int = 12,
    ) -> None:
        """``books``: the markets traded, whose status gives each one's fee schedule;
        ``slack_matches``: how many matches an order's worst case reserves rounding for."""
        if starting_balance_micro < 0:
            raise ValueError(f"the starting balance must be >= 0, got {starting_balance_micro} micro-dollars")
        self.fees = fees or FeePolicy()
        self.starting_balance_micro = starting_balance_micro
        self.books = books or {}
        self.slack_matches = slack_matches
        self.ledgers: dict[str, PositionLedger] = {}
        self.commitments: dict[str, Commitment] = {}
        self.settlements: list[dict[str, Any]] = []
        self._accumulators: dict[str, OrderFeeAccumulator] = {}  # per order, across all its fills
        self._updated_ns: dict[str, int] = {}
        self._position_fees: dict[str, int] = {}  # fees since the position was last flat

    # -- cash and collateral -----------------------------------------------------------------

    def ledger(self, ticker: str) -> PositionLedger:
        ledger = self.ledgers.get(ticker)
        if ledger is None:
            ledger = self.ledgers[ticker] = PositionLedger()
        return ledger

    def fee_model(self, ticker: str) -> FeeModel:
        """The fee model of ``ticker`` now; an order it cannot price is refused (``invalid_order``)."""
        shared = self.books.get(ticker)
        # The market's schedule now: its event's override, else its series', else Kalshi's general one.
        schedule = shared.status.fees if shared is not None else DEFAULT_FEE_SCHEDULE
        try:
            return self.fees.model_for(schedule, ticker)
        except FeeScheduleError as exc:
            # The paper client's fee policy is the model's (its train/serve contract).
            raise invalid_order(
                f"{exc} when training the model; this market's fees cannot be computed"
            ) from None

    @property
    def cash_micro(self) -> int:
        """Cash after every fill, fee and settlement (each one moves it by whole precision increments)."""
        return self.starting_balance_micro + sum(ledger.cash_micro for ledger in self.ledgers.values())

    def reserved_micro(self, extra: Commitment | None = None) -> int:
        """The worst case of every open order (plus ``extra``), in micro-dollars."""
        claims = list(self.commitments.values()) + ([extra] if extra else [])
        total = 0
        slack = self.slack_matches * self.fees.member_precision_micro
        for ticker, side in {(c.ticker, c.side) for c in claims}:
            ledger = self.ledgers.get(ticker)
            closable = ledger.held(side.opposite) if ledger else 0
            try:
                fees: FeeModel | None = self.fee_model(ticker)
            except KalshiApiError:
                if extra is not None and extra.ticker == ticker:
                    raise  # a new order on a market whose fees cannot be computed is refused
                fees = None  # such a market fills nothing: its open orders reserve their price only
            for claim in sorted((c for c in claims if (c.ticker, c.side) == (ticker, side)), key=_limit):
                closing = min(claim.units, closable)
                closable -= closing
                opening = claim.units - closing
                if opening:
                    fee = fees.trade_fee_micro(opening, claim.limit_ticks, True) if fees else 0
                    total += opening * claim.limit_ticks + fee + slack
        return total

    @property
    def available_micro(self) -> int:
        """Cash not reserved by open orders: Kalshi's ``balance``."""
        return self.cash_micro - self.reserved_micro()

    def can_afford(self, claim: Commitment) -> bool:
        return self.cash_micro - self.reserved_micro(claim) >= 0

    def reserve(self, order_id: str, claim: Commitment) -> None:
        """Replace ``order_id``'s claim by ``claim``, or raise ``insufficient_balance`` (no change)."""
        old = self.commitments.pop(order_id, None)
        if not self.can_afford(claim):
            if old is not None:
                self.commitments[order_id] = old
            available = format_price(self.available_micro // TICK_MICRO)
            raise KalshiApiError(
                400,
                "insufficient_balance",
                f"insufficient balance: the order's worst case exceeds ${available}",
            )
        self.commitments[order_id] = claim

    def commit(self, order_id: str, claim: Commitment) -> None:
        self.commitments[order_id] = claim

    def release(self, order_id: str) -> None:
        self.commitments.pop(order_id, None)

    # -- fills and settlement ----------------------------------------------------------------

    def record_fill(
        self,
        key: str,
        ticker: str,
        side: Side,
        units: int,
        price_ticks: int,
        trade_fee_micro: int,
        now_ns: int,
    ) -> FillFee:
        """Book one match of order ``key`` (its trade fee already computed); return its fees."""
        ledger = self.ledger(ticker)
        if ledger.position_units == 0:
            self._position_fees[ticker] = 0
        accumulator = self._accumulators.get(key)
        if accumulator is None:
            accumulator = self._accumulators[key] = self.fees.accumulator()
        fee = accumulator.charge(ledger.revenue_micro(side, units, price_ticks), trade_fee_micro)
        ledger.buy(side, units, price_ticks, fee.net_fee_micro)
        self._position_fees[ticker] = self._position_fees.get(ticker, 0) + fee.net_fee_micro
        self._updated_ns[ticker] = now_ns
        return fee

    def settle(
        self, ticker: str, settlement_ticks: int, result: str, event_ticker: str, now_ns: int
    ) -> dict[str, Any]:
        """Settle ``ticker`` at ``settlement_ticks`` per YES contract; return Kalshi's Settlement."""
        ledger = self.ledger(ticker)
        yes_units, no_units = ledger.held(Side.YES), ledger.held(Side.NO)
        cost = ledger.cost_micro
        payout = ledger.settle(settlement_ticks, self.fees.member_precision_micro)
        self._updated_ns[ticker] = now_ns
        record = {
            "ticker": ticker,
            "event_ticker": event_ticker,
            "market_result": result,
            "yes_count_fp": format_count(yes_units),
            "yes_total_cost_dollars": dollars(cost if yes_units else 0),
            "no_count_fp": format_count(no_units),
            "no_total_cost_dollars": dollars(cost if no_units else 0),
            "revenue": payout // CENT_MICRO,
            "settled_time": rfc3339(now_ns),
            "fee_cost": dollars(ledger.fees_micro),
            "value": settlement_ticks * 100 // PRICE_SCALE,
        }
        self.settlements.append(record)
        return record

    # -- Kalshi shapes -----------------------------------------------------------------------

    def market_position(self, ticker: str) -> dict[str, Any]:
        """Kalshi's MarketPosition for ``ticker`` (REST ``GET /portfolio/positions``)."""
        ledger = self.ledger(ticker)
        return {
            "ticker": ticker,
            "total_traded_dollars": dollars(ledger.traded_micro),
            "position_fp": format_count(ledger.position_units),
            "market_exposure_dollars": dollars(ledger.cost_micro),
            "realized_pnl_dollars": dollars(ledger.realized_micro),
            "fees_paid_dollars": dollars(ledger.fees_micro),
            "last_updated_ts": rfc3339(self._updated_ns.get(ticker, 0)),
        }

    def position_message(self, ticker: str, user_id: str) -> dict[str, Any]:
        """The ``market_position`` user-stream payload for ``ticker``."""
        ledger = self.ledger(ticker)
        fees = self._position_fees.get(ticker, 0) if ledger.position_units else 0
        return {
            "user_id": user_id,
            "market_ticker": ticker,
            "position_fp": format_count(ledger.position_units),
            "position_cost_dollars": dollars(ledger.cost_micro),
            "realized_pnl_dollars": dollars(ledger.realized_micro),
            "fees_paid_dollars": dollars(ledger.fees_micro),
            "position_fee_cost_dollars": dollars(fees),
            "volume_fp": format_count(ledger.contracts_traded_units),
        }

    def unrealized_micro(self, ticker: str, bid_ticks: int | None) -> int:
        """Unrealised P&L of the open position valued at the held side's best bid."""
        ledger = self.ledger(ticker)
        return self._value_micro(ledger, bid_ticks) - ledger.cost_micro

    @staticmethod
    def _value_micro(ledger: PositionLedger, bid_ticks: int | None) -> int:
        if bid_ticks is None:
            return ledger.cost_micro  # no bid to value it at: carry it at cost
        return ledger.held_units * bid_ticks

    def portfolio_value_micro(self, best_bid: Callable[[str, Side], int | None]) -> int:
        """Open positions valued at their side's best bid (at cost when that side has none)."""
        total = 0
        for ticker, ledger in self.ledgers.items():
            if ledger.side is not None:
                total += self._value_micro(ledger, best_bid(ticker, ledger.side))
        return total

    def balance(self, best_bid: Callable[[str, Side], int | None], now_ns: int) -> dict[str, Any]:
        """Kalshi's ``GET /portfolio/balance``: cents (floored) and $0.0001 dollars."""
        available = self.available_micro
        return {
            "balance": available // CENT_MICRO,
            "balance_dollars": format_price(available // TICK_MICRO),
            "portfolio_value": self.portfolio_value_micro(best_bid) // CENT_MICRO,
            "updated_ts": now_ns // 1_000_000_000,
        }


def _limit(claim: Commitment) -> int:
    return claim.limit_ticks
