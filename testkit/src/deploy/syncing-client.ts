import WebSocket from 'ws';
import { Connection, type Credentials, type SocketLike, devLogin, websocketUrlOf } from '@chat/client';

/** One reconnect as a client lived it: closed at `closedAt`, online again at `onlineAt`, caught up at `syncedAt` (ms, performance.now()). */
export interface Reconnect {
  closeCode: number;
  closedAt: number;
  onlineAt: number;
  syncedAt: number;
}

/**
 * A user's session the way the web client keeps one, for tests of rolling
 * restarts: @chat/client's Connection (reconnects by itself, jittered, at once
 * after a 1001), each attempt to the gateway a chooser names (a load
 * balancer's pick), and after every reconnect a `sync` from the seqs it has
 * seen. Keeps, per conversation, every seq it received (live or by sync), and
 * records each reconnect's timings.
 */
export class SyncingClient {
  readonly seen = new Map<string, Set<number>>();
  readonly reconnects: Reconnect[] = [];
  #closedAt: number | undefined;
  #closeCode = 0;
  #ready = 0;
  #firstReady: Promise<void>;

  private constructor(
    readonly credentials: Credentials,
    readonly connection: Connection,
  ) {
    let resolveFirst!: () => void;
    this.#firstReady = new Promise((r) => (resolveFirst = r));
    connection.status.subscribe((s) => {
      if (s.kind === 'waiting' && this.#closedAt === undefined) {
        this.#closedAt = performance.now();
        this.#closeCode = s.lastCloseCode;
      }
    });
    connection.onEvent((ev) => {
      if (ev.ev === 'message.new') this.#saw(ev.message.conversationId, ev.message.seq);
    });
    connection.onReady(() => {
      if (this.#ready++ === 0) return resolveFirst();
      const closedAt = this.#closedAt ?? performance.now();
      const onlineAt = performance.now();
      this.#closedAt = undefined;
      void this.#sync().then(() => this.reconnects.push({ closeCode: this.#closeCode, closedAt, onlineAt, syncedAt: performance.now() }));
    });
  }

  /**
   * Signs `name` in through `loginUrl` and connects, each attempt to the
   * gateway (http origin) `chooseGateway` names, as a load balancer would;
   * resolves once online.
   */
  static async start(loginUrl: string, name: string, chooseGateway: () => string): Promise<SyncingClient> {
    const credentials = await devLogin(name, loginUrl);
    const base = websocketUrlOf(loginUrl);
    const connection = new Connection({
      url: base,
      token: credentials.token,
      pingIntervalMs: 0,
      // The URL carries the token; the gateway is chosen per attempt.
      createSocket: (url) => new WebSocket(url.replace(base, websocketUrlOf(chooseGateway()))) as unknown as SocketLike,
    });
    const client = new SyncingClient(credentials, connection);
    connection.start();
    await client.#firstReady;
    return client;
  }

  get online(): boolean {
    return this.connection.online;
  }

  /** Whether the last reconnect's sync has finished (true if it never reconnected). */
  get synced(): boolean {
    return this.#closedAt === undefined && this.reconnects.length === Math.max(0, this.#ready - 1);
  }

  stop(): void {
    this.connection.stop();
  }

  #saw(conversationId: string, seq: number): void {
    let set = this.seen.get(conversationId);
    if (!set) this.seen.set(conversationId, (set = new Set()));
    set.add(seq);
  }

  /** Catches up from the highest seq seen per conversation, page by page, retrying while offline. */
  async #sync(): Promise<void> {
    for (;;) {
      const since: Record<string, number> = {};
      for (const [id, seqs] of this.seen) since[id] = Math.max(...seqs);
      try {
        const result = await this.connection.request('sync', { since, limit: 200 });
        for (const [id, messages] of Object.entries(result.messages)) for (const m of messages) this.#saw(id, m.seq);
        if (result.truncated.length === 0) return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}
