import { LeaseUnavailableError } from '../errors.js';

/**
 * A table of keyed entries, each with one owner, written by compare-and-set
 * on its revision: the boundary the shard ownership code depends on. With a
 * TTL the entries are leases (an entry not renewed for `ttlMs` disappears);
 * with `ttlMs` 0 they are claims that stay until released or taken over.
 * Implementation: a JetStream KV bucket (NatsKvLeaseTable).
 *
 * Guarantees:
 * - acquire() succeeds for at most one caller while the key is held, and
 *   take() for at most one caller per revision: every write names the
 *   revision it replaces.
 * - With a TTL, an entry not renewed for `ttlMs` (measured by the table's
 *   server) disappears; it never disappears earlier, so a holder that renews
 *   and keeps its own deadline (send time of its last successful renewal +
 *   ttlMs) is the only holder until that deadline.
 * - release() leaves no trace: the key is free at once and live() no longer
 *   names it.
 * - Revisions only grow while the table's storage lives; the server time of a
 *   write also grows across a storage reset (same server clock), so together
 *   they make a fencing epoch (see fencingEpoch()).
 * - If the storage is lost (NATS came back with an empty JetStream store), the
 *   operation that finds it missing recreates it, empty, and fails with
 *   LeaseStorageRecreatedError; nothing is retried behind the caller's back. Every
 *   entry is gone then: a renewal answers null (lost), and a key is free to
 *   acquire.
 * - Every creation of the storage is recorded on the server clock, whoever
 *   made it and when: createdAt(). An empty table may be a new cluster or one
 *   whose storage was lost while holders still act on their entries (a
 *   process that starts while it is missing cannot tell), so a caller waits
 *   until a TTL after the creation before taking anything.
 */
export interface LeaseTable {
  /** How long an entry lives after its last write, in ms; 0: until released or taken over. */
  readonly ttlMs: number;
  /** Takes `key` for `owner` if it is free. Null if someone holds it. */
  acquire(key: string, owner: string): Promise<LeaseWrite | null>;
  /**
   * Takes `key` over for `owner` if it is still at `revision` (the caller
   * decided its holder is gone). Null if it moved on or disappeared.
   */
  take(key: string, owner: string, revision: number): Promise<LeaseWrite | null>;
  /** Renews a lease last written at `revision`. Returns the new revision, or null if it was lost. */
  renew(key: string, owner: string, revision: number): Promise<number | null>;
  /** Gives a key up at once if it is still at `revision`; a no-op if it moved on. */
  release(key: string, revision: number): Promise<void>;
  /** The key's current holder, or null if it is free. */
  get(key: string): Promise<LeaseEntry | null>;
  /** Every held key that starts with `prefix`, read in one request (no values), and when the next one may expire. */
  live(prefix: string): Promise<LiveKeys>;
  /**
   * When the storage was created, on the table's (server) clock in ms: at the
   * cluster's first start, or when it was recreated after it was lost.
   */
  createdAt(): Promise<number>;
}

/** The answer of LeaseTable.live(). */
export interface LiveKeys {
  keys: string[];
  /**
   * With a TTL: in how many ms the least recently written entry of the whole
   * table expires unless it is renewed first, counted on the table's clock
   * from its latest write (≤ 0: overdue). For scheduling the next look only
   * (someone may be gone then); never a safety decision. Undefined without a
   * TTL or when the table is empty.
   */
  nextExpiryInMs: number | undefined;
  /** The table's time (server clock, ms) of its latest write, usually the caller's own renewal; undefined when empty. */
  latestWriteAtMs: number | undefined;
  /** Same as createdAt(), read with the listing. */
  createdAtMs: number;
}

/** A write that took a key: its revision and the server's time of the write (ms). */
export interface LeaseWrite {
  revision: number;
  serverTimeMs: number;
}

export interface LeaseEntry {
  owner: string;
  revision: number;
}

/**
 * A fencing epoch from an acquire: the server's write time in ms, times 1024,
 * plus the revision's low bits. It grows from one holder of a lease to the
 * next even when the lease storage was reset (revisions restart at 1, the
 * clock does not), and stays below 2^53 until the year 2248. A server clock
 * stepped backwards can only make a new holder's writes be refused (safe),
 * never let an old holder's writes through.
 */
export function fencingEpoch(acquired: LeaseWrite): number {
  return Math.floor(acquired.serverTimeMs) * 1024 + (acquired.revision % 1024);
}

/**
 * The operation found the table's storage missing (NATS lost its JetStream
 * store) and recreated it, empty; the operation itself did not happen. Every
 * entry is gone: retrying at once is meaningful (a renewal answers lost).
 */
export class LeaseStorageRecreatedError extends LeaseUnavailableError {}
