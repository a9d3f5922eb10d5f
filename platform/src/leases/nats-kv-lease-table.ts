import type { JetStreamManager, KV, NatsConnection } from 'nats';
import { LeaseUnavailableError } from '../errors.js';
import { isWrongLastSequence } from './kv-errors.js';
import type { LeaseEntry, LeaseTable, LeaseWrite, LiveKeys } from './lease-table.js';

/** Name of the KV bucket holding the host leases. */
export const DEFAULT_LEASE_BUCKET = 'chat_leases';

/** Name of the KV bucket holding the shard claims that go with the host leases of `leaseBucket`. */
export function claimsBucketOf(leaseBucket: string): string {
  return `${leaseBucket}_claims`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Leases in a JetStream KV bucket. The bucket's TTL (the stream's max age)
 * makes an entry that is not rewritten disappear; without a TTL entries stay
 * until released. create() takes a missing key, update() with the last
 * revision renews or takes over (compare-and-set), and the KV revision is the
 * stream sequence, which only grows.
 *
 * Two choices keep an idle cluster cheap:
 * - live() asks for the stream's subjects (one STREAM.INFO request) instead of
 *   KV keys(), which creates and deletes a consumer on every call; the same
 *   answer says when the oldest entry expires (its first and last message
 *   times), so a caller can look again right then instead of polling often;
 * - release() purges the key's messages up to its revision instead of writing
 *   a delete marker, so a released key leaves live() at once (a marker would
 *   stay listed until the TTL) and a later holder's write, above that
 *   revision, is never touched.
 */
export class NatsKvLeaseTable implements LeaseTable {
  readonly #stream: string;
  readonly #subjectPrefix: string;

  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    bucket: string,
    readonly ttlMs: number,
  ) {
    this.#stream = `KV_${bucket}`;
    this.#subjectPrefix = `$KV.${bucket}.`;
  }

  /**
   * Opens (creating if needed) the bucket. `ttlMs` 0 keeps entries until they
   * are released. All users of a bucket must agree on its TTL.
   * `requestTimeoutMs` bounds every request (default a quarter of the TTL, or
   * 5 s without one): a renewal lost in a reconnect must fail in time for a
   * retry before the holder's deadline, not after nats.js's 5 s default.
   */
  static async open(
    connection: NatsConnection,
    options: { ttlMs: number; bucket?: string; replicas?: number; requestTimeoutMs?: number },
  ): Promise<NatsKvLeaseTable> {
    const bucket = options.bucket ?? DEFAULT_LEASE_BUCKET;
    const timeout = options.requestTimeoutMs ?? (options.ttlMs > 0 ? Math.max(100, Math.floor(options.ttlMs / 4)) : 5000);
    try {
      const kv = await connection.jetstream({ timeout }).views.kv(bucket, {
        ...(options.ttlMs > 0 ? { ttl: options.ttlMs } : {}),
        history: 1,
        replicas: options.replicas ?? 1,
      });
      return new NatsKvLeaseTable(kv, await connection.jetstreamManager({ timeout }), bucket, options.ttlMs);
    } catch (err) {
      throw new LeaseUnavailableError(`cannot open lease bucket ${bucket} (is JetStream enabled on the NATS server?)`, { cause: err });
    }
  }

  async acquire(key: string, owner: string): Promise<LeaseWrite | null> {
    try {
      return await this.#stamped(key, await this.kv.create(key, encoder.encode(owner)));
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      throw new LeaseUnavailableError(`acquire ${key} failed`, { cause: err });
    }
  }

  async take(key: string, owner: string, revision: number): Promise<LeaseWrite | null> {
    try {
      return await this.#stamped(key, await this.kv.update(key, encoder.encode(owner), revision));
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      throw new LeaseUnavailableError(`take over ${key} failed`, { cause: err });
    }
  }

  async renew(key: string, owner: string, revision: number): Promise<number | null> {
    try {
      return await this.kv.update(key, encoder.encode(owner), revision);
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      throw new LeaseUnavailableError(`renew ${key} failed`, { cause: err });
    }
  }

  async release(key: string, revision: number): Promise<void> {
    try {
      // Purges the key's messages below revision + 1: ours, or nothing if someone wrote since.
      await this.jsm.streams.purge(this.#stream, { filter: this.#subjectPrefix + key, seq: revision + 1 });
    } catch (err) {
      throw new LeaseUnavailableError(`release ${key} failed`, { cause: err });
    }
  }

  async get(key: string): Promise<LeaseEntry | null> {
    try {
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') return null;
      return { owner: decoder.decode(entry.value), revision: entry.revision };
    } catch (err) {
      throw new LeaseUnavailableError(`reading ${key} failed`, { cause: err });
    }
  }

  async live(prefix: string): Promise<LiveKeys> {
    try {
      const { state } = await this.jsm.streams.info(this.#stream, { subjects_filter: `${this.#subjectPrefix}${prefix}>` });
      const keys = Object.keys(state.subjects ?? {}).map((subject) => subject.slice(this.#subjectPrefix.length));
      // With history 1 the stream's first message is the least recently written entry, and its
      // last message the latest write (usually the caller's own renewal, just before this call).
      const nextExpiryInMs = this.ttlMs > 0 && state.messages > 0 ? Date.parse(state.first_ts) + this.ttlMs - Date.parse(state.last_ts) : undefined;
      return { keys, nextExpiryInMs: Number.isFinite(nextExpiryInMs) ? nextExpiryInMs : undefined };
    } catch (err) {
      throw new LeaseUnavailableError(`listing leases ${prefix}> failed`, { cause: err });
    }
  }

  /** The server's timestamp of our write (for the fencing epoch); null if the entry moved on already (we lost it at once). */
  async #stamped(key: string, revision: number): Promise<LeaseWrite | null> {
    const entry = await this.kv.get(key);
    if (!entry || entry.revision !== revision) return null;
    return { revision, serverTimeMs: entry.created.getTime() };
  }
}
