/** The API token, asked once when the server answers 401 and kept for the tab (sessionStorage). */
const KEY = "kalshi-rl-token";

type Listener = () => void;
const listeners = new Set<Listener>();
let needed: string | null = null; // why the server asked, while no token is being supplied

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
  needed = null;
  emit();
}

/** The server refused the token (or none was sent): ask the person, with the server's reason. */
export function requestToken(reason: string): void {
  sessionStorage.removeItem(KEY);
  if (needed === null) {
    needed = reason;
    emit();
  }
}

export function tokenNeeded(): string | null {
  return needed;
}

export function subscribeToken(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(): void {
  for (const listener of listeners) listener();
}

/** For tests: forget everything. */
export function resetToken(): void {
  sessionStorage.removeItem(KEY);
  needed = null;
  emit();
}
