import type { JetStreamManager, KV, KvOptions, NatsConnection, StreamInfo } from 'nats';
import { LeaseUnavailableError } from '../errors.js';
import { isStreamNotFound, isWrongLastSequence, mayBeMissingStream } from './kv-errors.js';
import { type LeaseEntry, LeaseStorageRecreatedError, type LeaseTable, type LeaseWrite, type LiveKeys } from './lease-table.js';

/** Name of the KV bucket holding the host leases. */
export const DEFAULT_LEASE_BUCKET = 'chat_leases';

/** Name of the KV bucket holding the shard claims that go with the host leases of `leaseBucket`. */
export function claimsBucketOf(leaseBucket: string): string {
  return `${leaseBucket}_claims`;
}

/** How long opening may take to create a bucket (a replicated one needs its servers to agree). */
const CREATE_TIMEOUT_MS = 10_000;

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
 *
 * If NATS comes back without the bucket (restarted with an empty JetStream
 * store), the operation that finds it missing recreates it, empty and with the
 * same configuration, and fails (see LeaseTable). Several hosts may race to
 * recreate it: creating a stream with the configuration it already has is a
 * no-op, so they all end up on the same bucket. The stream's creation time,
 * set by the server and kept with the stream's configuration, is createdAt():
 * every host sees it together with the bucket, however the bucket came to be
 * (first start, a host starting while it was missing, a recreation).
 */
export class NatsKvLeaseTable implements LeaseTable {
  readonly #stream: string;
  readonly #subjectPrefix: string;
  #kv: KV;
  /** The recreation under way, shared by the operations that found the bucket missing meanwhile. */
  #recovering: Promise<boolean> | undefined;

  private constructor(
    kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly bind: (recreating?: boolean) => Promise<KV>,
    private readonly bucket: string,
    readonly ttlMs: number,
    private readonly onRecreated: (() => void) | undefined,
  ) {
    this.#kv = kv;
    this.#stream = `KV_${bucket}`;
    this.#subjectPrefix = `$KV.${bucket}.`;
  }

  /**
   * Opens (creating if needed) the bucket. `ttlMs` 0 keeps entries until they
   * are released. All users of a bucket must agree on its TTL.
   * `requestTimeoutMs` bounds every request (default a quarter of the TTL, or
   * 5 s without one): a renewal lost in a reconnect must fail in time for a
   * retry before the holder's deadline, not after nats.js's 5 s default.
   * `onRecreated` runs (without being awaited) each time this table recreated
   * its bucket after finding it missing.
   */
  static async open(
    connection: NatsConnection,
    options: { ttlMs: number; bucket?: string; replicas?: number; requestTimeoutMs?: number; onRecreated?: () => void },
  ): Promise<NatsKvLeaseTable> {
    const bucket = options.bucket ?? DEFAULT_LEASE_BUCKET;
    const timeout = options.requestTimeoutMs ?? (options.ttlMs > 0 ? Math.max(100, Math.floor(options.ttlMs / 4)) : 5000);
    const config: Partial<KvOptions> = { ...(options.ttlMs > 0 ? { ttl: options.ttlMs } : {}), history: 1, replicas: options.replicas ?? 1 };
    const js = connection.jetstream({ timeout });
    // Creating a replicated bucket forms a consensus group across NATS servers, which takes
    // longer than a renewal may wait; a recreation in a lease round keeps the round's bound
    // (the server goes on creating it, and the next round finds it).
    const creating = connection.jetstream({ timeout: Math.max(timeout, CREATE_TIMEOUT_MS) });
    // Binds to the bucket, creating it if it is missing.
    const bind = async (recreating = false): Promise<KV> => {
      try {
        await (recreating ? js : creating).views.kv(bucket, config);
      } catch (err) {
        // Another process created it first with another configuration (an older version's description): bind to theirs.
        if (!/already in use|10058/i.test(err instanceof Error ? err.message : String(err))) throw err;
      }
      // Reads go to the stream's leader (no direct get from a replica that may lag), within the short bound.
      return js.views.kv(bucket, { ...config, bindOnly: true });
    };
    try {
      return new NatsKvLeaseTable(await bind(), await connection.jetstreamManager({ timeout }), bind, bucket, options.ttlMs, options.onRecreated);
    } catch (err) {
      throw new LeaseUnavailableError(`cannot open lease bucket ${bucket} (is JetStream enabled on the NATS server?)`, { cause: err });
    }
  }

