/** The live book of one market from /rl/ws/orderbook: only the latest update is kept, and the page
 *  re-renders at most once per animation frame however fast updates come. */
import { useRef, useState } from "react";
import type { OrderbookUpdate } from "../lib/messages";
import { type StreamStatus, useStream } from "./useStream";

export function useOrderbookStream(market: string | null): {
  book: OrderbookUpdate["data"] | null;
  status: StreamStatus;
} {
  const [book, setBook] = useState<OrderbookUpdate["data"] | null>(null);
  const pending = useRef<OrderbookUpdate["data"] | null>(null);
  const frame = useRef<number | null>(null);
  const status = useStream(market ? "/rl/ws/orderbook" : null, market ? { market } : {}, (message) => {
    if (message.type !== "orderbook_update") return; // a kind this page does not know yet
    pending.current = message.data;
    if (frame.current === null) {
      frame.current = requestAnimationFrame(() => {
        frame.current = null;
        setBook(pending.current);
      });
    }
  });
  return { book: book && book.market_ticker === market ? book : null, status };
}
