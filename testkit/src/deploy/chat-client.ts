import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import { type EventFrame, ProtocolSocket, type ReplyFrame, type SocketLike, devLogin as clientDevLogin, isSynthetic, websocketUrlOf } from '@chat/client';
import { EVENT_SCHEMAS, type EventName, OP_RESULT_SCHEMAS, errorJsonSchema } from '@chat/proto';

/** A reply frame of the protocol. */
export type Reply = ReplyFrame;
export type { EventFrame };

/** How long a test client waits for any reply before failing the request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface LoginResult {
  token: string;
  user: { id: string; name: string; bot?: true };
}

/** Logs in through dev login. */
export async function devLogin(baseUrl: string, name: string): Promise<LoginResult> {
  return clientDevLogin(name, baseUrl);
}

/**
 * The protocol client of the tests: @chat/client's ProtocolSocket over the
 * `ws` package, every event kept in arrival order, waiters for events and for
 * the close. Every reply and event is checked against the server's schemas
 * (proto/src/replies.ts): a frame that does not match them fails the request
 * that got it, or, for an event, the next wait for events and close().
 */
export class ChatClient {
  readonly events: EventFrame[] = [];
  readonly hello: EventFrame;
  /** Frames that did not match their schema, described. */
  readonly violations: string[] = [];
  readonly #eventWaiters = new Set<() => void>();
  readonly #closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    readonly protocol: ProtocolSocket,
    hello: EventFrame,
    closed: Promise<{ code: number; reason: string }>,
  ) {
    this.hello = hello;
    this.#closed = closed;
  }

  /** Connects with `token` (as ?token= unless `viaHeader`) and waits for `hello`. */
  static connect(baseUrl: string, token: string, options: { viaHeader?: boolean } = {}): Promise<ChatClient> {
    const wsUrl = websocketUrlOf(baseUrl) + (options.viaHeader ? '' : `?token=${encodeURIComponent(token)}`);
    const ws = new WebSocket(wsUrl, options.viaHeader ? { headers: { authorization: `Bearer ${token}` } } : {});
    let client: ChatClient | undefined;
    const early: EventFrame[] = [];
    let resolveClosed!: (c: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (resolveClosed = resolve));
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      const protocol = new ProtocolSocket(ws as unknown as SocketLike, {
        onHello: (hello) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          client = new ChatClient(ws, protocol, hello as unknown as EventFrame, closed);
          client.#check('hello', hello as unknown as EventFrame);
          for (const e of early) client.#onEvent(e);
          resolve(client);
        },
        onEvent: (event) => (client ? client.#onEvent(event) : early.push(event)),
        onClose: (code, reason) => {
          resolveClosed({ code, reason: String(reason) });
          fail(new ClosedBeforeHello(code, String(reason)));
        },
      });
      // Without these, a socket closed before hello (or a hello that never comes) would hang the caller.
      const timer = setTimeout(() => fail(new Error(`no hello from ${baseUrl} within ${DEFAULT_REQUEST_TIMEOUT_MS} ms`)), DEFAULT_REQUEST_TIMEOUT_MS);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => fail(new UpgradeRefused(res.statusCode ?? 0, headerOf(res.headers['x-token-error']), headerOf(res.headers['retry-after']), body)));
        res.on('error', () => fail(new UpgradeRefused(res.statusCode ?? 0, headerOf(res.headers['x-token-error']), headerOf(res.headers['retry-after']), body)));
      });
      ws.once('error', fail);
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
   * reply comes within `timeoutMs` (the protocol answers every request), the
   * socket closes first, or the reply breaks its schema, so a lost or wrong
   * reply fails a test instead of hanging or misleading it.
   */
  request(op: string, args: Record<string, unknown> = {}, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<Reply> {
    const what = `${op} ${JSON.stringify(args).slice(0, 200)}`;
    return this.protocol.exchange(op, args, timeoutMs).then(
      (reply) => {
        const problem = replyProblem(op, reply);
        if (problem) throw new Error(`reply to ${what} breaks the protocol: ${problem}: ${JSON.stringify(reply).slice(0, 300)}`);
        return reply;
      },
      (err: Error) => {
        throw new Error(`no reply to ${what}: ${err.message}`);
      },
    );
  }

  /** Sends a request and returns its result, throwing on an error reply. */
  async call<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const reply = await this.request(op, args);
    if (!reply.ok) throw new Error(`${op} failed: ${reply.error?.code}: ${reply.error?.message}`);
    return reply as unknown as T;
  }

  /** Sends a raw frame (for malformed-input tests); a reply to `expectId` is awaited if given. */
  sendRaw(data: string | Buffer, expectId?: string): Promise<Reply> | undefined {
    const reply = expectId
      ? new Promise<Reply>((resolve, reject) =>
          this.protocol.expect(expectId, (r) => (isSynthetic(r) ? reject(new Error(`no reply to raw frame ${expectId}: ${r.error?.message}`)) : resolve(r)), DEFAULT_REQUEST_TIMEOUT_MS),
        )
      : undefined;
    // Binary frames too (the protocol socket speaks text): straight to the socket.
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
        if (this.violations.length > 0) {
          this.#eventWaiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`an event broke the protocol: ${this.violations[0]}`));
          return;
        }
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

  /** Closes the socket; throws if any event broke the protocol meanwhile (so a test cannot pass over one). */
  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.close(1000);
      await this.#closed;
    }
    if (this.violations.length > 0) throw new Error(`events broke the protocol: ${this.violations.join('; ')}`);
  }

  #onEvent(event: EventFrame): void {
    this.#check(event.ev, event);
    this.events.push(event);
    for (const wake of [...this.#eventWaiters]) wake();
  }

  #check(ev: string, event: EventFrame): void {
    const schema = EVENT_SCHEMAS[ev as EventName];
    const result = schema ? schema.safeParse(event) : undefined;
    if (!schema) this.violations.push(`unknown event ${ev}`);
    else if (!result?.success) this.violations.push(`${ev}: ${result?.error.message.slice(0, 300)}`);
  }
}

