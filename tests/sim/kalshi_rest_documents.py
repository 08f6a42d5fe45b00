"""REST expectations written by hand from Kalshi's OpenAPI 3.31.0 ("Kalshi Trade API Manual Endpoints").

Source: repository TexasCoding/kalshi-python-sdk, ``specs/openapi.yaml`` at commit
bcd7533ecf15974667320f5cc8932818a1351b3c (read, not copied). Schemas: Market (34 required
fields, incl. ``settlement_bounds_type`` enum default/floor), PriceRange, MveSelectedLeg,
GetMarketsResponse, GetMarketResponse, GetMarketOrderbookResponse, OrderbookCountFp,
PriceLevelDollarsCountFp, Series, GetSeriesResponse, SettlementSource, EventData,
GetEventResponse, ErrorResponse; FixedPointDollars / FixedPointCount strings, FeeType enum,
``fee_multiplier`` ``number`` (double). Error bodies are Kalshi's observed wrapping
``{"error": ErrorResponse}``.
"""

from __future__ import annotations

from .kalshi_documents import Array, Spec, opt, req

DOLLARS = {"fmt": "dollars"}
COUNT = {"fmt": "count"}
MARKET_STATUSES = (
    "initialized",
    "inactive",
    "active",
    "closed",
    "determined",
    "disputed",
    "amended",
    "finalized",
)
FEE_TYPES = ("quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat")

PRICE_RANGE: Spec = {"start": req("string"), "end": req("string"), "step": req("string")}
MVE_SELECTED_LEG: Spec = {
    "event_ticker": opt("string"),
    "market_ticker": opt("string"),
    "side": opt("string"),
    "yes_settlement_value_dollars": opt("string", nullable=True, **DOLLARS),
}
MARKET: Spec = {
    "ticker": req("string"),
    "event_ticker": req("string"),
    "market_type": req("string", enum=("binary", "scalar")),
    "title": opt("string"),
    "subtitle": opt("string"),
    "yes_sub_title": req("string"),
    "no_sub_title": req("string"),
    "created_time": req("string", fmt="date-time"),
    "updated_time": req("string", fmt="date-time"),
    "open_time": req("string", fmt="date-time"),
    "close_time": req("string", fmt="date-time"),
    "expected_expiration_time": opt("string", fmt="date-time", nullable=True),
    "expiration_time": opt("string", fmt="date-time"),
    "latest_expiration_time": req("string", fmt="date-time"),
    "settlement_timer_seconds": req("integer"),
    "status": req("string", enum=MARKET_STATUSES),
    "yes_bid_dollars": req("string", **DOLLARS),
    "yes_bid_size_fp": req("string", **COUNT),
    "yes_ask_dollars": req("string", **DOLLARS),
    "yes_ask_size_fp": req("string", **COUNT),
    "no_bid_dollars": req("string", **DOLLARS),
    "no_ask_dollars": req("string", **DOLLARS),
    "last_price_dollars": req("string", **DOLLARS),
    "volume_fp": req("string", **COUNT),
    "volume_24h_fp": req("string", **COUNT),
    "result": req("string", enum=("yes", "no", "scalar", "")),
    "can_close_early": req("boolean"),
    "open_interest_fp": req("string", **COUNT),
    "notional_value_dollars": req("string", **DOLLARS),
    "previous_yes_bid_dollars": req("string", **DOLLARS),
    "previous_yes_ask_dollars": req("string", **DOLLARS),
    "previous_price_dollars": req("string", **DOLLARS),
    "settlement_value_dollars": opt("string", nullable=True, **DOLLARS),
    "settlement_ts": opt("string", fmt="date-time", nullable=True),
    "settlement_bounds_type": req("string", enum=("default", "floor")),
    "settlement_floor_dollars": opt("string", nullable=True, **DOLLARS),
    "expiration_value": req("string"),
    "occurrence_datetime": opt("string", fmt="date-time", nullable=True),
    "fee_waiver_expiration_time": opt("string", fmt="date-time", nullable=True),
    "early_close_condition": opt("string", nullable=True),
    "strike_type": opt(
        "string",
        enum=(
            "greater",
            "greater_or_equal",
            "less",
            "less_or_equal",
            "between",
            "functional",
            "custom",
            "structured",
        ),
    ),
    "floor_strike": opt("number", nullable=True),
    "cap_strike": opt("number", nullable=True),
    "functional_strike": opt("string", nullable=True),
    "custom_strike": opt("object", nullable=True),
    "rules_primary": req("string"),
    "rules_secondary": req("string"),
    "mve_collection_ticker": opt("string"),
    "mve_selected_legs": opt(Array(MVE_SELECTED_LEG)),
    "primary_participant_key": opt("string", nullable=True),
    "price_level_structure": req("string"),
    "price_ranges": req(Array(PRICE_RANGE)),
    "is_provisional": opt("boolean"),
    "exchange_index": opt("integer"),
}
GET_MARKET: Spec = {"market": req(MARKET)}
GET_MARKETS: Spec = {"markets": req(Array(MARKET)), "cursor": req("string")}
_PRICE_LEVEL = Array("string", 2, 2)
GET_ORDERBOOK: Spec = {
    "orderbook_fp": req({"yes_dollars": req(Array(_PRICE_LEVEL)), "no_dollars": req(Array(_PRICE_LEVEL))})
}
SETTLEMENT_SOURCE: Spec = {"name": opt("string"), "url": opt("string")}
SERIES: Spec = {
    "ticker": req("string"),
    "frequency": req("string"),
    "title": req("string"),
    "category": req("string"),
    "categories": req(Array("string")),
    "tags": req(Array("string"), nullable=True),
    "settlement_sources": req(Array(SETTLEMENT_SOURCE), nullable=True),
    "contract_url": req("string"),
    "contract_terms_url": req("string"),
    "product_metadata": opt("object", nullable=True),
    "fee_type": req("string", enum=FEE_TYPES),
    "fee_multiplier": req("number"),
    "additional_prohibitions": req(Array("string"), nullable=True),
    "volume_fp": opt("string", **COUNT),
    "last_updated_ts": opt("string", fmt="date-time"),
    "exchange_index": opt("integer"),
}
GET_SERIES: Spec = {"series": req(SERIES)}
EVENT_DATA: Spec = {
    "event_ticker": req("string"),
    "series_ticker": req("string"),
    "sub_title": req("string"),
    "title": req("string"),
    "collateral_return_type": req("string"),
    "mutually_exclusive": req("boolean"),
    "category": opt("string"),
    "strike_date": opt("string", fmt="date-time", nullable=True),
    "strike_period": opt("string", nullable=True),
    "markets": opt(Array(MARKET)),
    "product_metadata": opt("object", nullable=True),
    "settlement_sources": req(Array(SETTLEMENT_SOURCE), nullable=True),
    "last_updated_ts": opt("string", fmt="date-time"),
    "fee_type_override": opt("string", nullable=True),
    "fee_multiplier_override": opt("number", nullable=True),
    "exchange_index": opt("integer"),
}
GET_EVENT: Spec = {"event": req(EVENT_DATA), "markets": req(Array(MARKET))}
ERROR_RESPONSE: Spec = {"code": opt("string"), "message": opt("string"), "details": opt("string")}
ERROR_BODY: Spec = {"error": req(ERROR_RESPONSE)}
