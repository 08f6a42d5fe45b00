/** One WebSocket stream: reconnects with exponential backoff, reports its state, asks for the token
 *  when the server closes with 4401 and reconnects once it is given. */
import { useEffect, useRef, useState } from "react";
import { streamUrl } from "../api/client";
import { requestToken, subscribeToken, tokenNeeded } from "../api/token";
import type {
  ActionsStreamMessage,
  OrderbookStreamMessage,
  StreamError,
  TrainingStreamMessage,
} from "../lib/messages";

/** Each stream's path and the messages it sends (the document's ``x-streams``; a Vitest test
 *  keeps the paths equal to the document's). */
export interface Streams {
  "/rl/ws/orderbook": OrderbookStreamMessage;
  "/rl/ws/actions": ActionsStreamMessage;
  "/rl/ws/training": TrainingStreamMessage;
}

export type StreamState = "connecting" | "open" | "reconnecting" | "needs token";

export interface StreamStatus {
  state: StreamState;
  detail: string | null; // the server's last refusal or the close reason
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;

/** ``onMessage`` gets every message but the refusals (``error``: shown in the status instead). */
export function useStream<P extends keyof Streams>(
  path: P | null,
  params: Record<string, string>,
  onMessage: (message: Exclude<Streams[P], StreamError>) => void,
): StreamStatus {
  const [status, setStatus] = useState<StreamStatus>({ state: "connecting", detail: null });
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const key = JSON.stringify(params);

  useEffect(() => {
    if (path === null) return undefined;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay = FIRST_DELAY_MS;
    let stopped = false;
    let lastError: string | null = null;
    let unsubscribe: (() => void) | null = null;

    const connect = () => {
      if (stopped) return;
      if (tokenNeeded() !== null) {
        setStatus({ state: "needs token", detail: tokenNeeded() });
        unsubscribe = subscribeToken(() => {
          if (tokenNeeded() === null) {
            unsubscribe?.();
            unsubscribe = null;
            connect();
          }
        });
        return;
      }
      socket = new WebSocket(streamUrl(path, JSON.parse(key) as Record<string, string>));
      socket.onopen = () => {
        delay = FIRST_DELAY_MS;
        lastError = null;
        setStatus({ state: "open", detail: null });
      };
      socket.onmessage = (event: MessageEvent<string>) => {
        const message = JSON.parse(event.data) as Streams[P];
        if (message.type === "error") {
          lastError = message.data.message;
          return;
        }
        handler.current(message as Exclude<Streams[P], StreamError>);
      };
      socket.onclose = (event: CloseEvent) => {
        socket = null;
        if (stopped) return;
        if (event.code === 4401) {
          requestToken(lastError ?? "the service needs a token for its streams");
          connect();
          return;
        }
        setStatus({ state: "reconnecting", detail: lastError ?? (event.reason || "connection lost") });
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
      };
    };
    setStatus({ state: "connecting", detail: null });
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      unsubscribe?.();
      socket?.close();
    };
  }, [path, key]);

  return status;
}
