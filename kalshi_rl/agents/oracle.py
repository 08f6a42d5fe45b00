"""The oracle: the best P&L achievable on a tape with perfect foresight, by dynamic programming.

Under the env's own rules: the same actions (hold, buy or sell YES or NO, ``order_units`` at a
time, reduce-only sells, buys cut at the position limit), the same fills (the order meets the
asks ``latency`` after its tick through ``FillEngine``, walking the levels), the same fees (each
match's trade fee under the schedule in force, the order's balance rounding through
``OrderFeeAccumulator``), the same marks and settlement. The walk below is ``KalshiTradingEnv.step``
applied from every position; the tests hold the two together (the DP equals a brute force over
every action sequence through the real env on tiny tapes).

**Taken liquidity.** Equity is cash plus the position's value at the end, so the cash of an
order depends only on the tick, the position it starts from and the action -- *if* the book it
meets does not depend on earlier orders. The env's fill engine remembers the liquidity it took
and shows it back only gradually, over ``fill.restore_ms`` of event time. So:

- when ``fill.restore_ms <= tick_ms`` the engine has forgotten every take by the next order and
  the DP over (tick, position) is **exact**: its value is the best P&L of any action sequence in
  the env (tested against a brute force over every sequence through the real env);
- otherwise each DP state carries the fill engine of the best path reaching it, and prices its
  orders against the book that path left (taken liquidity still hidden). Every value is then the
  P&L of a real action sequence, replayed through the env to the micro-dollar, so the oracle is
  **achievable**: never above the true optimum, and below it only when the path with the most
  cash at some (tick, position) left a thinner book than a poorer one would have. On 400 random
  tiny tapes with the default 5 s restore it found the optimum on 398 and 98 % of it at worst.
  (Ignoring consumption instead, as if liquidity came back by the next tick, overstated the
  optimum by 2 % in total and is not even an upper bound: a partial fill on a thinned book can
  reach a position that pays more at the position limit.)

States are (tick, position), in units of 0.01 contract: up to ``2 x position_limit + 1`` of
them. Without carried liquidity, fills are priced once per tick and side, so a tick costs
O(positions x 5) ledger updates. **State cap.** Carrying liquidity makes each position's fills
its own, and partial fills against liquidity coming back create positions at any unit, so the
states multiply (a 100-tick tape: 79 s). That DP keeps about ``MAX_STATES`` positions a tick,
spread over the range: in each one-contract bucket, those worth the most if held to the end
(foresight, as the oracle's). Every kept value is still a real path's (achievable); on the
random tapes measured it lost nothing (100 ticks: the same P&L in 1.1 s; 1,000 ticks: 14 s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kalshi_rl.core.events import Side
from kalshi_rl.environments.action_space import N_ACTIONS, Action, decode_action
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.fee_timeline import FeeTimeline
from kalshi_rl.environments.tape import Tape
from kalshi_rl.execution.fee_rounding import OrderFeeAccumulator
from kalshi_rl.execution.fees import FeeModel
from kalshi_rl.execution.fill_engine import Fill, FillEngine
from kalshi_rl.execution.position import MICRO_PER_DOLLAR, PositionLedger

_START_MARK_TICKS = 5_000.0  # the env's mark before the tape shows one
BUCKET_UNITS = 100  # one contract
MAX_STATES = 256
"""Positions the liquidity-carrying DP keeps a tick (module docstring, "State cap")."""


@dataclass(frozen=True)
class OraclePlan:
    """The best action sequence on one tape (one action per tick) and its DP value."""

    market_ticker: str
    actions: tuple[int, ...]
    pnl: float
    """Dollars after fees, marked or settled as the env does."""
    exact: bool
    """True when ``pnl`` is the optimum (``assumption_holds``); else an achievable lower bound."""


def assumption_holds(config: EnvConfig) -> bool:
    """True when taken liquidity is restored by the next tick: the DP is then exact."""
    return config.fill.restore_ms <= config.tick_ms


def _final_mark(tape: Tape) -> float:
    """The env's mark at the tape's end: its last known mid (the env carries a mark forward)."""
    known = tape.marks[~np.isnan(tape.marks)]
    return float(known[-1]) if len(known) else _START_MARK_TICKS


def _terminal_micro(position_units: int, tape: Tape, mark: float, precision_micro: int) -> float:
    """What holding ``position_units`` at the end adds to cash: settled, or marked."""
    ledger = PositionLedger(position_units=position_units)
    if tape.settlement_ticks is not None:
        return float(ledger.settle(tape.settlement_ticks, precision_micro))
    return ledger.value_micro(mark)


def _order(position_units: int, fill: Fill, precision_micro: int) -> tuple[int, int]:
    """(cash change, new position) of ``fill`` from ``position_units``: the env's ledger walk."""
    ledger = PositionLedger(position_units=position_units)
    rounding = OrderFeeAccumulator(precision_micro)  # one order
    for price, units, trade_fee in fill.levels:
        fee = rounding.charge(ledger.revenue_micro(fill.side, units, price), trade_fee)
        ledger.buy(fill.side, units, price, fee.net_fee_micro)
    return ledger.cash_micro, ledger.position_units


