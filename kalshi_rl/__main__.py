"""``python -m kalshi_rl`` is ``kalshi-rl``."""

from kalshi_rl.cli.app import main

main()
