"""Starlette service: /rl/* routes and /rl/ws/* streams."""
