"""Action masks: read from the observation alone, true to the rules the env enforces, and part of
the train/serve contract of a masked model."""

from __future__ import annotations

import numpy as np
import pytest

from kalshi_rl.data.replay.lake import ReplayData
from kalshi_rl.environments.action_mask import action_masks
from kalshi_rl.environments.action_space import Action, ActionConfig
from kalshi_rl.environments.contract import EnvConfig, ObservationNormalization, env_config_from_contract
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes
from kalshi_rl.environments.observation_space import OBSERVATION_SPEC

CONFIG = EnvConfig(episode_ticks=40, min_episode_ticks=10, actions=ActionConfig(1_000, 2_000))


def observation(has_ask: bool, has_bid: bool, position: float) -> np.ndarray:
    obs = np.zeros(OBSERVATION_SPEC.size, np.float32)
    names = OBSERVATION_SPEC.features
    obs[names.index("has_ask")] = has_ask
    obs[names.index("has_bid")] = has_bid
    obs[names.index("position")] = position
    return obs


@pytest.mark.parametrize(
    ("has_ask", "has_bid", "position", "allowed"),
    [
        (True, True, 0.0, {Action.HOLD, Action.BUY_YES, Action.BUY_NO}),  # flat: sells do nothing
        (True, True, 0.5, {Action.HOLD, Action.BUY_YES, Action.SELL_YES, Action.BUY_NO}),
        (True, True, -0.5, {Action.HOLD, Action.BUY_YES, Action.BUY_NO, Action.SELL_NO}),
        (True, True, 1.0, {Action.HOLD, Action.SELL_YES, Action.BUY_NO}),  # long at the limit
        (True, True, -1.0, {Action.HOLD, Action.BUY_YES, Action.SELL_NO}),  # short at the limit
        (False, True, 0.5, {Action.HOLD, Action.SELL_YES, Action.BUY_NO}),  # no YES ask
        (True, False, -0.5, {Action.HOLD, Action.BUY_YES, Action.SELL_NO}),  # no YES bid
        (False, False, 0.5, {Action.HOLD}),  # an empty book: only holding does anything
    ],
)
def test_each_rule_of_the_mask(has_ask: bool, has_bid: bool, position: float, allowed: set[Action]) -> None:
    mask = action_masks(observation(has_ask, has_bid, position), OBSERVATION_SPEC)
    assert {Action(a) for a in np.flatnonzero(mask)} == allowed


def test_masks_of_a_batch_are_the_masks_of_each_observation() -> None:
    batch = np.stack(
        [observation(True, True, 0.0), observation(False, True, 1.0), observation(True, False, -1.0)]
    )
    masks = action_masks(batch, OBSERVATION_SPEC)
    assert masks.shape == (3, 5)
    for obs, mask in zip(batch, masks, strict=True):
        assert np.array_equal(mask, action_masks(obs, OBSERVATION_SPEC))


def test_the_env_masks_exactly_the_actions_that_would_place_no_order(two_markets: ReplayData) -> None:
    """Every masked-out action, taken anyway, places no order and leaves the position alone;
    the env's mask is the function's on the observation it returned."""
    env = KalshiTradingEnv(build_tapes(two_markets, CONFIG), CONFIG)
    rng = np.random.default_rng(4)
    obs, _ = env.reset(seed=4)
    masked_out_taken = allowed_trades = 0
    for _ in range(600):
        mask = env.action_masks()
        assert np.array_equal(mask, action_masks(obs, CONFIG.spec))
        action = int(rng.choice(5, p=[0.1, 0.3, 0.2, 0.2, 0.2]))
        position = env.ledger.position_units
        obs, _, terminated, truncated, info = env.step(action)
        if not mask[action]:
            masked_out_taken += 1
            assert "fill" not in info and env.ledger.position_units == position
        elif action != Action.HOLD and "fill" in info:
            allowed_trades += 1
        if terminated or truncated:
            obs, _ = env.reset()
    assert masked_out_taken > 50 and allowed_trades > 50  # both kinds were exercised


def test_a_masked_and_normalised_contract_records_both_and_round_trips() -> None:
    plain = CONFIG.contract()
    assert "action_mask" not in plain and "observation_normalization" not in plain
    config = EnvConfig(
        episode_ticks=40, masked=True, normalization=ObservationNormalization(clip_obs=5.0, epsilon=1e-6)
    )
    contract = config.contract()
    assert contract["action_mask"]["features"] == ["has_ask", "has_bid", "position"]
    assert contract["observation_normalization"] == {
        "method": "vecnormalize",
        "clip_obs": 5.0,
        "epsilon": 1e-6,
    }
    rebuilt = env_config_from_contract(contract)
    assert rebuilt.masked and rebuilt.normalization == config.normalization
    assert rebuilt.contract() == contract
    assert not env_config_from_contract(plain).masked


def test_a_contract_with_unknown_rules_cannot_be_reproduced() -> None:
    contract = EnvConfig(masked=True).contract()
    contract["action_mask"]["version"] = 99
    with pytest.raises(ValueError, match="contract"):
        env_config_from_contract(contract)
    normalized = EnvConfig(normalization=ObservationNormalization()).contract()
    normalized["observation_normalization"]["method"] = "minmax"
    with pytest.raises(ValueError, match="minmax"):
        env_config_from_contract(normalized)
