import type { LeaseTable } from '@chat/platform';

/** Safety margin kept off the lease deadline, for clock-rate drift and scheduling delay. */
const MARGIN_FRACTION = 0.1;

/**
 * This host's membership in the cluster: one `host.<member>` lease in a table
 * with a TTL, renewed by compare-and-set on its revision. It is the only
 * thing an idle host writes.
 *
 * Guarantee: isValid() is true only before the deadline, the send time of the
 * last successful write (join or renewal) + TTL − margin. The table cannot
 * drop the lease before send time + TTL (it counts from when the write
 * arrived, which is later), so while isValid() is true the lease is still in
 * the table and nobody can have decided that this host is gone.
 */
export class HostLease {
  #revision: number | undefined;
  #validUntil = Number.NEGATIVE_INFINITY;
  readonly #margin: number;

  constructor(
    private readonly table: LeaseTable,
    /** Unique per process incarnation: names the lease (`host.<member>`) and every claim this host writes. */
    readonly member: string,
    private readonly now: () => number,
  ) {
    if (table.ttlMs <= 0) throw new RangeError('host leases need a table with a TTL (ttlMs > 0)');
    this.#margin = Math.ceil(table.ttlMs * MARGIN_FRACTION);
  }

  /** The key of `member`'s lease in the host table. */
  static keyOf(member: string): string {
    return `host.${member}`;
  }

  /** Whether the lease is held and its deadline not passed. */
  isValid(): boolean {
    return this.#revision !== undefined && this.now() < this.#validUntil;
  }

  /** The local deadline (monotonic ms); -Infinity when not held. */
  get validUntil(): number {
    return this.#validUntil;
  }

  get joined(): boolean {
    return this.#revision !== undefined;
  }

  /** Creates the lease. False if `host.<member>` is already live (another process uses this id). */
  async join(): Promise<boolean> {
    const sentAt = this.now();
    const acquired = await this.table.acquire(HostLease.keyOf(this.member), this.member);
    if (!acquired) return false;
    this.#revision = acquired.revision;
    this.#validUntil = sentAt + this.table.ttlMs - this.#margin;
    return true;
  }

  /**
   * Renews the lease. 'lost': it was gone (this host was paused or cut off
   * past the TTL; others may have taken its shards), so it is no longer
   * held and the caller must stop serving and join() again. Throws the
   * table's error if it did not answer; the deadline stays where it was.
   */
  async renew(): Promise<'ok' | 'lost'> {
    if (this.#revision === undefined) return 'lost';
    const key = HostLease.keyOf(this.member);
    const sentAt = this.now();
    const revision = await this.table.renew(key, this.member, this.#revision);
    if (revision === null) {
      // A renewal that timed out may have landed (its answer lost in a NATS reconnect): the lease
      // is then still ours at a revision we never heard of. Only this host writes this key, and an
      // update cannot bring back an expired key, so the lease never lapsed: renew from there.
      const current = await this.table.get(key);
      if (current?.owner === this.member && current.revision > this.#revision) {
        this.#revision = current.revision;
        return this.renew();
      }
    }
    if (revision === null) {
      this.#revision = undefined;
      this.#validUntil = Number.NEGATIVE_INFINITY;
      return 'lost';
    }
    this.#revision = revision;
    this.#validUntil = sentAt + this.table.ttlMs - this.#margin;
    return 'ok';
  }

  /** Gives the lease up at once: others see this host gone on their next round. */
  async leave(): Promise<void> {
    const revision = this.#revision;
    this.#revision = undefined;
    this.#validUntil = Number.NEGATIVE_INFINITY;
    if (revision !== undefined) await this.table.release(HostLease.keyOf(this.member), revision);
  }
}
