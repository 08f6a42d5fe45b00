"""The historical Gymnasium environment and the shared observation builder."""

from gymnasium.envs.registration import register, registry

ENV_ID = "KalshiTrading-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="kalshi_rl.environments.kalshi_env:KalshiTradingEnv")
