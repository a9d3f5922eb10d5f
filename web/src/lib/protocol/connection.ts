import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import { Observable, type Readable } from './observable.js';
import { type HelloEvent, type Op, type OpArgs, type OpResults, RequestError, type ServerEvent } from './types.js';

/** The part of the browser's WebSocket the connection uses (the `ws` package's fits too). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** What the connection banner shows. */
export type ConnectionStatus =
  | { kind: 'idle' }
  | { kind: 'connecting'; attempt: number }
  | { kind: 'online'; sessionId: string }
  /** Waiting to reconnect; `retryAt` is a Date.now() time. */
  | { kind: 'waiting'; attempt: number; retryAt: number; lastCloseCode: number }
  /** The token expired or was revoked (4001): sign in again. */
  | { kind: 'signed-out' };

export interface ConnectionOptions {
  /** ws(s)://host/v1/ws without the token. */
  url: string;
  token: string;
  createSocket?: (url: string) => SocketLike;
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
  /** How often an idle-checking `ping` goes out once online; 0 disables it. */
  pingIntervalMs?: number;
}

const OPEN = 1;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_TOKEN_EXPIRED = 4001;
const CLOSE_SLOW_CONSUMER = 4003;
const CLOSE_RATE_LIMITED = 4029;

interface PendingRequest {
  resolve: (result: unknown) => void;
  reject: (err: RequestError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One client's WebSocket to the cluster: connects with the token, waits for
 * `hello`, matches replies to requests (each with a timeout), hands events to
 * listeners, and reconnects after any loss with exponential backoff and
 * jitter until stopped or signed out. Listeners registered with onReady run
 * after every `hello` (the first and each reconnect): that is where the
 * client syncs. Requests made while not online fail at once with `offline`;
 * requests in flight when the socket drops fail with `disconnected`.
 */
export class Connection {
  readonly #o: Required<Omit<ConnectionOptions, 'createSocket'>> & Pick<ConnectionOptions, 'createSocket'>;
  readonly #status = new Observable<ConnectionStatus>({ kind: 'idle' });
  readonly #eventListeners = new Set<(ev: ServerEvent) => void>();
  readonly #readyListeners = new Set<(hello: HelloEvent) => void>();
  readonly #pending = new Map<string, PendingRequest>();
  #socket: SocketLike | undefined;
  #attempt = 0;
  #nextId = 1;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #stopped = true;
  #hello: HelloEvent | undefined;

  constructor(options: ConnectionOptions) {
    this.#o = {
      requestTimeoutMs: 15_000,
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      pingIntervalMs: 25_000,
      ...options,
    };
  }

  /** The connection state, for the banner. */
  get status(): Readable<ConnectionStatus> {
    return this.#status;
  }

  /** The last `hello` (who we are), once online. */
  get hello(): HelloEvent | undefined {
    return this.#hello;
  }

  onEvent(listener: (ev: ServerEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Runs after every `hello`, i.e. on every (re)connect. */
  onReady(listener: (hello: HelloEvent) => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#attempt = 0;
    this.#connect();
  }

  /** Closes for good (sign out); pending requests fail with `disconnected`. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#dropSocket(1000, 'bye');
    this.#status.set({ kind: 'idle' });
  }

  /** Skips the rest of a backoff wait (a "retry now" button, the browser coming online). */
  retryNow(): void {
    if (this.#stopped || this.#status.get().kind !== 'waiting') return;
    clearTimeout(this.#retryTimer);
    this.#connect();
  }

  get online(): boolean {
    return this.#status.get().kind === 'online';
  }

  /** Sends a request and resolves with its `ok: true` reply (without `re`/`ok`). */
  request<K extends Op>(op: K, args: OpArgs<K>, timeoutMs = this.#o.requestTimeoutMs): Promise<OpResults[K]> {
    const socket = this.#socket;
    if (!socket || !this.online || socket.readyState !== OPEN) {
      return Promise.reject(new RequestError('offline', 'not connected'));
    }
    const id = `r${this.#nextId++}`;
    return new Promise<OpResults[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RequestError('timeout', `${op} got no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ ...args, id, op }));
    });
  }

  /** Sends a request without an id (no reply comes): only `typing` uses this. Dropped when offline. */
  notify<K extends Op>(op: K, args: OpArgs<K>): void {
    if (this.online && this.#socket?.readyState === OPEN) this.#socket.send(JSON.stringify({ ...args, op }));
  }

  #connect(): void {
    this.#status.set({ kind: 'connecting', attempt: this.#attempt });
    if (tokenExpired(this.#o.token)) {
      this.#stopped = true;
      this.#status.set({ kind: 'signed-out' });
      return;
    }
    const url = `${this.#o.url}?token=${encodeURIComponent(this.#o.token)}`;
    let socket: SocketLike;
    try {
      socket = this.#o.createSocket ? this.#o.createSocket(url) : (new WebSocket(url) as unknown as SocketLike);
    } catch {
      this.#scheduleReconnect(1006);
      return;
    }
    this.#socket = socket;
    socket.onmessage = (ev) => {
      if (this.#socket === socket && typeof ev.data === 'string') this.#onFrame(ev.data);
    };
    socket.onclose = (ev) => {
      if (this.#socket === socket) this.#onClose(ev.code);
    };
    // Errors are followed by a close event, which decides what happens next.
    socket.onerror = () => {};
  }

  #onFrame(text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof frame.re === 'string') {
      const pending = this.#pending.get(frame.re);
      if (!pending) return;
      this.#pending.delete(frame.re);
      clearTimeout(pending.timer);
      if (frame.ok === true) {
        const { re: _re, ok: _ok, ...result } = frame;
        pending.resolve(result);
      } else {
        const error = (frame.error ?? {}) as { code?: string; message?: string; retryAfterMs?: number };
        pending.reject(new RequestError((error.code ?? 'internal') as RequestError['code'], error.message ?? 'request failed', error.retryAfterMs));
      }
      return;
    }
    if (frame.ev === 'hello') {
      this.#hello = frame as unknown as HelloEvent;
      this.#attempt = 0;
      this.#status.set({ kind: 'online', sessionId: this.#hello.sessionId });
      this.#startPings();
      for (const listener of [...this.#readyListeners]) listener(this.#hello);
      return;
    }
    if (typeof frame.ev === 'string') {
      for (const listener of [...this.#eventListeners]) listener(frame as unknown as ServerEvent);
    }
  }

  #onClose(code: number): void {
    this.#dropSocket();
    if (this.#stopped) return;
    if (code === CLOSE_TOKEN_EXPIRED) {
      this.#stopped = true;
      this.#status.set({ kind: 'signed-out' });
      return;
    }
    this.#scheduleReconnect(code);
  }

  #scheduleReconnect(code: number): void {
    // A gateway going away or shedding a slow consumer is not this client's fault: come back at once (jittered).
    const immediate = code === CLOSE_GOING_AWAY || code === CLOSE_SLOW_CONSUMER;
    const attempt = code === CLOSE_RATE_LIMITED ? Math.max(this.#attempt, 4) : this.#attempt;
    const delay = immediate && this.#attempt === 0 ? Math.round(this.#o.random() * 1000) : backoffDelay(attempt, this.#o.backoff, this.#o.random);
    this.#attempt = attempt + 1;
    this.#status.set({ kind: 'waiting', attempt: this.#attempt, retryAt: Date.now() + delay, lastCloseCode: code });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #startPings(): void {
    clearInterval(this.#pingTimer);
    if (this.#o.pingIntervalMs <= 0) return;
    this.#pingTimer = setInterval(() => {
      const socket = this.#socket;
      // A ping without a reply means the path is dead even if the socket looks open.
      this.request('ping', {}).catch((err: RequestError) => {
        if (err.code === 'timeout' && this.#socket === socket) socket?.close(4000, 'ping timeout');
      });
    }, this.#o.pingIntervalMs);
  }

  #dropSocket(code?: number, reason?: string): void {
    clearInterval(this.#pingTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      if (code !== undefined) socket.close(code, reason);
    }
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new RequestError('disconnected', 'the connection dropped before the reply'));
      this.#pending.delete(id);
    }
  }
}

/** Whether a JWT's `exp` has passed (unreadable tokens count as not expired: the server decides). */
export function tokenExpired(token: string, now = Date.now()): boolean {
  const payload = token.split('.')[1];
  if (!payload) return false;
  try {
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof json.exp === 'number' && json.exp * 1000 <= now;
  } catch {
    return false;
  }
}
