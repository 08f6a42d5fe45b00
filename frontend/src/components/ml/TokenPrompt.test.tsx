import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../../api/client";
import { getToken, resetToken } from "../../api/token";
import { renderWithQueries } from "../../test/render";
import { TokenPrompt } from "./TokenPrompt";

afterEach(() => {
  vi.unstubAllGlobals();
  resetToken();
});

describe("the token flow", () => {
  it("asks once on a 401, explains it, keeps the token for the tab and sends it", async () => {
    const seen: (string | null)[] = [];
    vi.stubGlobal("fetch", (_url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization ?? null;
      seen.push(auth);
      const ok = auth === "Bearer s3cret";
      const body = ok ? { models: [] } : { error: { code: "unauthorized", message: "this route needs a token" } };
      return Promise.resolve(new Response(JSON.stringify(body), { status: ok ? 200 : 401 }));
    });
    renderWithQueries(<TokenPrompt />);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();

    await expect(api("/rl/models", { method: "POST", body: {} })).rejects.toThrow("this route needs a token");
    await expect(api("/rl/models", { method: "POST", body: {} })).rejects.toThrow();
    const dialog = await screen.findByRole("dialog", { name: "API token required" });
    expect(dialog).toHaveTextContent("this route needs a token");
    expect(screen.getAllByRole("dialog")).toHaveLength(1); // asked once

    await userEvent.type(screen.getByLabelText("Token"), "s3cret");
    await userEvent.click(screen.getByRole("button", { name: "Use token" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(getToken()).toBe("s3cret");
    expect(sessionStorage.getItem("kalshi-rl-token")).toBe("s3cret"); // this tab only

    await expect(api("/rl/models", { method: "POST", body: {} })).resolves.toEqual({ models: [] });
    expect(seen).toEqual([null, null, "Bearer s3cret"]);
  });
});
