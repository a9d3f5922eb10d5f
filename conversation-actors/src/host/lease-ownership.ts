import { type LeaseTable, type Logger, fencingEpoch } from '@chat/platform';
import type { ActorMetrics } from '../metrics.js';
import { assignShards } from './shard-assignment.js';
import type { OwnershipListener, ShardOwnership } from './shard-ownership.js';

export interface LeaseOwnershipOptions {
  table: LeaseTable;
  /** Unique per process incarnation (a restarted host is a new host). */
  hostId: string;
  shardCount: number;
  logger: Logger;
  metrics: ActorMetrics;
  /** How often leases are renewed and the assignment rechecked; default a third of the TTL. */
  roundMs?: number;
  /** Monotonic clock in ms (default performance.now); injectable for tests. */
  now?: () => number;
}

interface Held {
  epoch: number;
  revision: number;
  /** Local deadline: the send time of the last successful renewal + TTL − margin. */
  validUntil: number;
  leaving: boolean;
}

/** Safety margin kept off every lease deadline, for clock-rate drift and scheduling delay. */
const MARGIN_FRACTION = 0.1;

const shardKey = (shard: number) => `shard.${shard}`;
const hostKey = (hostId: string) => `host.${hostId}`;

/**
 * Shard ownership by leases (cluster mode). Each host keeps a `host.<id>`
 * lease alive; every round it renews its shard leases (compare-and-set on
 * the revision), computes the assignment all hosts agree on from the live
 * host list (assignShards), hands off shards assigned elsewhere (drain, stop,
 * release) and acquires free shards assigned to it.
 *
 * Safety: a host serves a shard only until its local deadline, which is
 * earlier than the moment the table can free the lease (the deadline counts
 * from when the renewal was *sent*). epochOf() answers undefined past it, so
 * a paused host that wakes up writes nothing, and a watchdog stops serving
 * shards whose deadline passed.
 */
export class LeaseOwnership implements ShardOwnership {
  readonly #held = new Map<number, Held>();
  readonly #now: () => number;
  readonly #roundMs: number;
  readonly #margin: number;
  #listener: OwnershipListener | undefined;
  #hostRevision = 0;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #stopped = false;
  #round: Promise<void> = Promise.resolve();

  constructor(private readonly o: LeaseOwnershipOptions) {
    this.#now = o.now ?? (() => performance.now());
    this.#roundMs = o.roundMs ?? Math.max(50, Math.floor(o.table.ttlMs / 3));
    this.#margin = Math.ceil(o.table.ttlMs * MARGIN_FRACTION);
  }

  /** Registers this host and completes one full round (the host is ready after it). */
  async start(listener: OwnershipListener): Promise<void> {
    this.#listener = listener;
    const acquired = await this.o.table.acquire(hostKey(this.o.hostId), this.o.hostId);
    if (!acquired) throw new Error(`host id ${this.o.hostId} is already live in the lease table`);
    this.#hostRevision = acquired.revision;
    await this.#runRound();
    this.#schedule();
    this.#watchdog = setInterval(() => this.#expireOverdue(), Math.max(20, Math.floor(this.#margin / 2)));
    this.#watchdog.unref();
  }

