import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { FeedItem } from "../../hooks/useActions";
import type { ActionMessage } from "../../lib/messages";
import { ActionFeed } from "./ActionFeed";

function action(second: number, name: ActionMessage["data"]["action"], price: string | null): FeedItem {
  return {
    type: "action",
    data: {
      timestamp: Date.UTC(2026, 11, 2, 14, 0, second),
      market_ticker: "KX-1",
      action: name,
      details: { side: "yes", price, quantity: "10.00", order_type: "market" },
      state: { position: "10.00", avg_price: 0.655, unrealized_pnl: -0.0045 },
      confidence: 0.85,
      model: "m@1",
      executed: price !== null,
    },
  };
}

const hold: FeedItem = {
  type: "hold",
  data: { timestamp: Date.UTC(2026, 11, 2, 14, 0, 2), market_ticker: "KX-1", reason: "no book snapshot yet", skipped_stale: 1, model: "m@1", breaker: null },
};

const items = [action(1, "buy_yes", "0.6555"), hold, action(3, "sell_yes", null)];

function rows() {
  const table = screen.getByRole("table", { name: "Recent actions" });
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((r) => within(r).getAllByRole("cell").map((c) => c.textContent));
}

describe("ActionFeed", () => {
  it("lists the newest first, holds hidden, every column in words", () => {
    render(<ActionFeed items={items} />);
    expect(rows()).toEqual([
      ["14:00:03", "sell yes", "—", "10.00", "not filled", "10.00 (-$0.0045)", "85%"],
      ["14:00:01", "buy yes", "$0.6555", "10.00", "filled", "10.00 (-$0.0045)", "85%"],
    ]);
  });

  it("shows holds with their reason when asked", async () => {
    render(<ActionFeed items={items} />);
    await userEvent.click(screen.getByRole("checkbox", { name: "Hide holds" }));
    expect(rows().map((r) => r[0])).toEqual(["14:00:03", "14:00:02", "14:00:01"]);
    expect(rows()[1]).toEqual(["14:00:02", "hold", "no book snapshot yet"]);
  });

  it("says so when there is nothing yet", () => {
    render(<ActionFeed items={[]} />);
    expect(screen.getByText("No actions yet.")).toBeInTheDocument();
  });
});
