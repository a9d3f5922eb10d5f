import type { User } from './types.js';

/** A signed-in user and the token their sessions connect with. */
export interface Credentials {
  token: string;
  user: User;
}

/**
 * Signs in with the gateway's dev login (`POST /v1/auth/dev-login`); `baseUrl`
 * is the gateway's http(s) origin ('' in a page it served). Throws an Error
 * with the server's message when it refuses.
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

/** The WebSocket URL of a gateway given its http(s) origin. */
export function websocketUrlOf(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/v1/ws`;
}
