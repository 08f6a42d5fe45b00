/** The training form's values, checked against the same bounds as the API's TrainingStart model
 *  (kalshi_rl/api/models.py) before anything is sent. */
import type { Schemas } from "../api/client";

/** An algorithm the API trains (the enum of TrainingStart.algo in /rl/openapi.json). */
export type Algorithm = NonNullable<Schemas["TrainingStart"]["algo"]>;

/** The form's choices, each one the API accepts. */
export const ALGORITHMS = ["ppo", "a2c"] as const satisfies readonly Algorithm[];

// ...and every one it accepts: when the document lists another algorithm, tsc stops here until
// the form offers it too.
type NotOffered = Exclude<Algorithm, (typeof ALGORITHMS)[number]>;
export const OFFERS_EVERY_ALGORITHM: [NotOffered] extends [never] ? true : NotOffered = true;

function isAlgorithm(text: string): text is Algorithm {
  return (ALGORITHMS as readonly string[]).includes(text);
}

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
  const algo = isAlgorithm(values.algo) ? values.algo : null;
  if (algo === null) errors.algo = `choose ${ALGORITHMS.join(" or ")}`;
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
  if (Object.keys(errors).length || algo === null) return { errors };
  return {
    errors,
    body: {
      markets,
      algo,
      timesteps,
      n_envs,
      tick_ms,
      episode_ticks,
      hyperparameters,
      ...(values.name ? { name: values.name } : {}),
    },
  };
}
