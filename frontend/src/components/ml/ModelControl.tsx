/** The registry, and the paper actor: start it on a model (by name, so it follows that name's newest
 *  ready version), switch, stop. Live trading is not offered, and the page says why. */
import { useEffect, useRef, useState } from "react";
import type { Schemas } from "../../api/client";
import { useModels, usePost } from "../../hooks/queries";
import { ErrorLine } from "./ErrorLine";

type Model = Schemas["Model"];

/** The actor's risk limits, all off (the API's defaults): the page starts it without any. */
const NO_RISK_LIMITS = {
  max_loss_episode: null,
  max_loss_day: null,
  max_orders_per_minute: null,
  stale_ticks: null,
  refused_orders: null,
  latency_ms: null,
  latency_ticks: 3,
  rollback_loss: null,
  rollback_window_s: 300,
};

function evaluation(model: Model): string {
  const summary = model.performance_summary as Record<string, unknown> | null;
  if (!summary) return "not evaluated";
  return Object.entries(summary)
    .filter(([, v]) => typeof v === "number")
    .slice(0, 3)
    .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
    .join(", ");
}

/** "Switched from a@1 to a@2 at 14:02:03" once the running actor's model changes (hot reload or a switch). */
function useSwitchNotice(model: string | null): string | null {
  const previous = useRef<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    if (model === null) {
      previous.current = null;
      setNotice(null);
      return;
    }
    if (previous.current !== null && previous.current !== model) {
      setNotice(`Switched from ${previous.current} to ${model} at ${new Date().toISOString().slice(11, 19)} UTC`);
    }
    previous.current = model;
  }, [model]);
  return notice;
}

export function ModelControl({ actor, market }: { actor: Schemas["ActorState"] | null; market: string | null }) {
  const models = useModels();
  const start = usePost<Schemas["ActorStart"], Schemas["ActorState"]>("/rl/actor/start");
  const stop = usePost<undefined, Schemas["ActorState"]>("/rl/actor/stop");
  const switchTo = usePost<Schemas["SwitchModel"], Schemas["Switching"]>("/rl/actor/switch-model");
  const flatten = usePost<undefined, Schemas["RiskCommand"]>("/rl/actor/flatten");
  const resume = usePost<undefined, Schemas["RiskCommand"]>("/rl/actor/resume");
  const list = models.data?.models ?? [];
  const names = [...new Set(list.filter((m) => m.status === "ready").map((m) => m.name))];
  const [chosen, setChosen] = useState("");
  const [sampled, setSampled] = useState(false);
  const target = chosen || names[0] || "";
  const running = actor?.running ?? false;
  const switched = useSwitchNotice(running ? (actor?.model ?? null) : null);
  const metrics = (actor?.metrics ?? {}) as { risk_breaker?: string; hold_reason?: string };
  const breaker = running ? metrics.risk_breaker || null : null;

  return (
    <div className="space-y-3 text-sm">
      <p>
        Mode: <strong>paper</strong>{" "}
        <label className="ml-2 text-slate-500">
          <input type="radio" disabled aria-describedby="live-why" /> live
        </label>
        <span id="live-why" className="block text-xs text-slate-500">
          Live trading is disabled: this service only paper-trades (simulated fills on the real book, no orders
          reach Kalshi); the API answers 501 to a request for live mode.
        </span>
      </p>
      <p aria-live="polite">
        Actor: {running ? <strong>running {actor?.model ?? ""}</strong> : "stopped"}
        {actor?.waiting ? ` — ${actor.waiting}` : ""}
      </p>
      {breaker && (
        <p role="alert" aria-label="Risk breaker" className="rounded bg-amber-50 px-2 py-1 text-amber-900 dark:bg-amber-950 dark:text-amber-100">
          Holding (no orders): {metrics.hold_reason || breaker}. Only Resume trades again.
        </p>
      )}
      {switched && (
        <p role="status" aria-label="Model switch" className="rounded bg-indigo-50 px-2 py-1 text-indigo-900 dark:bg-indigo-950 dark:text-indigo-100">
          {switched}
        </p>
      )}
      <div className="flex flex-wrap items-end gap-2">
        <label className="flex flex-col">
          <span className="text-xs text-slate-500">Model (follows its newest ready version)</span>
          <select
            value={target}
            onChange={(e) => setChosen(e.target.value)}
            className="rounded border border-slate-300 bg-transparent px-2 py-1 dark:border-slate-700"
          >
            {names.length === 0 && <option value="">no ready model</option>}
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        {!running && (
          <label className="flex items-center gap-1" title="Draw each action from the policy's probabilities (seeded), as in training, instead of taking the most likely one">
            <input type="checkbox" checked={sampled} onChange={(e) => setSampled(e.target.checked)} />
            Sample actions
          </label>
        )}
        {!running ? (
          <button
            type="button"
            disabled={!target || !market || start.isPending}
            onClick={() =>
              start.mutate({ model_id: target, market_ticker: market, mode: "paper", starting_balance: 1000, seed: 0, series: null, stochastic: sampled, ...NO_RISK_LIMITS })
            }
            className="rounded bg-indigo-600 px-3 py-1 font-medium text-white disabled:opacity-50"
          >
            Start actor
          </button>
        ) : (
          <>
            <button type="button" disabled={!target} onClick={() => switchTo.mutate({ model_id: target })} className="rounded border px-3 py-1">
              Switch to {target || "…"}
            </button>
            <button type="button" onClick={() => stop.mutate(undefined)} className="rounded bg-rose-600 px-3 py-1 font-medium text-white">
              Stop actor
            </button>
            <button
              type="button"
              title="Emergency stop: hold from now on, cancel resting orders and sell the position back to zero"
              onClick={() => flatten.mutate(undefined)}
              className="rounded border border-rose-600 px-3 py-1 font-medium text-rose-700 dark:text-rose-300"
            >
              Flatten
            </button>
            {breaker && (
              <button type="button" onClick={() => resume.mutate(undefined)} className="rounded border px-3 py-1">
                Resume
              </button>
            )}
          </>
        )}
      </div>
      <ErrorLine error={start.error ?? stop.error ?? switchTo.error ?? flatten.error ?? resume.error ?? models.error} />
      <table aria-label="Model registry" className="w-full text-left text-sm [&_td]:px-1 [&_td]:align-top [&_th]:px-1">
        <thead>
          <tr className="text-xs text-slate-500">
            <th scope="col">Model</th>
            <th scope="col">Status</th>
            <th scope="col">Algorithm</th>
            <th scope="col">Market</th>
            <th scope="col">Evaluation</th>
          </tr>
        </thead>
        <tbody>
          {list.map((m) => (
            <tr key={m.id}>
              <td>
                {m.name}@{m.version}
              </td>
              <td>{m.status}</td>
              <td>{m.architecture}</td>
              <td>{m.market_ticker}</td>
              <td>{evaluation(m)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
