/** Depth chart (cumulative YES bids and asks, spread and mid in the caption) and the ladder of the
 *  top levels, with the service's exact dollar and size strings. */
import { dollars, yesDepth } from "../../lib/book";
import type { OrderbookUpdate } from "../../lib/messages";
import { Chart } from "./Chart";

export const LADDER_ROWS = 10;

export function OrderbookVisualizer({ book }: { book: OrderbookUpdate["data"] | null }) {
  if (book === null) return <p className="text-sm text-slate-500">Waiting for the first book…</p>;
  const depth = yesDepth(book);
  // uPlot wants one ascending x axis: bids (reversed to ascending) then asks; gaps are null.
  const xs = [...depth.bids.map((p) => p.price).reverse(), ...depth.asks.map((p) => p.price)];
  const bidY = [...depth.bids.map((p) => p.cumulative).reverse(), ...depth.asks.map(() => null)];
  const askY = [...depth.bids.map(() => null), ...depth.asks.map((p) => p.cumulative)];
  const summary =
    `Best bid ${dollars(depth.bestBid)}, best ask ${dollars(depth.bestAsk)}, spread ${dollars(depth.spread)}, ` +
    `mid ${depth.mid === null ? "—" : `$${depth.mid}`}`;
  const time = new Date(book.timestamp).toISOString().slice(11, 23);
  return (
    <div className="space-y-3">
      {book.stale && (
        <p role="alert" className="rounded border border-rose-400 bg-rose-50 px-2 py-1 text-sm font-semibold text-rose-900 dark:bg-rose-950 dark:text-rose-100">
          ⚠ Stale book: the feed lost sync; these levels may be out of date.
        </p>
      )}
      <Chart
        label={`YES depth of ${book.market_ticker}`}
        summary={summary}
        series={[
          { label: "YES bids", stroke: "#059669", fill: "rgba(5,150,105,0.15)", stepped: true },
          { label: "YES asks", stroke: "#e11d48", fill: "rgba(225,29,72,0.15)", stepped: true },
        ]}
        xLabel="Price ($)"
        data={[xs, bidY as number[], askY as number[]]}
      />
      <p className="text-xs text-slate-500">
        seq {book.sequence} · {time} UTC
      </p>
      <table aria-label={`Ladder of ${book.market_ticker}`} className="w-full text-right text-sm tabular-nums">
        <thead>
          <tr className="text-xs text-slate-500">
            <th scope="col">Bid size</th>
            <th scope="col">Bid (YES)</th>
            <th scope="col">Ask (YES)</th>
            <th scope="col">Ask size</th>
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: Math.min(LADDER_ROWS, Math.max(book.yes_bids.length, book.yes_asks.length)) }, (_, i) => (
            <tr key={i}>
              <td>{book.yes_bids[i]?.[1] ?? ""}</td>
              <td className="text-emerald-700 dark:text-emerald-400">{book.yes_bids[i] ? dollars(book.yes_bids[i][0]) : ""}</td>
              <td className="text-rose-700 dark:text-rose-400">{book.yes_asks[i] ? dollars(book.yes_asks[i][0]) : ""}</td>
              <td>{book.yes_asks[i]?.[1] ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
