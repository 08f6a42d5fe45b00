/** Asks for the API token once, when the server answered 401; kept for this tab only. */
import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { setToken } from "../../api/token";
import { useTokenNeeded } from "../../hooks/useToken";

export function TokenPrompt() {
  const reason = useTokenNeeded();
  const [value, setValue] = useState("");
  const client = useQueryClient();
  if (reason === null) return null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!value.trim()) return;
    setToken(value.trim());
    void client.invalidateQueries(); // what was refused is asked again, with the token
    setValue("");
  };
  return (
    <div role="dialog" aria-modal="true" aria-labelledby="token-title" className="fixed inset-0 z-10 flex items-center justify-center bg-black/40">
      <form onSubmit={submit} className="w-96 space-y-3 rounded-lg bg-white p-5 text-sm shadow-lg dark:bg-slate-900">
        <h2 id="token-title" className="text-base font-semibold">
          API token required
        </h2>
        <p>
          This service is started with <code>RL_API_TOKEN</code>: changes and live streams need that token. The server
          said: <em>{reason}</em>. It is kept in this tab only.
        </p>
        <label className="flex flex-col">
          <span>Token</span>
          <input type="password" value={value} onChange={(e) => setValue(e.target.value)} autoFocus className="rounded border px-2 py-1" />
        </label>
        <button type="submit" className="rounded bg-indigo-600 px-3 py-1 font-medium text-white">
          Use token
        </button>
      </form>
    </div>
  );
}
