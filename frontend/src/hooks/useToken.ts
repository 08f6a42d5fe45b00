/** Whether the server asked for a token (and why), re-rendering when that changes. */
import { useSyncExternalStore } from "react";
import { subscribeToken, tokenNeeded } from "../api/token";

export function useTokenNeeded(): string | null {
  return useSyncExternalStore(subscribeToken, tokenNeeded);
}
