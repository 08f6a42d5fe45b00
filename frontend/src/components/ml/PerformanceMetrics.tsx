/** The paper actor's figures from /rl/metrics, and its P&L over time from the action stream. */
import type { FeedItem } from "../../hooks/useActions";
import { money } from "../../lib/book";
import { Chart } from "./Chart";

type Figures = Record<string, unknown>;

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Sharpe of per-decision P&L changes and the max drawdown of the P&L curve. */
export function riskFigures(pnl: number[]): { sharpe: number | null; drawdown: number; winRate: number | null } {
  const changes = pnl.slice(1).map((v, i) => v - pnl[i]);
  const moved = changes.filter((c) => c !== 0);
  const mean = changes.reduce((a, b) => a + b, 0) / (changes.length || 1);
  const sd = Math.sqrt(changes.reduce((a, c) => a + (c - mean) ** 2, 0) / (changes.length || 1));
  let peak = -Infinity;
  let drawdown = 0;
  for (const v of pnl) {
    peak = Math.max(peak, v);
    drawdown = Math.max(drawdown, peak - v);
  }
  return {
    sharpe: changes.length > 1 && sd > 0 ? (mean / sd) * Math.sqrt(changes.length) : null,
    drawdown,
    winRate: moved.length ? moved.filter((c) => c > 0).length / moved.length : null,
  };
}

export function PerformanceMetrics({ actor, items }: { actor: Figures | null; items: FeedItem[] }) {
  const actions = items.filter((i) => i.type === "action");
  const realized = num(actor?.realized_pnl) ?? 0;
  const xs = actions.map((a) => a.data.timestamp / 1000);
  const pnl = actions.map((a) => (a.type === "action" ? a.data.state.unrealized_pnl : 0) + realized);
  const risk = riskFigures(pnl);
  const latency = (actor?.decision_latency ?? {}) as Figures;
  const p50 = num(latency.p50_us);
  const p99 = num(latency.p99_us);
  const last = actions.at(-1);
  const rows: [string, string][] = [
    ["Model", String(actor?.model ?? "—")],
    ["Position", last?.type === "action" ? last.data.state.position : actor ? String(num(actor.position_units) ?? "—") : "—"],
    ["Realized P&L", money(num(actor?.realized_pnl))],
    ["Fees", money(num(actor?.fees))],
    ["Win rate", risk.winRate === null ? "—" : `${(risk.winRate * 100).toFixed(0)}%`],
    ["Sharpe (session)", risk.sharpe === null ? "—" : risk.sharpe.toFixed(2)],
    ["Max drawdown", money(risk.drawdown)],
    ["Decision latency p50 / p99", p50 === null || p99 === null ? "—" : `${(p50 / 1000).toFixed(1)} ms / ${(p99 / 1000).toFixed(1)} ms`],
    ["Missed ticks", String(num(actor?.missed_ticks) ?? "—")],
  ];
  return (
    <div className="space-y-3">
      <dl className="grid grid-cols-2 gap-x-4 gap-y-1 text-sm sm:grid-cols-3">
        {rows.map(([name, value]) => (
          <div key={name}>
            <dt className="text-xs text-slate-500">{name}</dt>
            <dd className="tabular-nums">{value}</dd>
          </div>
        ))}
      </dl>
      <Chart
        label="P&L over time"
        summary={pnl.length ? `P&L now ${money(pnl.at(-1))} over ${pnl.length} decisions` : "No decisions yet"}
        series={[{ label: "P&L ($)", stroke: "#6366f1" }]}
        xLabel="Time"
        data={[xs, pnl]}
        xTime
        height={140}
      />
    </div>
  );
}