  epochOf(shard: number): number | undefined {
    const held = this.#held.get(shard);
    if (!held || this.#now() >= held.validUntil) return undefined;
    return held.epoch;
  }

  /** Shards currently served (for metrics and tests). */
  ownedShards(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  /** Hands every shard back (drained) and leaves the host list, so others take over at once. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#watchdog) clearInterval(this.#watchdog);
    await this.#round.catch(() => {});
    await Promise.all([...this.#held.keys()].map((shard) => this.#handOff(shard)));
    await this.o.table.release(hostKey(this.o.hostId), this.#hostRevision).catch((err: unknown) => {
      this.o.logger.warn({ err }, 'could not leave the host list; it expires by itself');
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#round = this.#runRound().catch((err: unknown) => this.o.logger.warn({ err }, 'lease round failed'));
      this.#round.finally(() => this.#schedule());
    }, this.#roundMs);
    this.#timer.unref();
  }

  async #runRound(): Promise<void> {
    const { table, hostId, shardCount } = this.o;
    const sentAt = this.#now();
    const hostRevision = await table.renew(hostKey(hostId), hostId, this.#hostRevision);
    if (hostRevision === null) {
      // Our host entry expired (we were paused or cut off): rejoin under the same id.
      const again = await table.acquire(hostKey(hostId), hostId);
      if (again) this.#hostRevision = again.revision;
    } else this.#hostRevision = hostRevision;

    await Promise.all(
      // Shards being handed off are renewed too: they still write while draining.
      [...this.#held.entries()].map(async ([shard, held]) => {
        try {
          const revision = await table.renew(shardKey(shard), hostId, held.revision);
          if (revision === null) {
            this.o.metrics.leaseRenewals.inc({ outcome: 'lost' });
            this.#lose(shard, 'lost');
            return;
          }
          held.revision = revision;
          held.validUntil = sentAt + table.ttlMs - this.#margin;
          this.o.metrics.leaseRenewals.inc({ outcome: 'ok' });
        } catch (err) {
          // Keep serving until the deadline; the watchdog stops us if renewals keep failing.
          this.o.metrics.leaseRenewals.inc({ outcome: 'error' });
          this.o.logger.warn({ err, shard }, 'lease renewal failed');
        }
      }),
    );
    if (this.#stopped) return;

    const hosts = [...(await table.list('host.')).values()].map((e) => e.owner);
    if (!hosts.includes(hostId)) hosts.push(hostId);
    const target = assignShards(shardCount, hosts);

    const moves: Promise<void>[] = [];
    for (const [shard, held] of this.#held) {
      if (target[shard] !== hostId && !held.leaving) moves.push(this.#handOff(shard));
    }
    for (let shard = 0; shard < shardCount; shard++) {
      if (target[shard] !== hostId || this.#held.has(shard)) continue;
      moves.push(this.#tryAcquire(shard));
    }
    await Promise.all(moves);
  }

  async #tryAcquire(shard: number): Promise<void> {
    const sentAt = this.#now();
    const acquired = await this.o.table.acquire(shardKey(shard), this.o.hostId).catch((err: unknown) => {
      this.o.logger.warn({ err, shard }, 'lease acquire failed');
      return null;
    });
    if (!acquired || this.#stopped) return;
    const epoch = fencingEpoch(acquired);
    this.#held.set(shard, { epoch, revision: acquired.revision, validUntil: sentAt + this.o.table.ttlMs - this.#margin, leaving: false });
    this.o.logger.debug({ shard, epoch }, 'shard acquired');
    this.#listener?.acquired(shard, epoch);
  }

  /** Drain, stop, release: the shard's requests find no responder until the new owner subscribes. */
  async #handOff(shard: number): Promise<void> {
    const held = this.#held.get(shard);
    if (!held || held.leaving) return;
    held.leaving = true;
    try {
      await this.#listener?.releasing(shard);
    } finally {
      this.#held.delete(shard);
    }
    await this.o.table.release(shardKey(shard), held.revision).catch((err: unknown) => {
      this.o.logger.warn({ err, shard }, 'lease release failed; it expires by itself');
    });
    this.o.metrics.handoffs.inc();
    this.o.logger.debug({ shard }, 'shard handed off');
  }

  /** Stops serving at once: the lease is gone or can no longer be trusted. */
  #lose(shard: number, reason: 'lost' | 'expired'): void {
    if (!this.#held.delete(shard)) return;
    this.o.metrics.shardsLost.inc({ reason });
    this.o.logger.warn({ shard, reason }, 'stopped serving shard');
    this.#listener?.releasing(shard).catch((err: unknown) => this.o.logger.error({ err, shard }, 'releasing a lost shard failed'));
  }

  #expireOverdue(): void {
    const now = this.#now();
    for (const [shard, held] of this.#held) {
      if (!held.leaving && now >= held.validUntil) this.#lose(shard, 'expired');
    }
  }
}
