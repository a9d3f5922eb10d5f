import WebSocket from 'ws';
import { type EventFrame, ProtocolSocket, type ReplyFrame, type SocketLike, websocketUrlOf } from '@chat/client';

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

export type Reply = ReplyFrame;

export interface ChatMessage {
  conversationId: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  body: string;
}

export interface ClientEvents {
  onMessage(message: ChatMessage): void;
  /** Every other event frame (message.delta, message.updated, ...), if wanted. */
  onEvent?(frame: EventFrame): void;
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

/**
 * One user's socket: @chat/client's ProtocolSocket over the `ws` package,
 * with no promise and no timer per request (replies go to callbacks; the
 * caller expires old requests in one sweep).
 */
export class Client {
  #closing = false;

  private constructor(
    readonly ws: WebSocket,
    readonly protocol: ProtocolSocket,
    readonly userId: string,
  ) {}

  /** Opens the socket and resolves on `hello` with the time from the upgrade request to `hello`. */
  static connect(gateway: string, login: Login, events: ClientEvents, timeoutMs = 30_000): Promise<{ client: Client; ms: number }> {
    const t0 = performance.now();
    const url = `${websocketUrlOf(gateway)}?token=${encodeURIComponent(login.token)}`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      let helloSeen = false;
      let lastError = '';
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (helloSeen) return;
        helloSeen = true;
        ws.terminate();
        reject(err);
      };
      const protocol: ProtocolSocket = new ProtocolSocket(ws as unknown as SocketLike, {
        onHello: () => {
          if (helloSeen) return;
          helloSeen = true;
          clearTimeout(timer);
          resolve({ client, ms: performance.now() - t0 });
        },
        onEvent: (frame) => {
          if (frame.ev === 'message.new') events.onMessage(frame.message as ChatMessage);
          else events.onEvent?.(frame);
        },
        onClose: (code, reason) => {
          if (!helloSeen) return fail(new Error(`closed before hello (${code})`));
          if (!client.#closing) events.onUnexpectedClose(code, reason || lastError);
        },
      });
      const client = new Client(ws, protocol, login.user.id);
      const timer = setTimeout(() => fail(new Error(`no hello within ${timeoutMs} ms`)), timeoutMs);
      ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode ?? 0}`)));
      ws.on('error', (err) => {
        lastError = err.message;
        fail(err);
      });
    });
  }

  get inflight(): number {
    return this.protocol.inflight;
  }

  get open(): boolean {
    return this.protocol.open;
  }

  /** Sends a request; `done` gets exactly one reply (a synthetic `offline`, `disconnected` or `timeout` error if none arrives). */
  send(op: string, args: Record<string, unknown>, done: ReplyHandler): void {
    this.protocol.send(op, args, done);
  }

  request(op: string, args: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => this.send(op, args, (reply) => resolve(reply)));
  }

  /** Fails requests older than `maxAgeMs` with a `timeout` error. */
  expire(maxAgeMs: number): void {
    this.protocol.expire(maxAgeMs);
  }

  close(): void {
    this.#closing = true;
    this.protocol.close(1000);
  }
}
