import WebSocket from 'ws';
import { Connection, type SocketLike, type User, devLogin } from '@chat/client';
import { ChatClient } from './chat-client.js';

/**
 * Test helpers of the client tests that run against a real standalone
 * system (the `ws` package stands in for the browser's WebSocket, which
 * Node 20 lacks). Imported by tests only, never bundled.
 */

/** Polls `check` every 20 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Signs `name` in with dev login at `baseUrl` and makes a Connection for
 * them, not started, with no pings; `socket` (default: a `ws` socket) opens
 * each socket, so a test can watch or refuse them.
 */
export async function devConnection(
  baseUrl: string,
  name: string,
  options: { backoff?: { baseMs: number; maxMs: number }; socket?: (url: string) => SocketLike } = {},
): Promise<{ connection: Connection; user: User }> {
  const { token, user } = await devLogin(name, baseUrl);
  const connection = new Connection({
    url: `${baseUrl.replace('http', 'ws')}/v1/ws`,
    token,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    pingIntervalMs: 0,
    createSocket: options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
  });
  return { connection, user };
}

/**
 * Signs `name` in at `baseUrl` and starts a ChatClient for them (a visible
 * page), resolved once it is online and its first sync is done.
 */
export async function startedClient(baseUrl: string, name: string): Promise<{ client: ChatClient; user: User }> {
  const { connection, user } = await devConnection(baseUrl, name);
  const client = new ChatClient(connection, { isVisible: () => true });
  client.start();
  await until(() => connection.online, `${name} online`);
  await client.ready;
  return { client, user };
}
