/** The training form's values, checked against the same bounds as the API's TrainingStart model
 *  (kalshi_rl/api/models.py) before anything is sent. */
import type { Schemas } from "../api/client";

export interface TrainingFormValues {
  markets: string;
  algo: string;
  timesteps: string;
  n_envs: string;
  name: string;
  tick_ms: string;
  episode_ticks: string;
  hyperparameters: string;
}

export const DEFAULTS: TrainingFormValues = {
  markets: "",
  algo: "ppo",
  timesteps: "2048",
  n_envs: "1",
  name: "",
  tick_ms: "1000",
  episode_ticks: "300",
  hyperparameters: "{}",
};

function integer(text: string, name: string, low: number, high: number, errors: Record<string, string>): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < low || value > high) {
    errors[name] = `must be a whole number from ${low} to ${high}`;
  }
  return value;
}

/** Either the request body, or the reason for each invalid field. */
export function validateTraining(values: TrainingFormValues): { body?: Partial<Schemas["TrainingStart"]>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const markets = values.markets.split(/[\s,]+/).filter(Boolean);
  if (markets.length === 0) errors.markets = "name at least one market";
  else if (markets.length > 20) errors.markets = "at most 20 markets";
  else if (markets.some((m) => !/^[A-Z0-9-]+$/.test(m))) errors.markets = "tickers are upper-case letters, digits and dashes";
  if (values.algo !== "ppo" && values.algo !== "a2c") errors.algo = "choose ppo or a2c";
  const timesteps = integer(values.timesteps, "timesteps", 1, 100_000_000, errors);
  const n_envs = integer(values.n_envs, "n_envs", 1, 64, errors);
  const tick_ms = integer(values.tick_ms, "tick_ms", 10, 3_600_000, errors);
  const episode_ticks = integer(values.episode_ticks, "episode_ticks", 1, 1_000_000, errors);
  if (values.name.length > 200) errors.name = "at most 200 characters";
  let hyperparameters: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(values.hyperparameters || "{}");
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error();
    hyperparameters = parsed as Record<string, unknown>;
  } catch {
    errors.hyperparameters = 'must be a JSON object, e.g. {"learning_rate": 0.0003}';
  }
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    body: {
      markets,
      algo: values.algo as "ppo" | "a2c",
      timesteps,
      n_envs,
      tick_ms,
      episode_ticks,
      hyperparameters,
      ...(values.name ? { name: values.name } : {}),
    },
  };
}
