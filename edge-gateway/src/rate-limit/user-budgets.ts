import type { Clock } from '@chat/platform';
import { TokenBucket } from './token-bucket.js';

export interface UserBudgetsOptions {
  /** Token refill per second of each user's bucket (RATE_LIMIT_PER_SEC). */
  perSec: number;
  /** Capacity of each user's bucket (RATE_LIMIT_BURST). */
  burst: number;
  /** Sockets one user may hold on this gateway (MAX_CONNECTIONS_PER_USER). */
  maxConnections: number;
  clock: Clock;
}

/**
 * One socket's claim on its user's budget: the shared bucket, held from the
 * upgrade until the socket closes (or until it is known never to open).
 */
export class ConnectionSlot {
  #released = false;
  /**
   * Set by the socket's open handler. uWS opens a socket inside
   * `res.upgrade()`; a slot not opened when that returns belongs to a socket
   * that never opened, which gets no close either, so the upgrade handler
   * releases it.
   */
  opened = false;

  constructor(
    readonly bucket: TokenBucket,
    private readonly onRelease: () => void,
  ) {}

  /** Gives the slot back; only the first call counts, so a close after a failed open cannot undercount. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.onRelease();
  }
}

interface UserBudget {
  bucket: TokenBucket;
  sockets: number;
  /** Set while the user has no socket left and the bucket is still refilling. */
  linger: NodeJS.Timeout | undefined;
}

/**
 * The rate budgets of this gateway's users: one token bucket per user,
 * shared by all of that user's sockets here, and a cap on how many sockets
 * a user may hold. Per user and not per socket, because a user opening more
 * sockets must not get more throughput (a per-socket bucket let 20 sockets
 * do 20 times the work).
 *
 * A budget is created with a user's first socket and dropped after the last
 * one closes, but only once its bucket has refilled: dropped at once, a
 * client could reconnect to get a fresh burst (or shed a debt) every time it
 * ran dry. So the memory held is one entry per connected user plus the users
 * who left within the last burst/rate seconds (4 s by default).
 *
 * Everything here is synchronous: slots are reserved inside the uWS upgrade
 * handler, which must not await (see TokenVerifier).
 */
export class UserBudgets {
  readonly #byUser = new Map<string, UserBudget>();

  constructor(private readonly o: UserBudgetsOptions) {}

  /** Users with a budget here (connected, or gone while their bucket refills). */
  get size(): number {
    return this.#byUser.size;
  }

  /** Sockets `userId` holds here (upgraded and not closed). */
  sockets(userId: string): number {
    return this.#byUser.get(userId)?.sockets ?? 0;
  }

  /** Reserves one of the user's socket slots; undefined when the user already holds `maxConnections`. */
  reserve(userId: string): ConnectionSlot | undefined {
    let budget = this.#byUser.get(userId);
    if (!budget) {
      budget = { bucket: new TokenBucket(this.o.perSec, this.o.burst, this.o.clock.now()), sockets: 0, linger: undefined };
      this.#byUser.set(userId, budget);
    }
    if (budget.sockets >= this.o.maxConnections) return undefined;
    budget.sockets++;
    if (budget.linger) {
      clearTimeout(budget.linger);
      budget.linger = undefined;
    }
    const held = budget;
    return new ConnectionSlot(budget.bucket, () => this.#release(userId, held));
  }

  /**
   * Takes `cost` tokens from the user's budget for a call that holds no
   * socket (a gRPC call): 0 when taken, else the ms until they are there.
   * It shares the bucket of the user's sockets here, so a user gains nothing
   * by moving work from WebSocket to gRPC, and it does not count against
   * `maxConnections`. A user known only from calls keeps a budget while it refills.
   */
  take(userId: string, cost: number): number {
    let budget = this.#byUser.get(userId);
    if (!budget) {
      budget = { bucket: new TokenBucket(this.o.perSec, this.o.burst, this.o.clock.now()), sockets: 0, linger: undefined };
      this.#byUser.set(userId, budget);
    }
    const wait = budget.bucket.take(this.o.clock.now(), cost);
    if (budget.sockets === 0) this.#dropWhenRefilled(userId, budget);
    return wait;
  }

  #release(userId: string, budget: UserBudget): void {
    if (--budget.sockets > 0) return;
    this.#dropWhenRefilled(userId, budget);
  }

  /** Forgets a budget without sockets once its bucket is full again (at once if it is); one timer per budget at most. */
  #dropWhenRefilled(userId: string, budget: UserBudget): void {
    if (budget.linger) return; // armed already; it checks again when it fires
    const refillMs = budget.bucket.msUntil(this.o.clock.now(), this.o.burst);
    if (refillMs === 0) {
      this.#byUser.delete(userId);
      return;
    }
    budget.linger = setTimeout(() => {
      budget.linger = undefined;
      if (budget.sockets === 0 && this.#byUser.get(userId) === budget) this.#dropWhenRefilled(userId, budget);
    }, refillMs);
    budget.linger.unref();
  }
}
