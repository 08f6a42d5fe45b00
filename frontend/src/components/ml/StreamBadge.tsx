/** A stream's connection state in words (color is only a second cue). */
import type { StreamStatus } from "../../hooks/useStream";

const COLORS: Record<StreamStatus["state"], string> = {
  open: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  connecting: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  reconnecting: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  "needs token": "bg-rose-100 text-rose-900 dark:bg-rose-900 dark:text-rose-100",
};

export function StreamBadge({ name, status }: { name: string; status: StreamStatus }) {
  return (
    <span
      role="status"
      aria-label={`${name} stream: ${status.state}`}
      title={status.detail ?? undefined}
      className={`rounded px-2 py-0.5 text-xs font-medium ${COLORS[status.state]}`}
    >
      {name}: {status.state}
      {status.detail && status.state !== "open" ? ` (${status.detail})` : ""}
    </span>
  );
}
