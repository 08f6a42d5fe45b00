/** Server state through TanStack Query: cached, retried, refreshed and invalidated after mutations. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../api/client";

export function useStatus() {
  return useQuery({ queryKey: ["status"], queryFn: () => api<Schemas["ServiceStatus"]>("/rl/status"), refetchInterval: 2000 });
}

export function useModels() {
  return useQuery({ queryKey: ["models"], queryFn: () => api<Schemas["ModelList"]>("/rl/models"), refetchInterval: 3000 });
}

export function useMetrics() {
  return useQuery({ queryKey: ["metrics"], queryFn: () => api<Schemas["Metrics"]>("/rl/metrics"), refetchInterval: 1000 });
}

export function useCompare(ids: string[]) {
  return useQuery({
    queryKey: ["compare", ids],
    queryFn: () => api<Schemas["Comparison"]>(`/rl/compare?model_ids=${encodeURIComponent(ids.join(","))}`),
    enabled: ids.length > 0,
  });
}

/** A POST whose success refreshes the status, models and metrics. */
export function usePost<Body, Result>(path: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Body | undefined) => api<Result>(path, { method: "POST", body }),
    onSettled: () => client.invalidateQueries(),
  });
}
