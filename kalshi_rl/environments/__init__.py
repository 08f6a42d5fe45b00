"""The historical Gymnasium environment and the shared observation builder.

The observation builder, the action space and the train/serve contract are plain Python and
numpy, used by the paper actor too; only the env itself needs Gymnasium (the ``train`` extra).
"""

ENV_ID = "KalshiTrading-v0"

try:
    from gymnasium.envs.registration import register, registry
except ImportError:  # the base install: the actor runs without the env
    pass
else:
    if ENV_ID not in registry:
        register(id=ENV_ID, entry_point="kalshi_rl.environments.kalshi_env:KalshiTradingEnv")