  acquire(key: string, owner: string): Promise<LeaseWrite | null> {
    return this.#run(`acquire ${key}`, async () => this.#stamped(key, await this.#kv.create(key, encoder.encode(owner))), null);
  }

  take(key: string, owner: string, revision: number): Promise<LeaseWrite | null> {
    return this.#run(`take over ${key}`, async () => this.#stamped(key, await this.#kv.update(key, encoder.encode(owner), revision)), null);
  }

  renew(key: string, owner: string, revision: number): Promise<number | null> {
    return this.#run(`renew ${key}`, () => this.#kv.update(key, encoder.encode(owner), revision), null);
  }

  async release(key: string, revision: number): Promise<void> {
    // Purges the key's messages below revision + 1: ours, or nothing if someone wrote since.
    await this.#run(`release ${key}`, () => this.jsm.streams.purge(this.#stream, { filter: this.#subjectPrefix + key, seq: revision + 1 }));
  }

  get(key: string): Promise<LeaseEntry | null> {
    return this.#run(`reading ${key}`, async () => {
      const entry = await this.#kv.get(key);
      if (!entry || entry.operation !== 'PUT') return null;
      return { owner: decoder.decode(entry.value), revision: entry.revision };
    });
  }

  live(prefix: string): Promise<LiveKeys> {
    return this.#run(`listing leases ${prefix}>`, async () => {
      const info = await this.jsm.streams.info(this.#stream, { subjects_filter: `${this.#subjectPrefix}${prefix}>` });
      const { state } = info;
      const keys = Object.keys(state.subjects ?? {}).map((subject) => subject.slice(this.#subjectPrefix.length));
      // With history 1 the stream's first message is the least recently written entry, and its
      // last message the latest write (usually the caller's own renewal, just before this call).
      const latest = state.messages > 0 ? Date.parse(state.last_ts) : Number.NaN;
      const nextExpiryInMs = this.ttlMs > 0 ? Date.parse(state.first_ts) + this.ttlMs - latest : Number.NaN;
      return {
        keys,
        nextExpiryInMs: Number.isFinite(nextExpiryInMs) ? nextExpiryInMs : undefined,
        latestWriteAtMs: Number.isFinite(latest) ? latest : undefined,
        createdAtMs: createdAt(info),
      };
    });
  }

  createdAt(): Promise<number> {
    return this.#run(`looking up lease bucket ${this.bucket}`, async () => createdAt(await this.jsm.streams.info(this.#stream)));
  }

  /**
   * Runs one request. A compare-and-set refused on its revision answers
   * `refused` (when given); any other failure is a LeaseUnavailableError, after
   * the bucket was recreated if the failure was its absence.
   */
  async #run<T>(what: string, request: () => Promise<T>, ...refused: [] | [T]): Promise<T> {
    try {
      return await request();
    } catch (err) {
      if (refused.length > 0 && isWrongLastSequence(err)) return refused[0] as T;
      if (mayBeMissingStream(err) && (await this.#recreateIfMissing().catch(() => false))) {
        throw new LeaseStorageRecreatedError(`${what} failed: lease bucket ${this.bucket} was missing (NATS lost its JetStream store) and has been recreated empty`, { cause: err });
      }
      throw new LeaseUnavailableError(`${what} failed`, { cause: err });
    }
  }

  /** Recreates the bucket if the server says its stream does not exist; true if it did. One recreation at a time. */
  #recreateIfMissing(): Promise<boolean> {
    this.#recovering ??= (async () => {
      try {
        await this.jsm.streams.info(this.#stream);
        return false;
      } catch (err) {
        if (!isStreamNotFound(err)) return false;
      }
      this.#kv = await this.bind(true);
      this.onRecreated?.();
      return true;
    })().finally(() => {
      this.#recovering = undefined;
    });
    return this.#recovering;
  }

  /** The server's timestamp of our write (for the fencing epoch); null if the entry moved on already (we lost it at once). */
  async #stamped(key: string, revision: number): Promise<LeaseWrite | null> {
    const entry = await this.#kv.get(key);
    if (!entry || entry.revision !== revision) return null;
    return { revision, serverTimeMs: entry.created.getTime() };
  }
}

/** When the stream was created (server clock, ms). */
function createdAt(info: StreamInfo): number {
  const at = Date.parse(info.created);
  // Never without it; were it unreadable, "just now" errs on the side of waiting.
  return Number.isFinite(at) ? at : Date.parse(info.ts ?? '') || Date.now();
}
