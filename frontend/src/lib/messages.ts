/** The WebSocket messages of spec §5.2, as the service sends them (prices and sizes as exact
 *  strings). Generated, never written by hand: the service builds each message through a pydantic
 *  model, the OpenAPI document publishes those models as components (and ``x-streams``: which
 *  messages each /rl/ws/* path sends), and openapi-typescript turns them into these types. */
import type { components } from "../api/schema";

type Schemas = components["schemas"];

export type OrderbookUpdate = Schemas["OrderbookUpdate"];
/** [price in dollars, size in contracts], e.g. ["0.6555", "12.50"]. */
export type Level = OrderbookUpdate["data"]["yes_bids"][number];
export type ActionMessage = Schemas["ActionMessage"];
export type HoldMessage = Schemas["HoldMessage"];
export type MarketRollMessage = Schemas["MarketRollMessage"];
export type TrainingProgressMessage = Schemas["TrainingProgressMessage"];
export type TrainingFinishedMessage = Schemas["TrainingFinishedMessage"];
export type StreamError = Schemas["StreamError"];

/** What each stream may send (a refusal, ``error``, included). */
export type OrderbookStreamMessage = Schemas["OrderbookStreamMessage"];
export type ActionsStreamMessage = Schemas["ActionsStreamMessage"];
export type TrainingStreamMessage = Schemas["TrainingStreamMessage"];
