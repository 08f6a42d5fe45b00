"""The ML tab's component tests read a real ``orderbook_update`` (frontend/src/test/fixtures): it is
exactly what the service sends for a book with sub-cent prices and fractional sizes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kalshi_rl.api.websocket import orderbook_message
from kalshi_rl.data.book.orderbook_state import OrderbookState

FIXTURE = Path(__file__).parents[2] / "frontend" / "src" / "test" / "fixtures" / "orderbook_update.json"


def sub_cent_book() -> OrderbookState:
    """YES bids $0.6555 x 12.50 and $0.6500 x 3.00; NO bids $0.3400 x 8.00 and $0.3395 x 1.50
    (so YES asks at $0.6600 and $0.6605)."""
    state = OrderbookState("KXSUBCENT-26DEC02")
    state.reset(yes_bids=((6555, 1250), (6500, 300)), no_bids=((3400, 800), (3395, 150)))
    state.last_sequence = 42
    state.last_update_ns = 1_796_212_800_123_000_000
    state.stale = False
    return state


def test_the_component_fixture_is_what_the_service_sends() -> None:
    assert json.loads(FIXTURE.read_text()) == orderbook_message(sub_cent_book())


if __name__ == "__main__":  # regenerate: python -m tests.api.test_ui_fixtures
    FIXTURE.write_text(json.dumps(orderbook_message(sub_cent_book()), indent=2) + "\n")
    sys.stdout.write(f"wrote {FIXTURE}\n")
