/** Typed calls to the /rl API (types generated from /rl/openapi.json); errors carry the server's message. */
import type { components } from "./schema";
import { getToken, requestToken } from "./token";

export type Schemas = components["schemas"];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (error) {
    throw new ApiError(0, "unreachable", `the service is unreachable (${String(error)})`);
  }
  const text = await response.text();
  const payload = text ? safeJson(text) : null;
  if (!response.ok) {
    const detail = (payload as Schemas["ErrorBody"] | null)?.error;
    const message = detail?.message ?? `${response.status} ${response.statusText}`;
    if (response.status === 401) requestToken(message);
    throw new ApiError(response.status, detail?.code ?? "http_error", message);
  }
  return payload as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The WebSocket URL of a stream on this origin, with the token when there is one. */
export function streamUrl(path: string, params: Record<string, string> = {}): string {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  const token = getToken();
  if (token) url.searchParams.set("token", token);
  return url.toString();
}
