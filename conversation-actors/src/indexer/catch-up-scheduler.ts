import type { DeliveredNotice } from '@chat/platform';

/** Brings one conversation's index up to the store (search/catch-up.ts catchUp, bound to a store and an index); idempotent. */
export type IndexerCatchUp = (conversationId: string) => Promise<CaughtUp>;

/** What the indexer needs of a catch-up's result. */
export interface CaughtUp {
  /** createdAt (ms) of the newest message this call indexed; null or absent when it indexed none. */
  newestCreatedAt?: number | null | undefined;
}

interface Waiting {
  notices: DeliveredNotice[];
  /** Callers of run() waiting for a catch-up that starts after they asked. */
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

export interface CatchUpSchedulerOptions {
  catchUp: IndexerCatchUp;
  /** Most catch-ups running at once. */
  concurrency: number;
  /** After a catch-up succeeded, with the notices it covered (to acknowledge) and its result. */
  done(conversationId: string, notices: DeliveredNotice[], result: CaughtUp): void;
  /** After a catch-up failed, with the notices it was for (to retry later). */
  failed(conversationId: string, notices: DeliveredNotice[], err: unknown): void;
}

/**
 * Runs catch-ups with bounded concurrency and never two at once for one
 * conversation. Work for a conversation that arrives while its catch-up
 * runs waits and is coalesced into ONE more catch-up after it (that one
 * reads past what the first applied, so it covers every write the waiting
 * notices stand for). Conversations are served in the order they became
 * ready.
 */
export class CatchUpScheduler {
  readonly #waiting = new Map<string, Waiting>();
  /** Conversations being caught up, with the notices that catch-up covers. */
  readonly #running = new Map<string, DeliveredNotice[]>();
  readonly #ready: string[] = [];
  #idle: (() => void) | undefined;
  #stopped = false;

  constructor(private readonly o: CatchUpSchedulerOptions) {}

  /** Catch-ups running or waiting. */
  get load(): number {
    return this.#running.size + this.#waiting.size;
  }

  /** Every notice not settled yet: waiting, or covered by a catch-up under way. */
  held(): DeliveredNotice[] {
    return [...this.#running.values(), ...[...this.#waiting.values()].map((w) => w.notices)].flat();
  }

  /** Schedules a catch-up of the notices' conversations (grouped by conversation). */
  notify(notices: readonly DeliveredNotice[]): void {
    for (const n of notices) this.#entry(n.notice.conversationId).notices.push(n);
    this.#pump();
  }

  /** Resolves once a catch-up of `conversationId` that started after this call succeeded; rejects if it failed. */
  run(conversationId: string): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.#entry(conversationId).waiters.push({ resolve, reject }));
    this.#pump();
    return done;
  }

  /**
   * Stops starting catch-ups and resolves once the running ones ended. What
   * waits is given back: notices to `failed` (so they are retried), callers
   * of run() rejected.
   */
  async drain(reason: Error): Promise<void> {
    this.#ready.length = 0;
    for (const [id, w] of this.#waiting) {
      this.#waiting.delete(id);
      if (w.notices.length > 0) this.o.failed(id, w.notices, reason);
      for (const waiter of w.waiters) waiter.reject(reason);
    }
    this.#stopped = true;
    if (this.#running.size > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  #entry(id: string): Waiting {
    let w = this.#waiting.get(id);
    if (!w) {
      w = { notices: [], waiters: [] };
      this.#waiting.set(id, w);
      if (!this.#running.has(id)) this.#ready.push(id);
    }
    return w;
  }

  #pump(): void {
    while (!this.#stopped && this.#running.size < this.o.concurrency && this.#ready.length > 0) {
      const id = this.#ready.shift()!;
      const work = this.#waiting.get(id)!;
      this.#waiting.delete(id);
      this.#running.set(id, work.notices);
      void this.#process(id, work).finally(() => {
        this.#running.delete(id);
        // Work that arrived meanwhile gets its own catch-up now.
        if (this.#waiting.has(id)) this.#ready.push(id);
        if (this.#stopped && this.#running.size === 0) this.#idle?.();
        this.#pump();
      });
    }
  }

  async #process(id: string, work: Waiting): Promise<void> {
    let result: CaughtUp;
    try {
      result = await this.o.catchUp(id);
    } catch (err) {
      this.o.failed(id, work.notices, err);
      for (const w of work.waiters) w.reject(err);
      return;
    }
    this.o.done(id, work.notices, result);
    for (const w of work.waiters) w.resolve();
  }
}
