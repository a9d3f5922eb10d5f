import WebSocket from 'ws';

/**
 * A lean protocol client for load generation: dev login over HTTP, one
 * WebSocket per user, numbered requests matched to their replies by
 * callback (no promise per message.send), `message.new` events handed to a
 * callback. Everything else the server sends is ignored.
 */

export interface Login {
  token: string;
  user: { id: string; name: string };
}

export interface ErrorBody {
  code: string;
  message: string;
  retryAfterMs?: number;
}

export interface Reply {
  re: string;
  ok: boolean;
  error?: ErrorBody;
  [key: string]: unknown;
}

export interface ChatMessage {
  conversationId: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  body: string;
}

export interface ClientEvents {
  onMessage(message: ChatMessage): void;
  /** The socket closed without `close()` being called; `detail` is the close reason or the socket error, if any. */
  onUnexpectedClose(code: number, detail: string): void;
}

type ReplyHandler = (reply: Reply, elapsedMs: number) => void;

export async function devLogin(gateway: string, name: string): Promise<Login> {
  const res = await fetch(`${gateway}/v1/auth/dev-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!res.ok) throw new Error(`dev login: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Login;
}

export class Client {
  #next = 0;
  #closing = false;
  readonly #pending = new Map<string, { t0: number; done: ReplyHandler }>();

  private constructor(
    readonly ws: WebSocket,
    readonly userId: string,
  ) {}

  /** Opens the socket and resolves on `hello` with the time from the upgrade request to `hello`. */
  static connect(gateway: string, login: Login, events: ClientEvents, timeoutMs = 30_000): Promise<{ client: Client; ms: number }> {
    const t0 = performance.now();
    const url = `${gateway.replace(/^http/, 'ws')}/v1/ws?token=${encodeURIComponent(login.token)}`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client = new Client(ws, login.user.id);
    return new Promise((resolve, reject) => {
      let helloSeen = false;
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (helloSeen) return;
        helloSeen = true;
        ws.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`no hello within ${timeoutMs} ms`)), timeoutMs);
      ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode ?? 0}`)));
      let lastError = '';
      ws.on('error', (err) => {
        lastError = err.message;
        fail(err);
      });
      ws.on('close', (code, reason) => {
        if (!helloSeen) return fail(new Error(`closed before hello (${code})`));
        client.#failPending('closed');
        if (!client.#closing) events.onUnexpectedClose(code, String(reason) || lastError);
      });
      ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw)) as Record<string, unknown>;
        if (typeof frame.re === 'string') return client.#reply(frame as Reply);
        if (frame.ev === 'message.new') return events.onMessage(frame.message as ChatMessage);
        if (frame.ev === 'hello' && !helloSeen) {
          helloSeen = true;
          clearTimeout(timer);
          resolve({ client, ms: performance.now() - t0 });
        }
      });
    });
  }

  get inflight(): number {
    return this.#pending.size;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a request; `done` gets exactly one reply (a synthetic `closed` or `timeout` error if none arrives). */
  send(op: string, args: Record<string, unknown>, done: ReplyHandler): void {
    const id = String(++this.#next);
    if (!this.open) return done({ re: id, ok: false, error: { code: 'closed', message: 'socket is not open' } }, 0);
    this.#pending.set(id, { t0: performance.now(), done });
    this.ws.send(JSON.stringify({ id, op, ...args }));
  }

  request(op: string, args: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => this.send(op, args, (reply) => resolve(reply)));
  }

  /** Fails requests older than `maxAgeMs` with a `timeout` error. Pending requests are in send order. */
  expire(maxAgeMs: number): void {
    const cutoff = performance.now() - maxAgeMs;
    for (const [id, p] of this.#pending) {
      if (p.t0 > cutoff) break;
      this.#pending.delete(id);
      p.done({ re: id, ok: false, error: { code: 'timeout', message: `no reply within ${maxAgeMs} ms` } }, performance.now() - p.t0);
    }
  }

  close(): void {
    this.#closing = true;
    this.ws.close(1000);
  }

  #reply(reply: Reply): void {
    const p = this.#pending.get(reply.re);
    if (!p) return;
    this.#pending.delete(reply.re);
    p.done(reply, performance.now() - p.t0);
  }

  #failPending(code: string): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [id, p] of pending) p.done({ re: id, ok: false, error: { code, message: 'socket closed before the reply' } }, performance.now() - p.t0);
  }
}