def plan_tape(
    tape: Tape, config: EnvConfig, carry_consumption: bool | None = None, max_states: int = MAX_STATES
) -> OraclePlan:
    """The DP over (tick, position) on ``tape`` as the evaluation walks it (start to end, flat).

    ``carry_consumption`` (default: unless ``assumption_holds``) prices each order against the
    liquidity its own path left; False ignores what earlier orders took (see the module docstring).
    Carrying keeps at most ``max_states`` positions a tick (``MAX_STATES``).
    """
    if carry_consumption is None:
        carry_consumption = not assumption_holds(config)
    final_mark = _final_mark(tape)
    fees = FeeTimeline(tape.fees, config.fill.fees, tape.market_ticker)
    precision = config.fill.fees.member_precision_micro
    latency_ns = int(config.fill.latency_max_ms * 1_000_000)
    max_levels = config.fill.max_levels
    pricer = FillEngine(config.fill, seed=0)
    # best[position] = the most cash any action sequence holds on reaching it; back[k] says how.
    best: dict[int, int] = {0: 0}
    engines: dict[int, FillEngine] = {0: FillEngine(config.fill, seed=0)}
    back: list[dict[int, tuple[int, int]]] = []
    for k in range(len(tape)):
        exec_ns = int(tape.tick_ns[k]) + latency_ns
        model = fees.at(exec_ns)
        fills: dict[tuple[object, ...], Fill] = {}
        books = {side: tape.ask_levels(side, k)[:max_levels] for side in Side}  # once per tick
        nxt: dict[int, int] = {}
        how: dict[int, tuple[int, int]] = {}
        for position, cash in best.items():
            for action in range(N_ACTIONS):  # HOLD first: a tie never trades for nothing
                intent = decode_action(action, position, config.actions)
                if intent is None:
                    if action != Action.HOLD:
                        continue  # a no-op: the same as holding
                    delta, after = 0, position
                else:
                    asks = books[intent.side]
                    if carry_consumption:
                        asks = engines[position].available(intent.side, asks, exec_ns)
                        key: tuple[object, ...] = (position, intent.side, intent.count_units)
                    else:
                        key = (intent.side, intent.count_units)
                    fill = fills.get(key)
                    if fill is None:
                        pricer.reset()  # prices the book given, nothing taken
                        fill = fills[key] = pricer.buy(
                            intent.side, intent.count_units, asks, exec_ns, fees=model
                        )
                    delta, after = _order(position, fill, precision)
                if after not in nxt or cash + delta > nxt[after]:
                    nxt[after] = cash + delta
                    how[after] = (position, action)
        if carry_consumption:
            if len(nxt) > max_states:
                nxt, how = _strongest(nxt, how, tape, final_mark, precision, max_states)
            engines = {
                after: _carried(engines[p], a, p, tape, k, exec_ns, config, model)
                for after, (p, a) in how.items()
            }
        best = nxt
        back.append(how)
    mark = _final_mark(tape)
    value, position = max(
        ((cash + _terminal_micro(p, tape, mark, precision), p) for p, cash in best.items()),
        key=lambda item: (item[0], item[1] == 0),  # equal values: prefer ending flat
    )
    actions = []
    for how in reversed(back):
        position, action = how[position]
        actions.append(action)
    actions.reverse()
    return OraclePlan(tape.market_ticker, tuple(actions), value / MICRO_PER_DOLLAR, assumption_holds(config))


def _strongest(
    cash: dict[int, int], how: dict[int, tuple[int, int]], tape: Tape, mark: float, precision: int, keep: int
) -> tuple[dict[int, int], dict[int, tuple[int, int]]]:
    """About ``keep`` positions (at least one per bucket), spread over the range: in each bucket
    of nearby positions, those
    worth the most if held to the end (cash plus the position settled or marked as the tape
    ends: foresight, as the oracle's)."""
    buckets: dict[int, list[int]] = {}
    for p in cash:
        buckets.setdefault(p // BUCKET_UNITS, []).append(p)
    per_bucket = max(1, keep // len(buckets))
    kept = []
    for members in buckets.values():
        members.sort(key=lambda p: cash[p] + _terminal_micro(p, tape, mark, precision), reverse=True)
        kept += members[:per_bucket]
    return {p: cash[p] for p in kept}, {p: how[p] for p in kept}


def _carried(
    engine: FillEngine,
    action: int,
    position: int,
    tape: Tape,
    k: int,
    exec_ns: int,
    config: EnvConfig,
    model: FeeModel,
) -> FillEngine:
    intent = decode_action(action, position, config.actions)
    if intent is None:
        return engine
    engine = engine.fork()
    engine.buy(intent.side, intent.count_units, tape.ask_levels(intent.side, k), exec_ns, fees=model)
    return engine


def plan_tapes(tapes: Sequence[Tape], config: EnvConfig) -> list[OraclePlan]:
    return [plan_tape(tape, config) for tape in tapes]


class OraclePolicy:
    """Plays the plans, tape after tape, in the evaluation's order (``run_policy``)."""

    name = "oracle"

    def __init__(self, plans: Sequence[OraclePlan]) -> None:
        self.plans = list(plans)
        self._episode = -1
        self._step = 0

    @property
    def pnl(self) -> float:
        """The plans' total DP value, dollars (what replaying them earns)."""
        return math.fsum(plan.pnl for plan in self.plans)

    def reset(self) -> None:
        self._episode += 1
        self._step = 0

    def act(self, observation: np.ndarray) -> int:
        actions = self.plans[self._episode % len(self.plans)].actions
        action = actions[self._step] if self._step < len(actions) else int(Action.HOLD)
        self._step += 1
        return action
