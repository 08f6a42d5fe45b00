import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Schemas } from "../../api/client";
import { renderWithQueries } from "../../test/render";
import { ModelControl } from "./ModelControl";

afterEach(() => vi.unstubAllGlobals());

function actor(model: string | null, running = true): Schemas["ActorState"] {
  return { running, model, model_id: null, market_ticker: "KX-1", mode: "paper", metrics: null, series: null, waiting: null };
}

describe("ModelControl", () => {
  it("shows when the running actor switches model, and explains that live is disabled", async () => {
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify({ models: [] }), { status: 200 })));
    const { rerender } = renderWithQueries(<ModelControl actor={actor("m@1")} market="KX-1" />);
    expect(screen.getByText(/Live trading is disabled/)).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "live" })).toBeDisabled();
    expect(screen.queryByRole("status", { name: "Model switch" })).not.toBeInTheDocument();

    rerender(<ModelControl actor={actor("m@2")} market="KX-1" />);
    expect(screen.getByRole("status", { name: "Model switch" })).toHaveTextContent(/^Switched from m@1 to m@2 at/);
    rerender(<ModelControl actor={actor(null, false)} market="KX-1" />);
    expect(screen.queryByRole("status", { name: "Model switch" })).not.toBeInTheDocument();
  });

  it("flattens the running actor, and resumes it while a risk breaker holds it", async () => {
    const posted: string[] = [];
    vi.stubGlobal("fetch", (url: string, init?: RequestInit) => {
      if (init?.method === "POST") {
        posted.push(String(url));
        return Promise.resolve(new Response(JSON.stringify({ actor: actor("m@1") }), { status: 200 }));
      }
      return Promise.resolve(new Response(JSON.stringify({ models: [] }), { status: 200 }));
    });
    const { rerender } = renderWithQueries(<ModelControl actor={actor("m@1")} market="KX-1" />);
    expect(screen.queryByRole("button", { name: "Resume" })).not.toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Flatten" }));
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toMatch(/\/rl\/actor\/flatten$/);

    const held = { ...actor("m@1"), metrics: { risk_breaker: "flatten", hold_reason: "risk breaker flatten: emergency stop" } };
    rerender(<ModelControl actor={held} market="KX-1" />);
    expect(screen.getByRole("alert", { name: "Risk breaker" })).toHaveTextContent("risk breaker flatten: emergency stop");
    fireEvent.click(screen.getByRole("button", { name: "Resume" }));
    await waitFor(() => expect(posted).toHaveLength(2));
    expect(posted[1]).toMatch(/\/rl\/actor\/resume$/);
  });

  it("starts the actor by the model's name, sampling its actions when asked", async () => {
    const posted: unknown[] = [];
    vi.stubGlobal("fetch", (_url: string, init?: RequestInit) => {
      if (init?.method === "POST") {
        posted.push(JSON.parse(String(init.body)));
        return Promise.resolve(new Response(JSON.stringify(actor("m@1")), { status: 200 }));
      }
      const models = [{ name: "m", version: 1, status: "ready", id: "00000000-0000-0000-0000-000000000001" }];
      return Promise.resolve(new Response(JSON.stringify({ models }), { status: 200 }));
    });
    renderWithQueries(<ModelControl actor={actor(null, false)} market="KX-1" />);
    const start = await screen.findByRole("button", { name: "Start actor" });
    await waitFor(() => expect(start).toBeEnabled());
    fireEvent.click(screen.getByRole("checkbox", { name: "Sample actions" }));
    fireEvent.click(start);
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toMatchObject({ model_id: "m", market_ticker: "KX-1", mode: "paper", stochastic: true });
  });
});
