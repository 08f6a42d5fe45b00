/** The actor's recent decisions, newest first; holds can be hidden. The action is a word, never
 *  only a color. */
import { useState } from "react";
import type { FeedItem } from "../../hooks/useActions";
import { money } from "../../lib/book";

export const FEED_ROWS = 50;

function time(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function isHold(item: FeedItem): boolean {
  return item.type === "hold" || item.data.action === "hold";
}

export function ActionFeed({ items }: { items: FeedItem[] }) {
  const [hideHolds, setHideHolds] = useState(true);
  const shown = items.filter((item) => !(hideHolds && isHold(item))).slice(-FEED_ROWS).reverse();
  return (
    <div className="space-y-2">
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={hideHolds} onChange={(e) => setHideHolds(e.target.checked)} />
        Hide holds
      </label>
      {shown.length === 0 ? (
        <p className="text-sm text-slate-500">No actions yet.</p>
      ) : (
        <div className="overflow-x-auto">
          <table
            aria-label="Recent actions"
            className="w-full text-sm tabular-nums [&_td]:whitespace-nowrap [&_td]:px-1 [&_th]:whitespace-nowrap [&_th]:px-1"
          >
            <thead>
              <tr className="text-left text-xs text-slate-500">
                <th scope="col">Time</th>
                <th scope="col">Action</th>
                <th scope="col">Price</th>
                <th scope="col">Size</th>
                <th scope="col">Fill</th>
                <th scope="col">Position</th>
                <th scope="col">Confidence</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((item, index) =>
                item.type === "hold" ? (
                  <tr key={`${item.data.timestamp}-${index}`} className="text-slate-500">
                    <td>{time(item.data.timestamp)}</td>
                    <td>hold</td>
                    <td colSpan={5}>{item.data.reason}</td>
                  </tr>
                ) : (
                  <tr key={`${item.data.timestamp}-${index}`}>
                    <td>{time(item.data.timestamp)}</td>
                    <td className={item.data.action.startsWith("buy") ? "text-emerald-700 dark:text-emerald-400" : item.data.action.startsWith("sell") ? "text-rose-700 dark:text-rose-400" : ""}>
                      {item.data.action.replace("_", " ")}
                    </td>
                    <td>{item.data.details.price === null ? "—" : `$${item.data.details.price}`}</td>
                    <td>{item.data.details.quantity ?? "—"}</td>
                    <td>{item.data.executed ? "filled" : "not filled"}</td>
                    <td>
                      {item.data.state.position} ({money(item.data.state.unrealized_pnl)})
                    </td>
                    <td>{(item.data.confidence * 100).toFixed(0)}%</td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
