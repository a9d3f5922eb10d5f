import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import { Observable, type Readable } from './observable.js';
import { ProtocolSocket, type SocketLike } from './protocol-socket.js';
import { type HelloEvent, type Op, type OpArgs, type OpResults, RequestError, type ServerEvent } from './types.js';
import { type MemberPage, type MemberPageArgs, members } from './members.js';

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

const CLOSE_GOING_AWAY = 1001;
const CLOSE_TOKEN_EXPIRED = 4001;
const CLOSE_SLOW_CONSUMER = 4003;
const CLOSE_RATE_LIMITED = 4029;

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
  #socket: ProtocolSocket | undefined;
  #attempt = 0;
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
    if (!socket || !this.online || !socket.open) return Promise.reject(new RequestError('offline', 'not connected'));
    return socket.call(op, args, timeoutMs);
  }

  /**
   * A page of a conversation's members (conversation.members: ascending user
   * id, `next` the cursor of the following page, null on the last): how a
   * client reads the members a bounded view (`membersTruncated`) leaves out.
   */
  members(conversationId: string, page: MemberPageArgs = {}): Promise<MemberPage> {
    return members(this, conversationId, page);
  }

  /** Sends a request without an id (no reply comes): only `typing` uses this. Dropped when offline. */
  notify<K extends Op>(op: K, args: OpArgs<K>): void {
    if (this.online && this.#socket?.open) this.#socket.sendRaw(JSON.stringify({ ...args, op }));
  }

  #connect(): void {
    this.#status.set({ kind: 'connecting', attempt: this.#attempt });
    if (tokenExpired(this.#o.token)) {
      this.#stopped = true;
      this.#status.set({ kind: 'signed-out' });
      return;
    }
    const url = `${this.#o.url}?token=${encodeURIComponent(this.#o.token)}`;
    let raw: SocketLike;
    try {
      raw = this.#o.createSocket ? this.#o.createSocket(url) : (new WebSocket(url) as unknown as SocketLike);
    } catch {
      this.#scheduleReconnect(1006);
      return;
    }
    const socket: ProtocolSocket = new ProtocolSocket(raw, {
      onHello: (hello) => {
        if (this.#socket !== socket) return;
        this.#hello = hello;
        this.#attempt = 0;
        this.#status.set({ kind: 'online', sessionId: hello.sessionId });
        this.#startPings();
        for (const listener of [...this.#readyListeners]) listener(hello);
      },
      onEvent: (ev) => {
        if (this.#socket !== socket) return;
        for (const listener of [...this.#eventListeners]) listener(ev as ServerEvent);
      },
      onClose: (code) => {
        if (this.#socket === socket) this.#onClose(code);
      },
    });
    this.#socket = socket;
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
    // Pending requests fail with `disconnected` at once, whether or not the close is ours.
    socket?.detach(code, reason);
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
