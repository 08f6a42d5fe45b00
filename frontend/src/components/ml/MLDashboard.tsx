/** The ML tab: market picker, each stream's state, and the panels; dark or light. */
import { useEffect, useState } from "react";
import { useMetrics, useStatus } from "../../hooks/queries";
import { useActions } from "../../hooks/useActions";
import { useOrderbookStream } from "../../hooks/useOrderbookStream";
import { useTrainingProgress } from "../../hooks/useTrainingProgress";
import { ActionFeed } from "./ActionFeed";
import { ErrorLine } from "./ErrorLine";
import { ModelControl } from "./ModelControl";
import { OrderbookVisualizer } from "./OrderbookVisualizer";
import { Panel } from "./Panel";
import { PerformanceMetrics } from "./PerformanceMetrics";
import { StreamBadge } from "./StreamBadge";
import { TokenPrompt } from "./TokenPrompt";
import { TrainingProgress } from "./TrainingProgress";

function useTheme(): [boolean, (dark: boolean) => void] {
  const [dark, setDark] = useState(() => window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false);
  useEffect(() => {
    document.documentElement.classList.toggle("dark", dark);
  }, [dark]);
  return [dark, setDark];
}

export function MLDashboard() {
  const status = useStatus();
  const metrics = useMetrics();
  const markets = ((status.data?.feed as { markets?: string[] } | undefined)?.markets ?? []) as string[];
  const [picked, setPicked] = useState<string | null>(null);
  const market = picked && markets.includes(picked) ? picked : (markets[0] ?? null);
  const orderbook = useOrderbookStream(market);
  const actions = useActions();
  const training = useTrainingProgress();
  const [dark, setDark] = useTheme();

  return (
    <div className="mx-auto max-w-screen-2xl space-y-4 p-4">
      <TokenPrompt />
      <header className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-bold">kalshi-rl · ML tab</h1>
        <label className="flex items-center gap-2 text-sm">
          Market
          <select
            aria-label="Market"
            value={market ?? ""}
            onChange={(e) => setPicked(e.target.value)}
            className="rounded border border-slate-300 bg-transparent px-2 py-1 dark:border-slate-700"
          >
            {markets.length === 0 && <option value="">no market in the feed</option>}
            {markets.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <div className="flex flex-wrap gap-2">
          <StreamBadge name="Book" status={orderbook.status} />
          <StreamBadge name="Actions" status={actions.status} />
          <StreamBadge name="Training" status={training.status} />
          {status.isError && <span role="status" className="rounded bg-amber-100 px-2 py-0.5 text-xs text-amber-900">API: reconnecting</span>}
        </div>
        <button type="button" onClick={() => setDark(!dark)} className="ml-auto rounded border px-2 py-1 text-sm">
          {dark ? "Light mode" : "Dark mode"}
        </button>
      </header>
      <ErrorLine error={status.error} />
      <main className="grid grid-cols-1 gap-4 xl:grid-cols-3 lg:grid-cols-2">
        <Panel title={`Order book${market ? ` · ${market}` : ""}`}>
          <OrderbookVisualizer book={orderbook.book} />
        </Panel>
        <Panel title="Performance">
          <PerformanceMetrics actor={(metrics.data?.actor ?? null) as Record<string, unknown> | null} items={actions.items} />
        </Panel>
        <Panel title="Agent actions">
          <ActionFeed items={actions.items} />
        </Panel>
        <Panel title="Models and paper actor">
          <ModelControl actor={status.data?.actor ?? null} market={market} />
        </Panel>
        <Panel title="Training">
          <TrainingProgress training={status.data?.training ?? null} history={training.history} finished={training.finished} market={market} />
        </Panel>
      </main>
    </div>
  );
}
