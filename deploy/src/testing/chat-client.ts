import WebSocket from 'ws';

/** A reply frame of the protocol. */
export interface Reply {
  re: string;
  ok: boolean;
  error?: { code: string; message: string; retryAfterMs?: number };
  [key: string]: unknown;
}

/** An event frame of the protocol. */
export interface EventFrame {
  ev: string;
  [key: string]: unknown;
}

export interface LoginResult {
  token: string;
  user: { id: string; name: string };
}

/** Logs in through dev login. */
export async function devLogin(baseUrl: string, name: string): Promise<LoginResult> {
  const res = await fetch(`${baseUrl}/v1/auth/dev-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!res.ok) throw new Error(`dev login failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as LoginResult;
}

/**
 * A protocol client over a real WebSocket, for tests and tools: numbered
 * requests matched to replies, every event kept in arrival order, and
 * waiters for events and for the close.
 */
export class ChatClient {
  readonly events: EventFrame[] = [];
  readonly hello: EventFrame;
  #nextId = 0;
  readonly #pending = new Map<string, (reply: Reply) => void>();
  readonly #eventWaiters = new Set<() => void>();
  readonly #closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    hello: EventFrame,
    closed: Promise<{ code: number; reason: string }>,
  ) {
    this.hello = hello;
    this.#closed = closed;
    ws.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as Record<string, unknown>;
      if (typeof frame.re === 'string') {
        const resolve = this.#pending.get(frame.re);
        this.#pending.delete(frame.re);
        resolve?.(frame as Reply);
      } else {
        this.events.push(frame as EventFrame);
        for (const wake of [...this.#eventWaiters]) wake();
      }
    });
  }

  /** Connects with `token` (as ?token= unless `viaHeader`) and waits for `hello`. */
  static connect(baseUrl: string, token: string, options: { viaHeader?: boolean } = {}): Promise<ChatClient> {
    const wsUrl = baseUrl.replace(/^http/, 'ws') + '/v1/ws' + (options.viaHeader ? '' : `?token=${encodeURIComponent(token)}`);
    const ws = new WebSocket(wsUrl, options.viaHeader ? { headers: { authorization: `Bearer ${token}` } } : {});
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => reject(new UpgradeRefused(res.statusCode ?? 0)));
      ws.once('error', reject);
      ws.once('message', (raw) => {
        const frame = JSON.parse(String(raw)) as EventFrame;
        if (frame.ev !== 'hello') reject(new Error(`first frame was not hello: ${String(raw)}`));
        else resolve(new ChatClient(ws, frame, closed));
      });
    });
  }

  /** Logs `name` in and connects. */
  static async login(baseUrl: string, name: string): Promise<ChatClient & { user: LoginResult['user']; token: string }> {
    const { token, user } = await devLogin(baseUrl, name);
    const client = await ChatClient.connect(baseUrl, token);
    return Object.assign(client, { user, token });
  }

  /** Sends a request and resolves with its reply (ok or not). */
  request(op: string, args: Record<string, unknown> = {}): Promise<Reply> {
    const id = `r${++this.#nextId}`;
    const reply = new Promise<Reply>((resolve) => this.#pending.set(id, resolve));
    this.ws.send(JSON.stringify({ id, op, ...args }));
    return reply;
  }

  /** Sends a request and returns its result, throwing on an error reply. */
  async call<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const reply = await this.request(op, args);
    if (!reply.ok) throw new Error(`${op} failed: ${reply.error?.code}: ${reply.error?.message}`);
    return reply as unknown as T;
  }

  /** Sends a raw frame (for malformed-input tests); a reply to `expectId` is awaited if given. */
  sendRaw(data: string | Buffer, expectId?: string): Promise<Reply> | undefined {
    const reply = expectId ? new Promise<Reply>((resolve) => this.#pending.set(expectId, resolve)) : undefined;
    this.ws.send(data);
    return reply;
  }

  /** Resolves with the first event (received so far or later) that matches. */
  waitForEvent(match: (e: EventFrame) => boolean, timeoutMs = 5000): Promise<EventFrame> {
    return this.waitForEvents(match, 1, timeoutMs).then((all) => all[0]!);
  }

  /** Resolves with the first `count` matching events once that many have arrived. */
  waitForEvents(match: (e: EventFrame) => boolean, count: number, timeoutMs = 5000): Promise<EventFrame[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.filter(match);
        if (found.length >= count) {
          this.#eventWaiters.delete(check);
          clearTimeout(timer);
          resolve(found.slice(0, count));
        }
      };
      const timer = setTimeout(() => {
        this.#eventWaiters.delete(check);
        reject(new Error(`timed out waiting for ${count} events; have ${this.events.filter(match).length}`));
      }, timeoutMs);
      this.#eventWaiters.add(check);
      check();
    });
  }

  /** `message.new` events received so far for a conversation, in arrival order. */
  messagesIn(conversationId: string): { seq: number; body: string; senderId: string; clientMsgId: string }[] {
    return this.events
      .filter((e) => e.ev === 'message.new' && (e.message as { conversationId: string }).conversationId === conversationId)
      .map((e) => e.message as { seq: number; body: string; senderId: string; clientMsgId: string });
  }

  /** Resolves with the close code and reason, whoever closes. */
  closed(): Promise<{ code: number; reason: string }> {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    await this.#closed;
  }
}

/** The server refused the WebSocket upgrade with an HTTP status. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
  }
}
