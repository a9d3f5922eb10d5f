import { randomBytes } from 'node:crypto';
import { type LeaseEntry, LeaseStorageRecreatedError, type LeaseTable, type LeaseWrite, type LiveKeys, type Logger, fencingEpoch } from '@chat/platform';
import type { ActorMetrics } from '../metrics.js';
import { type ClaimWriter, shardKey, takeClaims } from './claim-takeover.js';
import { HostLease } from './host-lease.js';
import { assignShards } from './shard-assignment.js';
import type { OwnershipListener, ShardOwnership } from './shard-ownership.js';

export interface LeaseOwnershipOptions {
  /** Host leases: a table with a TTL (LEASE_TTL_MS). */
  hosts: LeaseTable;
  /** Shard claims: a table without TTL (ttlMs 0). */
  claims: LeaseTable;
  /** Unique per process incarnation (a restarted host is a new host). */
  hostId: string;
  shardCount: number;
  logger: Logger;
  metrics: ActorMetrics;
  /** How often the host lease is renewed and the assignment rechecked; default half the TTL. */
  roundMs?: number;
  /** Monotonic clock in ms (default performance.now); injectable for tests. */
  now?: () => number;
}

interface Held {
  epoch: number;
  /** Revision of our claim, for releasing it. */
  revision: number;
  leaving: boolean;
}

const HOST_PREFIX = 'host.';
/** How long after a host lease's expected expiry the next round looks, and how soon it looks again if the lease is still there. */
const EXPIRY_SLACK_MS = 20;
const OVERDUE_RETRY_MS = 50;

/**
 * Shard ownership by one lease per host (cluster mode). Each host keeps its
 * `host.<member>` lease alive (HostLease: the only write of an idle host);
 * a shard is owned through a claim `shard.<n>` naming the member, written
 * only when ownership changes. Every round (half the TTL) a host renews its
 * lease, lists the live host leases (one request, which also says when the
 * oldest lease expires: the next round comes then if that is sooner),
 * computes the assignment all hosts agree on (assignShards), hands off
 * shards assigned elsewhere (drain, stop, release the claim) and takes the
 * shards assigned to it.
 *
 * Safety (no two hosts serve a shard at once, and older epochs are refused):
 * - A claim is valid only while its owner's host lease lives. A host serves
 *   its shards only while HostLease.isValid(), whose deadline falls before
 *   the table can drop the lease; epochOf() answers undefined past it (a
 *   paused host that wakes up writes nothing) and a timer at the deadline
 *   stops serving.
 * - A taker writes a claim only if it is free (released: the owner drained
 *   first) or if, after reading the claim, it read that the owner's host
 *   lease is gone, so the owner's deadline has passed (takeClaims). The
 *   write is a compare-and-set on the revision it read, so one taker wins.
 *   A host that finds its own lease gone drops every shard before joining
 *   again, and takes claims back only by compare-and-set like anyone.
 * - The epoch is fencingEpoch() of that claim write: its server time is
 *   later than the previous owner's claim write, so epochs grow from owner
 *   to owner and the store refuses the older one.
 * - If the tables' storage was lost (NATS back with an empty JetStream
 *   store), every claim and host lease is gone while their holders may still
 *   be inside their deadlines. No host takes a claim until a TTL has passed
 *   on the table's clock since the storage was created (recoveryHoldMs):
 *   every holder's last successful renewal reached the lost storage, so
 *   before the creation, and its deadline has passed by then. Meanwhile
 *   each holder's next renewal answers lost, and it stops serving and joins
 *   again like a new host. The hold counts from any creation, also the one
 *   made by a host that starts while the storage is missing: an empty table
 *   looks the same whether the cluster is new or its storage was lost, so a
 *   brand-new cluster waits one TTL at its first start too.
 */
export class LeaseOwnership implements ShardOwnership {
  /** How many actor hosts hold a live host lease in `hosts` right now (this one included once it has joined). */
  static async liveHostCount(hosts: LeaseTable): Promise<number> {
    return (await hosts.live(HOST_PREFIX)).keys.length;
  }

