import type { Credentials } from '@chat/client';

// What the browser keeps of a sign-in (signing in itself is @chat/client's devLogin).

const STORAGE_KEY = 'chat.credentials';

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
