"""Agents: SB3 training, baselines, evaluation, and the inference policy."""