  readonly #held = new Map<number, Held>();
  /** Shards whose claim may name us though we do not hold them (a lost shard, a failed release, a write whose answer we missed). */
  readonly #suspects = new Set<number>();
  readonly #handoffs = new Set<Promise<void>>();
  /** Shards acquired in the current round, logged together at its end. */
  #acquired: { shard: number; from?: string }[] = [];
  readonly #now: () => number;
  readonly #roundMs: number;
  readonly #host: HostLease;
  #listener: OwnershipListener | undefined;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #stopped = false;
  #round: Promise<void> = Promise.resolve();
  #roundRunning = false;
  /** A round was asked for while one ran: the next one starts right after it. */
  #nudged = false;
  /** Delay before the next round: roundMs, or less when a host lease may expire before then. */
  #nextRoundIn: number;
  /** The last round took no shard because the lease storage is less than a TTL old. */
  #holding = false;
  /** The last assignment and the member list it was computed for: most rounds find the same members. */
  #assignment: { members: string; target: string[] } = { members: '', target: [] };

  constructor(private readonly o: LeaseOwnershipOptions) {
    if (o.claims.ttlMs !== 0) throw new RangeError('shard claims need a table without TTL: a claim must outlive any pause of its owner but no host lease');
    this.#now = o.now ?? (() => performance.now());
    this.#roundMs = o.roundMs ?? Math.max(50, Math.floor(o.hosts.ttlMs / 2));
    this.#nextRoundIn = this.#roundMs;
    // A random suffix makes every incarnation a new member even if HOST_ID repeats.
    this.#host = new HostLease(o.hosts, `${o.hostId}-${randomBytes(3).toString('hex')}`, this.#now);
  }

