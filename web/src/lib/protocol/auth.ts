import type { User } from './types.js';

/** A signed-in user and the token their sessions connect with. */
export interface Credentials {
  token: string;
  user: User;
}

const STORAGE_KEY = 'chat.credentials';

/**
 * Signs in with the gateway's dev login (`POST /v1/auth/dev-login`).
 * Throws an Error with the server's message when it refuses.
 */
export async function devLogin(name: string, baseUrl = ''): Promise<Credentials> {
  const res = await fetch(`${baseUrl}/v1/auth/dev-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const json = (await res.json().catch(() => ({}))) as Partial<Credentials> & { error?: { message?: string } };
  if (!res.ok || !json.token || !json.user) throw new Error(json.error?.message ?? `sign-in failed (HTTP ${res.status})`);
  return { token: json.token, user: json.user };
}

/** The credentials kept for this tab (sessionStorage: one sign-in per tab, gone when it closes). */
export function loadCredentials(storage: Pick<Storage, 'getItem'> = sessionStorage): Credentials | undefined {
  try {
    const raw = storage.getItem(STORAGE_KEY);
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as Partial<Credentials>;
    return parsed.token && parsed.user ? { token: parsed.token, user: parsed.user } : undefined;
  } catch {
    return undefined;
  }
}

export function saveCredentials(credentials: Credentials | undefined, storage: Pick<Storage, 'setItem' | 'removeItem'> = sessionStorage): void {
  if (credentials) storage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  else storage.removeItem(STORAGE_KEY);
}

/** The WebSocket URL of the gateway that served the page. */
export function websocketUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/v1/ws`;
}
