/** Depth and ladder from an orderbook_update: prices stay strings; numbers only to plot. */
import type { Level, OrderbookUpdate } from "./messages";

export interface DepthPoint {
  price: number;
  cumulative: number;
}

export interface Depth {
  bids: DepthPoint[]; // best (highest) first
  asks: DepthPoint[]; // best (lowest) first
  bestBid: string | null;
  bestAsk: string | null;
  spread: string | null;
  mid: number | null;
}

/** Cumulative size by price walking away from the touch (the book's levels come best first). */
export function cumulative(levels: Level[]): DepthPoint[] {
  let total = 0;
  return levels.map(([price, size]) => {
    total += Number(size);
    return { price: Number(price), cumulative: total };
  });
}

/** YES depth: YES bids as sent; YES asks are the NO bids seen from the YES side (the service
 *  already sends them as ``yes_asks``). */
export function yesDepth(update: OrderbookUpdate["data"]): Depth {
  return {
    bids: cumulative(update.yes_bids),
    asks: cumulative(update.yes_asks),
    bestBid: update.yes_bids[0]?.[0] ?? null,
    bestAsk: update.yes_asks[0]?.[0] ?? null,
    spread: update.spread_yes,
    mid: update.mid_yes,
  };
}

/** "$0.6555" from "0.6555": the exact string, never rounded. */
export function dollars(value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  return value.startsWith("-") ? `-$${value.slice(1)}` : `$${value}`;
}

/** A float of dollars (P&L, unrealized) shown to the cent, sub-cent kept when present. */
export function money(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const digits = Math.abs(value * 100 - Math.round(value * 100)) > 1e-9 ? 4 : 2;
  const text = Math.abs(value).toFixed(digits);
  return value < 0 ? `-$${text}` : `$${text}`;
}
