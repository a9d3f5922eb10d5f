import { type EventFrame, type HelloEvent, type Op, type OpArgs, type OpResults, type ReplyFrame, RequestError } from './types.js';

/** The part of the browser's WebSocket a protocol socket uses (the `ws` package's fits too). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export const SOCKET_OPEN = 1;

/** What a protocol socket tells its owner. */
export interface ProtocolSocketHandlers {
  /** The session's first frame arrived. */
  onHello?(hello: HelloEvent): void;
  /** Every other event frame, in arrival order. */
  onEvent?(event: EventFrame): void;
  /** The socket closed (whoever closed it); pending requests have already failed with `disconnected`. */
  onClose?(code: number, reason: string): void;
}

/** Gets exactly one reply frame (a synthetic `timeout` or `disconnected` one if none arrives) and the time it took. */
export type ReplyCallback = (reply: ReplyFrame, elapsedMs: number) => void;

interface Pending {
  sentAt: number;
  done: ReplyCallback;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * One WebSocket speaking the protocol: numbered requests matched to their
 * replies, `hello` and the other events handed to the owner, and every
 * request answered exactly once (by the server, or by a synthetic `timeout`
 * or `disconnected` reply), so no caller ever waits forever. It neither
 * reconnects nor keeps state beyond the requests in flight: Connection adds
 * reconnection for apps, the test and bench clients add what they record.
 */
export class ProtocolSocket {
  readonly #pending = new Map<string, Pending>();
  #next = 0;
  #hello: HelloEvent | undefined;

  constructor(
    readonly socket: SocketLike,
    private readonly handlers: ProtocolSocketHandlers,
  ) {
    socket.onmessage = (ev) => {
      if (typeof ev.data === 'string') this.#onFrame(ev.data);
    };
    socket.onclose = (ev) => {
      this.#failAll('disconnected', `the socket closed (${ev.code}) before the reply`);
      handlers.onClose?.(ev.code, ev.reason);
    };
    // An error is followed by a close event, which settles everything.
    socket.onerror = () => {};
  }

  /** The session's `hello`, once it arrived. */
  get hello(): HelloEvent | undefined {
    return this.#hello;
  }

  get open(): boolean {
    return this.socket.readyState === SOCKET_OPEN;
  }

  /** Requests sent and not yet answered. */
  get inflight(): number {
    return this.#pending.size;
  }

  /**
   * Sends `op` and hands its reply frame to `done`. With `timeoutMs`, a
   * request unanswered by then gets a `timeout` reply; without, the caller
   * expires old requests itself (expire()), which costs no timer per request.
   */
  send(op: string, args: object, done: ReplyCallback, timeoutMs?: number): string {
    const id = `r${++this.#next}`;
    if (!this.open) {
      done(synthetic(id, 'offline', 'not connected'), 0);
      return id;
    }
    this.#await(id, done, timeoutMs);
    this.socket.send(JSON.stringify({ ...args, id, op }));
    return id;
  }

  /** Sends `data` as is (a frame without id, or a malformed one in a test); see expect() for its reply. */
  sendRaw(data: string): void {
    this.socket.send(data);
  }

  /** Hands the reply to request `id` (sent some other way, e.g. sendRaw) to `done`, like send() does. */
  expect(id: string, done: ReplyCallback, timeoutMs?: number): void {
    this.#await(id, done, timeoutMs);
  }

  /** The reply frame of `op`, whether ok or not; rejects only if none came (RequestError `timeout` or `disconnected`). */
  exchange(op: string, args: object, timeoutMs: number): Promise<ReplyFrame> {
    return new Promise((resolve, reject) =>
      this.send(
        op,
        args,
        (reply) => (isSynthetic(reply) ? reject(toRequestError(reply)) : resolve(reply)),
        timeoutMs,
      ),
    );
  }

  /** The `ok: true` result of `op` (without `re` and `ok`); rejects with RequestError otherwise. */
  call<K extends Op>(op: K, args: OpArgs<K>, timeoutMs: number): Promise<OpResults[K]> {
    return new Promise((resolve, reject) =>
      this.send(
        op,
        args,
        (reply) => {
          if (!reply.ok) return reject(toRequestError(reply));
          const { re: _re, ok: _ok, ...result } = reply;
          resolve(result as OpResults[K]);
        },
        timeoutMs,
      ),
    );
  }

  /** Answers requests older than `maxAgeMs` with a `timeout` reply (requests are kept in send order). */
  expire(maxAgeMs: number): void {
    const cutoff = now() - maxAgeMs;
    for (const [id, p] of this.#pending) {
      if (p.sentAt > cutoff) break;
      this.#settle(id, synthetic(id, 'timeout', `no reply within ${maxAgeMs} ms`));
    }
  }

  /** Closes the socket; pending requests get `disconnected` once it has closed. */
  close(code = 1000, reason = ''): void {
    this.socket.close(code, reason);
  }

  /** Stops listening to the socket without waiting for its close; pending requests fail at once. */
  detach(code?: number, reason?: string): void {
    this.socket.onmessage = null;
    this.socket.onclose = null;
    if (code !== undefined) this.socket.close(code, reason);
    this.#failAll('disconnected', 'the connection dropped before the reply');
  }

  #await(id: string, done: ReplyCallback, timeoutMs: number | undefined): void {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.#settle(id, synthetic(id, 'timeout', `no reply within ${timeoutMs} ms`)), timeoutMs);
    this.#pending.set(id, { sentAt: now(), done, timer });
  }

  #onFrame(text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof frame.re === 'string') {
      this.#settle(frame.re, frame as ReplyFrame);
    } else if (frame.ev === 'hello' && !this.#hello) {
      this.#hello = frame as unknown as HelloEvent;
      this.handlers.onHello?.(this.#hello);
    } else if (typeof frame.ev === 'string') {
      this.handlers.onEvent?.(frame as EventFrame);
    }
  }

  #settle(id: string, reply: ReplyFrame): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    p.done(reply, now() - p.sentAt);
  }

  #failAll(code: 'disconnected', message: string): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, synthetic(id, code, message));
  }
}

/** The RequestError of an `ok: false` reply frame. */
export function toRequestError(reply: ReplyFrame): RequestError {
  const error = reply.error ?? { code: 'internal', message: 'request failed' };
  return new RequestError(error.code as RequestError['code'], error.message, error.retryAfterMs, error.noRetry === true);
}

const SYNTHETIC = Symbol('synthetic reply');

function synthetic(id: string, code: 'timeout' | 'disconnected' | 'offline', message: string): ReplyFrame {
  return { re: id, ok: false, error: { code, message }, [SYNTHETIC]: true };
}

/** Whether the reply was made by the client (no reply came), not sent by the server. */
export function isSynthetic(reply: ReplyFrame): boolean {
  return (reply as { [SYNTHETIC]?: boolean })[SYNTHETIC] === true;
}

function now(): number {
  return performance.now();
}
