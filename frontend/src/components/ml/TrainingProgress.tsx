/** Start a training run from a validated form, watch reward, loss and timesteps live, stop it. */
import { type FormEvent, useEffect, useState } from "react";
import type { Schemas } from "../../api/client";
import { usePost } from "../../hooks/queries";
import type { Finished, Progress } from "../../hooks/useTrainingProgress";
import { ALGORITHMS, DEFAULTS, type TrainingFormValues, validateTraining } from "../../lib/trainingForm";
import { Chart } from "./Chart";
import { ErrorLine } from "./ErrorLine";

const FIELDS: [keyof TrainingFormValues, string, string][] = [
  ["markets", "Markets (comma separated)", "text"],
  ["timesteps", "Timesteps", "text"],
  ["n_envs", "Parallel environments", "text"],
  ["tick_ms", "Tick (ms)", "text"],
  ["episode_ticks", "Ticks per episode", "text"],
  ["name", "Model name (optional)", "text"],
];

export function TrainingProgress({
  training,
  history,
  finished = null,
  market,
}: {
  training: Schemas["TrainingState"] | null;
  history: Progress[];
  finished?: Finished | null;
  market: string | null;
}) {
  const [values, setValues] = useState<TrainingFormValues>({ ...DEFAULTS, markets: market ?? "" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const start = usePost<Partial<Schemas["TrainingStart"]>, Schemas["TrainingState"]>("/rl/training/start");
  const stop = usePost<undefined, Schemas["TrainingState"]>("/rl/training/stop");
  const running = training?.running ?? false;
  useEffect(() => {
    // The feed's market is known after the first status: offer it unless the person typed something.
    if (market) setValues((v) => (v.markets ? v : { ...v, markets: market }));
  }, [market]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = validateTraining(values);
    setErrors(checked.errors);
    if (checked.body) start.mutate(checked.body);
  };
  const set = (key: keyof TrainingFormValues) => (e: { target: { value: string } }) =>
    setValues((v) => ({ ...v, [key]: e.target.value }));

  const last = history.at(-1);
  const ended = !running && last && finished?.model_id === last.model_id ? finished : null;
  const xs = history.map((p) => p.timesteps_so_far);
  return (
    <div className="space-y-3 text-sm">
      <form onSubmit={submit} noValidate aria-label="Start training" className="grid grid-cols-1 gap-2 sm:grid-cols-2">
        {FIELDS.map(([key, label]) => (
          <div key={key} className="flex flex-col">
            <label htmlFor={`train-${key}`} className="text-xs text-slate-500">
              {label}
            </label>
            <input
              id={`train-${key}`}
              value={values[key]}
              onChange={set(key)}
              aria-invalid={errors[key] ? true : undefined}
              aria-describedby={errors[key] ? `${key}-error` : undefined}
              className="rounded border border-slate-300 bg-transparent px-2 py-1 dark:border-slate-700"
            />
            {errors[key] && (
              <span id={`${key}-error`} className="text-xs text-rose-700 dark:text-rose-300">
                {label}: {errors[key]}
              </span>
            )}
          </div>
        ))}
        <label className="flex flex-col">
          <span className="text-xs text-slate-500">Algorithm</span>
          <select value={values.algo} onChange={set("algo")} className="rounded border border-slate-300 bg-transparent px-2 py-1 dark:border-slate-700">
            {ALGORITHMS.map((algo) => (
              <option key={algo} value={algo}>
                {algo.toUpperCase()}
              </option>
            ))}
          </select>
        </label>
        <div className="flex flex-col sm:col-span-2">
          <label htmlFor="train-hyperparameters" className="text-xs text-slate-500">
            Hyperparameters (JSON)
          </label>
          <textarea
            id="train-hyperparameters"
            value={values.hyperparameters}
            onChange={set("hyperparameters")}
            rows={2}
            aria-invalid={errors.hyperparameters ? true : undefined}
            aria-describedby={errors.hyperparameters ? "hyperparameters-error" : undefined}
            className="rounded border border-slate-300 bg-transparent px-2 py-1 font-mono dark:border-slate-700"
          />
          {errors.hyperparameters && (
            <span id="hyperparameters-error" className="text-xs text-rose-700 dark:text-rose-300">
              Hyperparameters: {errors.hyperparameters}
            </span>
          )}
        </div>
        <div className="flex gap-2 sm:col-span-2">
          <button type="submit" disabled={running || start.isPending} className="rounded bg-indigo-600 px-3 py-1 font-medium text-white disabled:opacity-50">
            Start training
          </button>
          <button type="button" disabled={!running} onClick={() => stop.mutate(undefined)} className="rounded bg-rose-600 px-3 py-1 font-medium text-white disabled:opacity-50">
            Stop training
          </button>
        </div>
      </form>
      <ErrorLine error={start.error ?? stop.error} />
      <p aria-live="polite">
        Training: {running ? `running ${training?.model ?? ""}` : training?.status ?? "idle"}
        {training?.error ? ` — ${training.error}` : ""}
        {last && !ended ? ` · ${last.timesteps_so_far} / ${last.total_timesteps} timesteps, episode ${last.episode}` : ""}
        {ended ? ` · run finished: ${ended.status}${ended.error ? ` (${ended.error})` : ""}` : ""}
      </p>
      {last && (
        <progress
          aria-label="Training timesteps"
          max={last.total_timesteps}
          value={ended ? last.total_timesteps : last.timesteps_so_far}
          className="w-full"
        />
      )}
      <div className="grid grid-cols-1 gap-2 lg:grid-cols-2">
        <Chart
          label="Average reward"
          summary={last ? `Average reward ${last.avg_reward.toFixed(4)}` : "No progress yet"}
          series={[{ label: "avg reward", stroke: "#0ea5e9" }]}
          xLabel="Timesteps"
          data={[xs, history.map((p) => p.avg_reward)]}
          height={120}
        />
        <Chart
          label="Loss"
          summary={last?.loss != null ? `Loss ${last.loss.toFixed(5)}` : "No loss yet"}
          series={[{ label: "loss", stroke: "#f59e0b" }]}
          xLabel="Timesteps"
          data={[xs, history.map((p) => p.loss ?? NaN)]}
          height={120}
        />
      </div>
    </div>
  );
}
