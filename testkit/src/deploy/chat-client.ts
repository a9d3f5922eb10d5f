import WebSocket from 'ws';

/** A reply frame of the protocol. */
export interface Reply {
  re: string;
  ok: boolean;
  error?: { code: string; message: string; retryAfterMs?: number };
  [key: string]: unknown;
}

/** How long a test client waits for any reply before failing the request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

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
  readonly #pending = new Map<string, { resolve: (reply: Reply) => void; reject: (err: Error) => void }>();
  readonly #eventWaiters = new Set<() => void>();
  readonly #closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    hello: EventFrame,
    closed: Promise<{ code: number; reason: string }>,
  ) {
    this.hello = hello;
    this.#closed = closed;
    // A request whose socket closed will never be answered: fail it, naming the close.
    void closed.then(({ code, reason }) => {
      for (const [id, waiter] of this.#pending) waiter.reject(new Error(`request ${id} not answered: socket closed with ${code} ${reason}`));
      this.#pending.clear();
    });
    ws.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as Record<string, unknown>;
      if (typeof frame.re === 'string') {
        const waiter = this.#pending.get(frame.re);
        this.#pending.delete(frame.re);
        waiter?.resolve(frame as Reply);
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
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      // Without these two, a socket closed before hello (or a hello that never comes) would hang the caller.
      const timer = setTimeout(() => fail(new Error(`no hello from ${baseUrl} within ${DEFAULT_REQUEST_TIMEOUT_MS} ms`)), DEFAULT_REQUEST_TIMEOUT_MS);
      void closed.then(({ code, reason }) => fail(new ClosedBeforeHello(code, reason)));
      ws.once('unexpected-response', (_req, res) => fail(new UpgradeRefused(res.statusCode ?? 0)));
      ws.once('error', fail);
      ws.once('message', (raw) => {
        const frame = JSON.parse(String(raw)) as EventFrame;
        if (frame.ev !== 'hello') return fail(new Error(`first frame was not hello: ${String(raw)}`));
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(new ChatClient(ws, frame, closed));
      });
    });
  }

  /** Logs `name` in and connects. */
  static async login(baseUrl: string, name: string): Promise<ChatClient & { user: LoginResult['user']; token: string }> {
    const { token, user } = await devLogin(baseUrl, name);
    const client = await ChatClient.connect(baseUrl, token);
    return Object.assign(client, { user, token });
  }

  /**
   * Sends a request and resolves with its reply (ok or not). Rejects if no
   * reply comes within `timeoutMs` (the protocol answers every request) or
   * the socket closes first, so a lost reply fails a test instead of hanging it.
   */
  request(op: string, args: Record<string, unknown> = {}, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<Reply> {
    const id = `r${++this.#nextId}`;
    const reply = this.#awaitReply(id, `${op} ${JSON.stringify(args).slice(0, 200)}`, timeoutMs);
    this.ws.send(JSON.stringify({ id, op, ...args }));
    return reply;
  }

  #awaitReply(id: string, what: string, timeoutMs: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no reply to request ${id} (${what}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Sends a request and returns its result, throwing on an error reply. */
  async call<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const reply = await this.request(op, args);
    if (!reply.ok) throw new Error(`${op} failed: ${reply.error?.code}: ${reply.error?.message}`);
    return reply as unknown as T;
  }

  /** Sends a raw frame (for malformed-input tests); a reply to `expectId` is awaited if given. */
  sendRaw(data: string | Buffer, expectId?: string): Promise<Reply> | undefined {
    const reply = expectId ? this.#awaitReply(expectId, 'raw frame', DEFAULT_REQUEST_TIMEOUT_MS) : undefined;
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
/** The server closed the socket before sending `hello`. */
export class ClosedBeforeHello extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`socket closed with ${code} ${reason} before hello`);
  }
}

export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
  }
}
