import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { cumulative, yesDepth } from "../../lib/book";
import type { OrderbookUpdate } from "../../lib/messages";
import update from "../../test/fixtures/orderbook_update.json";
import { OrderbookVisualizer } from "./OrderbookVisualizer";

// What the service sends for a book with sub-cent prices (tests/api/test_ui_fixtures.py keeps it so).
const message = update as OrderbookUpdate;

describe("OrderbookVisualizer", () => {
  it("shows the ladder with the exact dollar and size strings, sub-cent included", () => {
    render(<OrderbookVisualizer book={message.data} />);
    const ladder = screen.getByRole("table", { name: "Ladder of KXSUBCENT-26DEC02" });
    const rows = within(ladder).getAllByRole("row").slice(1);
    expect(rows.map((r) => within(r).getAllByRole("cell").map((c) => c.textContent))).toEqual([
      ["12.50", "$0.6555", "$0.6600", "8.00"],
      ["3.00", "$0.6500", "$0.6605", "1.50"],
    ]);
  });

  it("marks spread and mid on the depth chart", () => {
    render(<OrderbookVisualizer book={message.data} />);
    const chart = screen.getByRole("figure", { name: "YES depth of KXSUBCENT-26DEC02" });
    expect(chart).toHaveTextContent("Best bid $0.6555, best ask $0.6600, spread $0.0045, mid $0.65775");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("accumulates depth away from the touch", () => {
    const depth = yesDepth(message.data);
    expect(depth.bids).toEqual([
      { price: 0.6555, cumulative: 12.5 },
      { price: 0.65, cumulative: 15.5 },
    ]);
    expect(depth.asks).toEqual([
      { price: 0.66, cumulative: 8 },
      { price: 0.6605, cumulative: 9.5 },
    ]);
    expect(cumulative([])).toEqual([]);
  });

  it("marks a stale book in words", () => {
    render(<OrderbookVisualizer book={{ ...message.data, stale: true }} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Stale book");
  });
});