  /**
   * Registers this host and completes one full round (the host is ready after
   * it). If the lease storage is less than a TTL old, that round waits out the
   * hold first (renewing meanwhile), so the host serves its shards when this resolves.
   */
  async start(listener: OwnershipListener): Promise<void> {
    this.#listener = listener;
    if (!(await this.#host.join())) throw new Error(`host ${this.#host.member} is already live in the lease table`);
    await this.#runRound();
    while (this.#holding && !this.#stopped) {
      await new Promise((r) => setTimeout(r, this.#nextRoundIn));
      await this.#runRound();
    }
    this.#schedule();
  }

  epochOf(shard: number): number | undefined {
    const held = this.#held.get(shard);
    if (!held || !this.#host.isValid()) return undefined;
    return held.epoch;
  }

  /** Whether this host's lease is held and within its deadline: false while renewals fail (NATS unreachable, lease storage lost). */
  holdsLease(): boolean {
    return !this.#stopped && this.#host.isValid();
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
    await this.#round.catch(() => {});
    for (const shard of this.#held.keys()) this.#handOff(shard);
    await Promise.all(this.#handoffs);
    if (this.#watchdog) clearTimeout(this.#watchdog);
    await this.#host.leave().catch((err: unknown) => {
      this.o.logger.warn({ err }, 'could not leave the host list; the lease expires by itself');
    });
  }

  /**
   * Runs the next round now rather than at its time: right after a reconnect
   * to NATS, so a host that was cut off renews (or finds its lease storage
   * lost) at once instead of up to a quarter round later.
   */
  nudge(): void {
    if (this.#stopped || this.#timer === undefined) return;
    if (this.#roundRunning) return void (this.#nudged = true);
    clearTimeout(this.#timer);
    this.#nextRoundIn = 0;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = this.#nudged ? 0 : this.#nextRoundIn;
    this.#nudged = false;
    this.#timer = setTimeout(() => {
      this.#roundRunning = true;
      this.#round = this.#runRound().catch((err: unknown) => this.o.logger.warn({ err }, 'lease round failed'));
      void this.#round.finally(() => {
        this.#roundRunning = false;
        this.#schedule();
      });
    }, delay);
    this.#timer.unref();
  }

  async #runRound(): Promise<void> {
    this.#nextRoundIn = this.#roundMs;
    this.#holding = false;
    await this.#renewHostLease();
    if (this.#stopped || !this.#host.isValid()) return;

    const listing = await this.o.hosts.live(HOST_PREFIX);
    // A host that died stops renewing, so its lease is the oldest and expires first: look again
    // right after it should be gone rather than up to a round later (failover time ≈ TTL, not TTL +
    // a round). Live hosts renew every round, so an idle cluster never looks more often than that.
    if (listing.nextExpiryInMs !== undefined && listing.nextExpiryInMs + EXPIRY_SLACK_MS < this.#roundMs) {
      this.#nextRoundIn = listing.nextExpiryInMs > 0 ? listing.nextExpiryInMs + EXPIRY_SLACK_MS : OVERDUE_RETRY_MS;
    }
    const members = listing.keys.map((key) => key.slice(HOST_PREFIX.length));
    const live = new Set(members).add(this.#host.member);
    const target = this.#assign(live);
    for (const [shard, held] of this.#held) {
      if (target[shard] !== this.#host.member && !held.leaving) this.#handOff(shard);
    }
    await this.#clearSuspects(target);
    const wanted: number[] = [];
    for (let shard = 0; shard < this.o.shardCount; shard++) {
      if (target[shard] === this.#host.member && !this.#held.has(shard)) wanted.push(shard);
    }
    if (wanted.length > 0) {
      const holdMs = await this.#recoveryHoldMs(listing);
      if (holdMs > 0) {
        this.o.logger.info({ holdMs, wanted: wanted.length }, 'lease storage was created less than a TTL ago (first start, or NATS lost it): taking no shard until no holder of a lost claim can still serve it');
        this.#holding = true;
        this.#nextRoundIn = Math.min(this.#nextRoundIn, holdMs + EXPIRY_SLACK_MS);
        return;
      }
      const write: ClaimWriter = (shard, attempt, previous) => this.#write(shard, attempt, previous);
      await takeClaims(wanted, { claims: this.o.claims, hosts: this.o.hosts, me: this.#host.member, live, write });
      this.#logAcquired();
    }
  }

  /**
   * How much longer no claim may be taken because the lease storage is new
   * (ms, ≤ 0: none): until a TTL after the later of the two tables'
   * creations, on the server clock (the listing's latest write is our
   * renewal, just made, so "now" is never overestimated).
   */
  async #recoveryHoldMs(listing: LiveKeys): Promise<number> {
    let claimsCreated: number;
    try {
      claimsCreated = await this.o.claims.createdAt();
    } catch (err) {
      if (!(err instanceof LeaseStorageRecreatedError)) throw err;
      // Found missing just now and recreated: the hold counts from now.
      claimsCreated = await this.o.claims.createdAt();
    }
    const created = Math.max(listing.createdAtMs, claimsCreated);
    return created + this.o.hosts.ttlMs - (listing.latestWriteAtMs ?? created);
  }

  /** One info line per round for what it acquired (a start takes hundreds of shards at once), naming takeovers' previous owners. */
  #logAcquired(): void {
    if (this.#acquired.length === 0) return;
    const shards = this.#acquired.map((a) => a.shard).sort((a, b) => a - b);
    const takenFrom: Record<string, number[]> = {};
    for (const a of this.#acquired) if (a.from !== undefined) (takenFrom[a.from] ??= []).push(a.shard);
    this.#acquired = [];
    this.o.logger.info({ count: shards.length, shards: compactRanges(shards), takenFrom, serving: this.#held.size }, 'shards acquired');
  }

  #assign(live: Set<string>): string[] {
    const members = [...live].sort().join(' ');
    if (members !== this.#assignment.members) this.#assignment = { members, target: assignShards(this.o.shardCount, [...live]) };
    return this.#assignment.target;
  }

  /** Renews the host lease (joining again if it was lost) and arms the deadline timer. */
  async #renewHostLease(): Promise<void> {
    let outcome: 'ok' | 'lost';
    try {
      // A renewal that found the lease storage lost (and had it recreated) did not happen; the next one answers lost.
      outcome = await this.#host.renew().catch((err: unknown) => {
        if (err instanceof LeaseStorageRecreatedError) return this.#host.renew();
        throw err;
      });
    } catch (err) {
      // Keep serving until the deadline (the timer stops us if renewals keep failing), and try
      // again soon: a renewal lost in a NATS reconnect must be retried before the deadline.
      this.o.metrics.leaseRenewals.inc({ outcome: 'error' });
      this.o.logger.warn({ err }, 'host lease renewal failed');
      this.#nextRoundIn = Math.max(20, Math.floor(this.#roundMs / 4));
      return;
    }
    this.o.metrics.leaseRenewals.inc({ outcome });
    if (outcome === 'lost') {
      // Paused or cut off past the TTL: our claims may be taken already. Stop serving, then rejoin.
      this.o.logger.warn({ shards: this.#held.size }, 'host lease lost; stopped serving every shard and joining again');
      this.#loseAll('lost');
      if (this.#stopped) return;
      try {
        await this.#host.join();
      } catch (err) {
        this.o.logger.warn({ err }, 'joining again failed; retrying next round');
        return;
      }
    }
    this.#armDeadline();
  }

  /** A timer at the host lease deadline: it stops serving every shard unless a renewal moved the deadline first. */
  #armDeadline(): void {
    if (this.#watchdog) clearTimeout(this.#watchdog);
    if (this.#stopped || !this.#host.joined) return;
    this.#watchdog = setTimeout(() => {
      if (this.#host.isValid()) this.#armDeadline(); // woke a moment early: timers round to whole ms
      else this.#loseAll('expired');
    }, Math.max(1, this.#host.validUntil - this.#now()));
    this.#watchdog.unref();
  }

  /** Runs one claim write and starts serving on success; a write that failed may have landed, so the shard becomes a suspect. */
  async #write(shard: number, write: () => Promise<LeaseWrite | null>, previous?: LeaseEntry): Promise<LeaseWrite | null> {
    let result: LeaseWrite | null;
    try {
      result = await write();
    } catch (err) {
      this.o.logger.warn({ err, shard }, 'shard claim write failed');
      this.#suspects.add(shard);
      return null;
    }
    if (!result) return null;
    if (this.#stopped || !this.#host.isValid() || this.#held.has(shard)) {
      this.#suspects.add(shard);
      return result;
    }
    const epoch = fencingEpoch(result);
    this.#held.set(shard, { epoch, revision: result.revision, leaving: false });
    this.#suspects.delete(shard);
    const reason = previous === undefined ? 'free' : previous.owner === this.#host.member ? 'adopted' : 'takeover';
    this.o.metrics.shardAcquisitions.inc({ reason });
    this.#acquired.push(reason === 'takeover' ? { shard, from: previous!.owner } : { shard });
    this.#listener?.acquired(shard, epoch);
    return result;
  }

  /** Releases claims naming us that we do not serve and that are assigned elsewhere, so their new owner need not wait. */
  async #clearSuspects(target: string[]): Promise<void> {
    const me = this.#host.member;
    await Promise.all(
      [...this.#suspects].map(async (shard) => {
        // Held again, or ours to take back through #take (which adopts a claim naming us).
        if (this.#held.has(shard) || target[shard] === me) return void this.#suspects.delete(shard);
        try {
          const claim = await this.o.claims.get(shardKey(shard));
          if (claim?.owner === me && !this.#held.has(shard)) await this.o.claims.release(shardKey(shard), claim.revision);
          this.#suspects.delete(shard);
        } catch (err) {
          this.o.logger.warn({ err, shard }, 'could not release a stale shard claim; retrying next round');
        }
      }),
    );
  }

  /** Drain, stop, release, in the background (renewals go on meanwhile): the shard's requests find no responder until the new owner subscribes. */
  #handOff(shard: number): void {
    const held = this.#held.get(shard);
    if (!held || held.leaving) return;
    held.leaving = true;
    const done = (async () => {
      try {
        await this.#listener?.releasing(shard);
      } catch (err) {
        this.o.logger.error({ err, shard }, 'draining a shard failed');
      } finally {
        this.#held.delete(shard);
      }
      try {
        await this.o.claims.release(shardKey(shard), held.revision);
      } catch (err) {
        this.#suspects.add(shard);
        this.o.logger.warn({ err, shard }, 'shard claim release failed; retrying next round');
      }
      this.o.metrics.handoffs.inc();
      this.o.logger.info({ shard }, 'shard handed off');
    })();
    this.#handoffs.add(done);
    void done.finally(() => this.#handoffs.delete(done));
  }

  /** Stops serving every shard at once: the host lease is gone or can no longer be trusted. */
  #loseAll(reason: 'lost' | 'expired'): void {
    for (const [shard, held] of this.#held) {
      // A shard being handed off is dropped by its hand-off; epochOf() already refuses it.
      if (held.leaving) continue;
      this.#held.delete(shard);
      this.#suspects.add(shard);
      this.o.metrics.shardsLost.inc({ reason });
      this.o.logger.warn({ shard, reason }, 'stopped serving shard');
      this.#listener?.releasing(shard).catch((err: unknown) => this.o.logger.error({ err, shard }, 'releasing a lost shard failed'));
    }
  }

}

/** `[0,1,2,3,7,9,10]` → `"0-3,7,9-10"`: a round's shards in one short field. */
function compactRanges(sorted: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
