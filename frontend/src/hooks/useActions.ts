/** The actor's actions and holds from /rl/ws/actions, in a bounded history (newest last). */
import { useRef, useState } from "react";
import { RingBuffer } from "../lib/ringBuffer";
import type { ActionMessage, HoldMessage } from "../lib/messages";
import { type StreamStatus, useStream } from "./useStream";

export type FeedItem = ActionMessage | HoldMessage;
export const ACTION_HISTORY = 500;

export function useActions(): { items: FeedItem[]; status: StreamStatus } {
  const buffer = useRef(new RingBuffer<FeedItem>(ACTION_HISTORY));
  const [items, setItems] = useState<FeedItem[]>([]);
  const status = useStream("/rl/ws/actions", {}, (message) => {
    if (message.type !== "action" && message.type !== "hold") return;
    buffer.current.push(message);
    setItems(buffer.current.toArray());
  });
  return { items, status };
}
