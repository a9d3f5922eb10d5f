import type { KV, NatsConnection } from 'nats';
import { LeaseUnavailableError } from '../errors.js';
import type { LeaseEntry, LeaseTable } from './lease-table.js';

/** Name of the KV bucket holding shard and host leases. */
export const DEFAULT_LEASE_BUCKET = 'chat_leases';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Leases in a JetStream KV bucket. The bucket's TTL (the stream's max age)
 * makes a lease that is not renewed disappear; create() takes a missing key,
 * update() with the last revision renews (compare-and-set), and the KV
 * revision is the stream sequence, which only grows.
 */
export class NatsKvLeaseTable implements LeaseTable {
  private constructor(
    private readonly kv: KV,
    readonly ttlMs: number,
  ) {}

  /** Opens (creating if needed) the bucket with the given TTL. All users of a bucket must agree on its TTL. */
  static async open(connection: NatsConnection, options: { ttlMs: number; bucket?: string; replicas?: number }): Promise<NatsKvLeaseTable> {
    try {
      const kv = await connection.jetstream().views.kv(options.bucket ?? DEFAULT_LEASE_BUCKET, {
        ttl: options.ttlMs,
        history: 1,
        replicas: options.replicas ?? 1,
      });
      return new NatsKvLeaseTable(kv, options.ttlMs);
    } catch (err) {
      throw new LeaseUnavailableError(`cannot open lease bucket ${options.bucket ?? DEFAULT_LEASE_BUCKET} (is JetStream enabled on the NATS server?)`, { cause: err });
    }
  }

  async acquire(key: string, owner: string): Promise<{ revision: number; serverTimeMs: number } | null> {
    try {
      const revision = await this.kv.create(key, encoder.encode(owner));
      // The server's timestamp of our write (for the fencing epoch). If the
      // entry moved on already we lost it at once: report it as held.
      const entry = await this.kv.get(key);
      if (!entry || entry.revision !== revision) return null;
      return { revision, serverTimeMs: entry.created.getTime() };
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      throw new LeaseUnavailableError(`acquire ${key} failed`, { cause: err });
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
      await this.kv.delete(key, { previousSeq: revision });
    } catch (err) {
      if (isWrongLastSequence(err)) return; // Already lost or taken: nothing to give up.
      throw new LeaseUnavailableError(`release ${key} failed`, { cause: err });
    }
  }

  async list(prefix: string): Promise<Map<string, LeaseEntry>> {
    const out = new Map<string, LeaseEntry>();
    try {
      const keys = await this.kv.keys(`${prefix}>`);
      const names: string[] = [];
      for await (const k of keys) names.push(k);
      await Promise.all(
        names.map(async (k) => {
          const entry = await this.kv.get(k);
          if (entry && entry.operation === 'PUT') out.set(k, { owner: decoder.decode(entry.value), revision: entry.revision });
        }),
      );
    } catch (err) {
      throw new LeaseUnavailableError(`listing leases ${prefix}> failed`, { cause: err });
    }
    return out;
  }
}

/** JetStream's answer to a compare-and-set on a stale revision (error 10071). */
function isWrongLastSequence(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /wrong last sequence|10071|key exists/i.test(message);
}
