"""The env's fees: the schedule in force for the market when a fill executes, each level one
match, the order's balance rounded as Kalshi's fee-rounding document (version retrieved
2026-10-08) says, the fee policy in the train/serve contract, and markets it cannot price refused."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from kalshi_rl.core.errors import FeeScheduleError
from kalshi_rl.core.events import Side
from kalshi_rl.core.fee_schedule import DEFAULT_FEE_SCHEDULE, FeeSchedule, FeeSource, FeeType
from kalshi_rl.data.replay.lake import MarketMeta
from kalshi_rl.environments.action_space import Action
from kalshi_rl.environments.contract import EnvConfig, env_config_from_contract
from kalshi_rl.environments.fee_timeline import FeeTimeline, fee_schedules_seen
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes
from kalshi_rl.environments.tape import EXEC_DEPTH, Tape, fee_changes
from kalshi_rl.execution.fees import DIRECT_PRECISION_MICRO, FeePolicy
from kalshi_rl.execution.fill_engine import FillConfig
from tests.environments.conftest import make_data, make_segment

SECOND = 1_000_000_000
T0 = 1_800_000_000 * SECOND
SERIES = FeeSchedule(FeeType.QUADRATIC, Fraction(1))
OVERRIDE = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(2), FeeSource.EVENT_OVERRIDE)
FLAT = FeeSchedule(FeeType.FLAT, Fraction(1))


def tape(fees: tuple[tuple[int, FeeSchedule], ...], ticks: int = 4, market: str = "KXFEE-1") -> Tape:
    """A market whose YES ask is 10 contracts at $0.52, then 10 at $0.53, at every tick."""
    asks = {side: np.zeros((ticks, EXEC_DEPTH, 2), dtype=np.int64) for side in Side}
    asks[Side.YES][:, 0] = (5_200, 1_000)
    asks[Side.YES][:, 1] = (5_300, 1_000)
    tick_ns = T0 + np.arange(ticks, dtype=np.int64) * SECOND
    features = np.zeros((ticks, len(EnvConfig().spec.book_features)), dtype=np.float32)
    marks = np.full(ticks, 5_000.0)
    return Tape(market, 1, tick_ns, features, marks, asks, None, None, fees)


def config(policy: FeePolicy | None = None) -> EnvConfig:
    fill = FillConfig(latency_min_ms=0.0, latency_max_ms=0.0, restore_ms=0.0, fees=policy or FeePolicy())
    return EnvConfig(tick_ms=1_000, episode_ticks=10, min_episode_ticks=1, fill=fill)


def buys(env: KalshiTradingEnv, n: int) -> list[dict[str, object]]:
    env.reset(seed=0)
    return [env.step(int(Action.BUY_YES))[4]["fill"] for _ in range(n)]


def test_each_fill_pays_the_schedule_in_force_when_it_executes() -> None:
    # The event's override (maker fees, multiplier 2) starts at the third tick: the first two
    # buys pay 0.07 x 10 x 0.52 x 0.48 = $0.17472, the next 2 x that = $0.34944.
    env = KalshiTradingEnv([tape(((T0, SERIES), (T0 + 2 * SECOND, OVERRIDE)))], config(), sequential=True)
    assert [f["trade_fee_micro"] for f in buys(env, 3)] == [174_720, 174_720, 349_440]


def test_an_order_is_rounded_to_the_cent_with_its_own_accumulator() -> None:
    # 15 contracts: 10 @ $0.52 (trade fee $0.17472; -5.37472 -> -5.38, rounding $0.00528) and
    # 5 @ $0.53 (0.07 x 5 x 0.53 x 0.47 = $0.087185; -2.737185 -> -2.74, rounding $0.002815):
    # the accumulator holds $0.008095, under a cent: no rebate. Net fees 0.18 + 0.09 = $0.27.
    env = KalshiTradingEnv(
        [tape(((T0, SERIES),))], replace(config(), actions=replace(config().actions, order_units=1_500))
    )
    (fill,) = buys(env, 1)
    assert fill["units"] == 1_500 and fill["trade_fee_micro"] == 174_720 + 87_185
    assert fill["fee_micro"] == 270_000 == env.ledger.fees_micro
    assert env.ledger.cash_micro == -5_380_000 - 2_740_000


def test_a_direct_member_is_rounded_to_the_centicent() -> None:
    # -5.37472 -> -5.3748: a $0.00008 rounding fee.
    env = KalshiTradingEnv(
        [tape(((T0, SERIES),))], config(FeePolicy(member_precision_micro=DIRECT_PRECISION_MICRO))
    )
    (fill,) = buys(env, 1)
    assert (fill["trade_fee_micro"], fill["fee_micro"]) == (174_720, 174_800)
    assert env.ledger.cash_micro == -5_374_800


def test_a_fixed_policy_overrides_every_market_schedule() -> None:
    free = FeePolicy(fixed=FeeSchedule(FeeType.QUADRATIC, Fraction(0)))
    env = KalshiTradingEnv([tape(((T0, SERIES), (T0 + SECOND, FLAT)))], config(free), sequential=True)
    assert [(f["trade_fee_micro"], f["fee_micro"]) for f in buys(env, 3)] == [(0, 0)] * 3


def test_a_flat_market_is_refused_at_construction_unless_its_fee_is_configured() -> None:
    tapes = [
        tape(((T0, SERIES),), market="KXOK"),
        tape(((T0, SERIES), (T0 + SECOND, FLAT)), market="KXFLAT-1"),
    ]
    with pytest.raises(FeeScheduleError, match=r"market KXFLAT-1: fee_type flat .*--flat-fee"):
        KalshiTradingEnv(tapes, config())
    priced = FeePolicy(flat_fee_per_contract=Fraction("0.03"))
    env = KalshiTradingEnv(tapes[1:], config(priced), sequential=True)
    assert [f["trade_fee_micro"] for f in buys(env, 2)] == [174_720, 300_000]  # then 10 x $0.03


def test_the_fee_policy_is_part_of_the_contract_and_round_trips() -> None:
    policy = FeePolicy(OVERRIDE, Fraction("0.02"), DIRECT_PRECISION_MICRO)
    contract = json.loads(json.dumps(config(policy).contract()))
    assert contract["fill"]["fees"] == {
        "schedule": {"fee_type": "quadratic_with_maker_fees", "fee_multiplier": "2"},
        "flat_fee_per_contract": "1/50",
        "member_precision": "1/10000",
        "rounding": "kalshi fee_rounding 2026-10-08: per match ceil $0.000001, per-order accumulator",
    }
    assert env_config_from_contract(contract).fill.fees == policy
    # Any change of fee policy is a different contract: the actor and a fine-tune refuse it.
    assert config().contract() != contract and config(FeePolicy()).contract() == config().contract()


def test_a_contract_from_before_the_fee_policy_cannot_be_reproduced() -> None:
    contract = config().contract()
    contract["fill"]["fees"] = {
        "taker_rate": "7/100",
        "maker_rate": "7/400",
        "maker_fees": False,
        "multiplier": "1",
    }
    with pytest.raises(ValueError, match="rounding"):
        env_config_from_contract(contract)


def test_the_schedules_seen_in_training_are_listed_per_market() -> None:
    tapes = [tape(((T0, SERIES), (T0 + 2 * SECOND, OVERRIDE))), tape(((T0, SERIES),), market="KXB")]
    assert fee_schedules_seen(tapes, FeePolicy()) == [
        {"market": "KXB", "from_ns": T0, **SERIES.to_dict()},
        {"market": "KXFEE-1", "from_ns": T0, **SERIES.to_dict()},
        {"market": "KXFEE-1", "from_ns": T0 + 2 * SECOND, **OVERRIDE.to_dict()},
    ]
    free = FeeSchedule(FeeType.QUADRATIC, Fraction(0))
    assert [s["fee_multiplier"] for s in fee_schedules_seen(tapes, FeePolicy(fixed=free))] == ["0", "0"]


def test_a_timeline_uses_its_first_schedule_before_the_first_change() -> None:
    timeline = FeeTimeline(((T0, SERIES), (T0 + SECOND, OVERRIDE)), FeePolicy(), "KX")
    assert timeline.at(T0 - 1) == timeline.at(T0) == timeline.at(T0 + SECOND - 1)
    assert timeline.at(T0 + SECOND).schedule == OVERRIDE


def test_a_tape_keeps_the_schedule_in_force_at_its_start_and_the_changes_inside_it() -> None:
    nothing_known = MarketMeta("KX")
    assert fee_changes(nothing_known, T0, T0 + 10 * SECOND) == ((T0, DEFAULT_FEE_SCHEDULE),)
    changes = ((T0 - 5 * SECOND, SERIES), (T0 + SECOND, OVERRIDE), (T0 + 20 * SECOND, SERIES))
    meta = MarketMeta("KX", fees=changes)
    assert fee_changes(meta, T0, T0 + 10 * SECOND) == ((T0, SERIES), (T0 + SECOND, OVERRIDE))
    assert fee_changes(meta, T0 + 30 * SECOND, T0 + 40 * SECOND) == ((T0 + 30 * SECOND, SERIES),)
    late = MarketMeta("KX", fees=((T0 + 20 * SECOND, OVERRIDE),))  # known only from later on
    assert fee_changes(late, T0, T0 + 10 * SECOND) == ((T0, OVERRIDE),)


def test_replayed_data_carries_its_fee_changes_into_the_fills() -> None:
    """From ``ReplayData`` (the lake's MarketMeta.fees) to the env: trading is free from the moment
    the event's override (multiplier 0) takes effect, 30 s into the market."""
    segment = make_segment("KX-A", seconds=60)
    free = FeeSchedule(FeeType.QUADRATIC, Fraction(0), FeeSource.EVENT_OVERRIDE)
    meta = MarketMeta("KX-A", fees=((segment.snapshot_ns, SERIES), (segment.snapshot_ns + 30 * SECOND, free)))
    config = EnvConfig(episode_ticks=1_000, min_episode_ticks=10)
    env = KalshiTradingEnv(build_tapes(make_data([segment], {"KX-A": meta}), config), config, sequential=True)
    env.reset(seed=0)
    latency_ns = int(config.fill.latency_max_ms * 1_000_000)
    charged = []
    for tick_ns in env.tapes[0].tick_ns.tolist()[:-1]:
        fill = env.step(int(Action.BUY_YES if env.ledger.position_units < 3_000 else Action.SELL_YES))[4].get(
            "fill"
        )
        if fill and fill["units"]:
            charged.append(
                (tick_ns + latency_ns >= segment.snapshot_ns + 30 * SECOND, fill["trade_fee_micro"])
            )
    assert {after for after, _ in charged} == {False, True}
    assert all(fee > 0 for after, fee in charged if not after)
    assert all(fee == 0 for after, fee in charged if after)
