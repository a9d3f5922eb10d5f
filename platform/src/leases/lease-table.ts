/**
 * A table of expiring leases with compare-and-set renewal: the boundary the
 * shard ownership code depends on. Implementation: a JetStream KV bucket
 * whose entries expire after the TTL unless renewed (NatsKvLeaseTable).
 *
 * Guarantees:
 * - acquire() succeeds for at most one caller while the lease is held.
 * - A lease not renewed for `ttlMs` (measured by the table's server) becomes
 *   free; it never becomes free earlier, so a holder that renews and keeps its
 *   own deadline (send time of its last successful renewal + ttlMs) is the
 *   only holder until that deadline.
 * - Revisions only grow while the table's storage lives; the server time of an
 *   acquire also grows across a storage reset (same server clock), so together
 *   they make a fencing epoch (see fencingEpoch()).
 */
export interface LeaseTable {
  readonly ttlMs: number;
  /**
   * Takes `key` for `owner` if it is free. Returns the lease revision and the
   * server's time of the write (ms), or null if someone holds it.
   */
  acquire(key: string, owner: string): Promise<{ revision: number; serverTimeMs: number } | null>;
  /** Renews a lease last written at `revision`. Returns the new revision, or null if it was lost. */
  renew(key: string, owner: string, revision: number): Promise<number | null>;
  /** Gives a lease up at once (if still at `revision`), so another owner can take it without waiting for expiry. */
  release(key: string, revision: number): Promise<void>;
  /** Every live lease whose key starts with `prefix`. */
  list(prefix: string): Promise<Map<string, LeaseEntry>>;
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
export function fencingEpoch(acquired: { revision: number; serverTimeMs: number }): number {
  return Math.floor(acquired.serverTimeMs) * 1024 + (acquired.revision % 1024);
}
