import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderWithQueries } from "../../test/render";
import { TrainingProgress } from "./TrainingProgress";

// jsdom has no server: the stand-in records what would be sent and answers like the service.
function serviceStandIn(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit }[] = [];
  vi.stubGlobal("fetch", (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return Promise.resolve(new Response(JSON.stringify(body), { status }));
  });
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

async function replace(label: string, text: string) {
  const input = screen.getByRole("textbox", { name: label });
  await userEvent.clear(input);
  if (text) await userEvent.type(input, text.replace(/[{[]/g, "$&$&"));
}

describe("TrainingProgress form", () => {
  it("refuses invalid values with the reason, before any request", async () => {
    const calls = serviceStandIn(202, {});
    renderWithQueries(<TrainingProgress training={null} history={[]} market={null} />);
    await replace("Timesteps", "0");
    await replace("Parallel environments", "65");
    await replace("Hyperparameters (JSON)", "nope");
    await userEvent.click(screen.getByRole("button", { name: "Start training" }));

    expect(screen.getByText("Markets (comma separated): name at least one market")).toBeInTheDocument();
    expect(screen.getByText("Timesteps: must be a whole number from 1 to 100000000")).toBeInTheDocument();
    expect(screen.getByText("Parallel environments: must be a whole number from 1 to 64")).toBeInTheDocument();
    expect(screen.getByText(/Hyperparameters: must be a JSON object/)).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "Timesteps" })).toHaveAttribute("aria-invalid", "true");
    expect(calls).toEqual([]);

    await replace("Markets (comma separated)", "kx lower");
    await userEvent.click(screen.getByRole("button", { name: "Start training" }));
    expect(screen.getByText(/tickers are upper-case letters, digits and dashes/)).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it("sends a valid form and shows the server's refusal with its message", async () => {
    const calls = serviceStandIn(409, { error: { code: "conflict", message: "a training run is already running" } });
    renderWithQueries(<TrainingProgress training={null} history={[]} market="KX-1" />);
    await replace("Timesteps", "512");
    await replace("Hyperparameters (JSON)", '{"n_steps": 128}');
    await userEvent.click(screen.getByRole("button", { name: "Start training" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("Error: a training run is already running");
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe("/rl/training/start");
    expect(JSON.parse(calls[0].init.body as string)).toEqual({
      markets: ["KX-1"],
      algo: "ppo",
      timesteps: 512,
      n_envs: 1,
      tick_ms: 1000,
      episode_ticks: 300,
      hyperparameters: { n_steps: 128 },
    });
  });
});
