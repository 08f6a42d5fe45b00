"""The HTTP routes of spec §4.6, all under /rl: one module per resource, the shared request
handling in ``common``."""
