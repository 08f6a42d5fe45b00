"""Integration tests: the real local exchange over a real WebSocket (``make_sim`` in tests/conftest.py)."""
