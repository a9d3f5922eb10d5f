import type { Bus, Logger } from '@chat/platform';
import type { BackendClient } from '../routing/backend-client.js';
import type { RoomTable } from './room-table.js';

/**
 * How long a connect waits for the user's conversations before hello goes
 * out without them: a cluster with no actor host reachable must not hold
 * every new connection for the full retry budget.
 */
const FIRST_LOAD_BUDGET_MS = 1000;

/** Backoff of the later attempts, while the user stays connected. */
const RELOAD_DELAYS_MS = [1000, 2000, 5000, 10_000];

/** Room reloads in flight after a bus reconnect: one query each, so a gateway full of users does not flood the query service. */
const RELOAD_CONCURRENCY = 16;

/** A user's room load; `token` tells a stale load (the user left and came back meanwhile) from the current one. */
interface Load {
  readonly token: object;
  /** Resolves once the first attempt succeeded or failed. */
  readonly first: Promise<void>;
}

export interface RoomLoaderOptions {
  rooms: RoomTable;
  bus: Bus;
  backend: BackendClient;
  logger: Logger;
  /** A connecting user's rooms were loaded only after their first attempt failed (see EventDeliveryOptions.loadedLate). */
  loadedLate(userId: string): void;
}

/**
 * Fills the RoomTable from the query service's `rooms` (every conversation
 * of a user): once for a connecting user, before their hello (ready()), and
 * again for every connected user after the bus reconnected (reloadAll()),
 * since membership events may have been lost meanwhile. A failed load is
 * retried with backoff while the user stays connected.
 */
export class RoomLoader {
  readonly #loads = new Map<string, Load>();
  #reloadQueue: string[] = [];
  #reloadsRunning = 0;

  constructor(private readonly o: RoomLoaderOptions) {}

  /** Loads a user who just became tracked in the table. */
  load(userId: string): void {
    this.#start(userId, true);
  }

  /**
   * Resolves once the user's rooms are followed and the subscriptions are in
   * effect on the bus, so every event published after it reaches them, or
   * once the first attempt to read them failed (see loadedLate).
   */
  ready(userId: string): Promise<void> {
    return this.#loads.get(userId)?.first ?? Promise.resolve();
  }

  /** The user left: a load in flight for them is dropped. */
  forget(userId: string): void {
    this.#loads.delete(userId);
  }

  /** Reloads the rooms of every user listed, RELOAD_CONCURRENCY at a time. */
  reloadAll(userIds: Iterable<string>): void {
    this.#reloadQueue = [...userIds];
    this.o.logger.info({ users: this.#reloadQueue.length }, 'bus reconnected: reloading the conversations of every connected user');
    this.#pump();
  }

  /** Drops queued reloads (shutdown). */
  stop(): void {
    this.#reloadQueue = [];
  }

  #pump(): void {
    while (this.#reloadsRunning < RELOAD_CONCURRENCY && this.#reloadQueue.length > 0) {
      const userId = this.#reloadQueue.pop()!;
      if (!this.o.rooms.reloading(userId)) continue; // gone, or its first load still runs
      this.#reloadsRunning++;
      void this.#start(userId, false).finally(() => {
        this.#reloadsRunning--;
        this.#pump();
      });
    }
  }

  /** Starts a load; the promise settles with its first attempt. */
  #start(userId: string, connecting: boolean): Promise<void> {
    const token = {};
    let firstDone!: () => void;
    const first = new Promise<void>((resolve) => (firstDone = resolve));
    this.#loads.set(userId, { token, first });
    void this.#loop(userId, token, firstDone, connecting);
    return first;
  }

  /** Loads (connecting) or reloads the user's rooms until it succeeds or the user leaves. */
  async #loop(userId: string, token: object, firstDone: () => void, connecting: boolean): Promise<void> {
    const current = () => this.#loads.get(userId)?.token === token;
    for (let attempt = 0; current(); attempt++) {
      try {
        const budgetMs = attempt === 0 ? FIRST_LOAD_BUDGET_MS : undefined;
        const reply = await this.o.backend.query({ caller: { id: userId, name: '' }, op: { $case: 'rooms', value: {} } }, { budgetMs });
        if (reply.$case !== 'rooms') throw new Error(`rooms query answered with ${reply.$case}`);
        if (!current()) return; // gone meanwhile
        this.o.rooms.loaded(userId, reply.value.conversationIds);
        // The subscriptions reach the bus server before hello: a request the client sends after hello comes after them.
        await this.o.bus.flush();
        if (!current()) return;
        this.#loads.delete(userId);
        if (attempt > 0 && connecting) this.o.loadedLate(userId);
        return;
      } catch (err) {
        if (attempt === 0) this.o.logger.warn({ err, userId, connecting }, 'could not load the conversations of a user; retrying');
      } finally {
        if (attempt === 0) firstDone();
      }
      await new Promise((resolve) => setTimeout(resolve, RELOAD_DELAYS_MS[Math.min(attempt, RELOAD_DELAYS_MS.length - 1)]));
    }
  }
}
