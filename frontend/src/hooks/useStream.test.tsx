import { act, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetToken } from "../api/token";
import { StreamBadge } from "../components/ml/StreamBadge";
import { useStream } from "./useStream";

/** Stands in for the browser's WebSocket: the test opens, feeds and drops each connection by
 *  hand, so the reconnect timing is exact (the real socket is exercised by tests/browser). */
class FakeSocket {
  static made: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: MessageEvent<string>) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  closedByPage = false;

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }

  open(): void {
    act(() => this.onopen?.());
  }

  send(message: unknown): void {
    act(() => this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent<string>));
  }

  drop(code = 1006, reason = ""): void {
    act(() => this.onclose?.({ code, reason } as CloseEvent));
  }

  close(): void {
    this.closedByPage = true;
  }
}

function Harness({ onMessage }: { onMessage: (message: { type: string; data: unknown }) => void }) {
  const status = useStream("/rl/ws/actions", { market: "KX-1" }, onMessage);
  return <StreamBadge name="Actions" status={status} />;
}

function latest(): FakeSocket {
  const socket = FakeSocket.made.at(-1);
  if (!socket) throw new Error("no socket was made");
  return socket;
}

function badge(): string {
  return screen.getByRole("status").textContent ?? "";
}

/** The next connection is made exactly ``ms`` after the last one dropped, not a millisecond sooner. */
function expectReconnectAfter(ms: number): void {
  const before = FakeSocket.made.length;
  act(() => vi.advanceTimersByTime(ms - 1));
  expect(FakeSocket.made).toHaveLength(before);
  act(() => vi.advanceTimersByTime(1));
  expect(FakeSocket.made).toHaveLength(before + 1);
}

describe("useStream", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal("WebSocket", FakeSocket);
    FakeSocket.made = [];
    resetToken();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it("connects to the stream's URL on this origin and passes its messages on", () => {
    const onMessage = vi.fn();
    render(<Harness onMessage={onMessage} />);
    expect(screen.getByRole("status", { name: "Actions stream: connecting" })).toBeInTheDocument();
    expect(FakeSocket.made).toHaveLength(1);
    const url = new URL(latest().url);
    expect([url.protocol, url.pathname, url.searchParams.get("market")]).toEqual(["ws:", "/rl/ws/actions", "KX-1"]);
    latest().open();
    expect(screen.getByRole("status", { name: "Actions stream: open" })).toBeInTheDocument();
    latest().send({ type: "hold", data: { reason: "flat" } });
    expect(onMessage).toHaveBeenCalledWith({ type: "hold", data: { reason: "flat" } });
  });

  it("shows a dropped stream as reconnecting and waits longer after each failed attempt, up to 10 s", () => {
    render(<Harness onMessage={() => undefined} />);
    latest().open();
    latest().drop();
    expect(screen.getByRole("status", { name: "Actions stream: reconnecting" })).toBeInTheDocument();
    expect(badge()).toContain("connection lost");
    for (const ms of [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]) {
      expectReconnectAfter(ms);
      expect(screen.getByRole("status", { name: "Actions stream: reconnecting" })).toBeInTheDocument();
      latest().drop(); // the service is still down: this attempt fails too
    }
  });

  it("starts again from the shortest wait once a connection has worked", () => {
    render(<Harness onMessage={() => undefined} />);
    latest().drop();
    expectReconnectAfter(500);
    latest().drop();
    expectReconnectAfter(1000);
    latest().drop();
    expectReconnectAfter(2000);
    latest().open(); // the service is back
    expect(screen.getByRole("status", { name: "Actions stream: open" })).toBeInTheDocument();
    latest().drop(1012, "service restart");
    expect(badge()).toContain("service restart");
    expectReconnectAfter(500);
  });

  it("shows the server's last refusal while it reconnects", () => {
    render(<Harness onMessage={() => undefined} />);
    latest().open();
    latest().send({ type: "error", data: { code: "unknown_market", message: "no book for KX-1" } });
    latest().drop(1008);
    expect(screen.getByRole("status", { name: "Actions stream: reconnecting" })).toHaveTextContent("no book for KX-1");
  });

  it("stops reconnecting when the page no longer shows the stream", () => {
    const { unmount } = render(<Harness onMessage={() => undefined} />);
    const socket = latest();
    socket.open();
    unmount();
    expect(socket.closedByPage).toBe(true);
    socket.drop();
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.made).toHaveLength(1);
  });
});