/** What is wrong with a reply to `op`, or undefined if it matches the protocol. */
function replyProblem(op: string, reply: Reply): string | undefined {
  if (!reply.ok) {
    const error = errorJsonSchema.safeParse(reply.error);
    return error.success ? undefined : `error ${error.error.message.slice(0, 200)}`;
  }
  const schema = OP_RESULT_SCHEMAS[op as keyof typeof OP_RESULT_SCHEMAS];
  if (!schema) return undefined; // an op the server does not implement answers ok: false anyway
  const { re: _re, ok: _ok, ...result } = reply;
  const parsed = schema.safeParse(result);
  return parsed.success ? undefined : parsed.error.message.slice(0, 300);
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
  constructor(
    readonly status: number,
    /** The X-Token-Error header of a 401: why the token was refused (docs/protocol.md "Connecting"). */
    readonly tokenError?: string,
    /** The Retry-After header, in seconds, when the answer has one. */
    readonly retryAfter?: string,
    /** The plain-text reason the gateway gave. */
    readonly body = '',
  ) {
    super(`upgrade refused with HTTP ${status}${tokenError ? ` (${tokenError})` : ''}${body ? `: ${body}` : ''}`);
  }
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A WebSocket upgrade that is expected to be refused, over plain HTTP: the
 * status, headers and body it is answered with, and whether the server closed
 * the connection after the answer. Rejects if the upgrade is accepted.
 */
export function refusedUpgrade(baseUrl: string, token: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}/v1/ws?token=${encodeURIComponent(token)}`, {
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error('the upgrade was accepted'));
    });
    req.on('response', (res) => {
      const closed = new Promise<void>((done) => res.socket.once('close', () => done()));
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, closed }));
    });
    req.on('error', reject);
    req.end();
  });
}
