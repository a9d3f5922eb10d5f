import { setImmediate as tick } from 'node:timers/promises';
import { type Client, type QueryOptions, errors, type types } from 'cassandra-driver';
import { invalid } from './cql-errors.js';
import type { EmulatedCluster } from './emulated-cluster.js';

/** A batch item as the driver takes it: a query string, or a query with its parameters. */
export type BatchQuery = string | { query: string; params?: unknown[] };

/**
 * The parts of cassandra-driver's `Client` the store uses, with the same
 * signatures and result types, against an EmulatedCluster: `connect`,
 * `execute`, `batch`, `shutdown`, `keyspace`. Like the driver, a request
 * made before `connect()` connects first (using the keyspace fails with
 * "Keyspace 'x' does not exist" if it is missing, and connecting is tried
 * again on the next request); every call resolves asynchronously (after a
 * macrotask, as a network round trip would), while the cluster applies each
 * statement atomically. After `shutdown()` every call rejects with the
 * driver's NoHostAvailableError "Connecting after shutdown is not supported",
 * as the real client does. `asClient()` types it as a driver `Client`.
 */
export class EmulatedClient {
  private connected = false;
  private shutDown = false;

  constructor(
    private readonly cluster: EmulatedCluster,
    readonly keyspace: string | undefined,
    private readonly clockSkewMs = 0,
  ) {}

  /** Connects (and uses the keyspace): NoHostAvailableError when unreachable or shut down, invalid when the keyspace is missing. */
  async connect(): Promise<void> {
    await tick();
    this.ensureConnected();
  }

  /** One statement with positional parameters; options as the driver's (prepare, fetchSize, pageState, consistency, timestamp). */
  async execute(query: string, params?: unknown[], options: QueryOptions = {}): Promise<types.ResultSet> {
    await tick();
    this.ensureConnected();
    if (params !== undefined && params !== null && !Array.isArray(params)) throw new errors.ArgumentError('emulator: named parameters are not supported; pass an array');
    if (typeof query !== 'string') throw new errors.ArgumentError('Query must be a string');
    return this.cluster.run({ statements: [{ query, params }], batch: false, options: { ...options }, keyspace: this.keyspace, clockSkewMs: this.clockSkewMs });
  }

  /** A BATCH (logged unless `options.logged === false`); the driver's ArgumentError for an empty or malformed list. */
  async batch(queries: BatchQuery[], options: QueryOptions = {}): Promise<types.ResultSet> {
    await tick();
    if (!Array.isArray(queries)) throw new errors.ArgumentError('Queries should be an Array');
    if (queries.length === 0) throw new errors.ArgumentError('Queries array should not be empty');
    const statements = queries.map((q, i) => {
      if (typeof q === 'string') return { query: q, params: undefined };
      if (!q || typeof q.query !== 'string') throw new errors.ArgumentError(`Invalid query at index ${i}`);
      if (q.params !== undefined && !Array.isArray(q.params)) throw new errors.ArgumentError('emulator: named parameters are not supported; pass an array');
      return { query: q.query, params: q.params };
    });
    this.ensureConnected();
    return this.cluster.run({ statements, batch: true, options: { ...options }, keyspace: this.keyspace, clockSkewMs: this.clockSkewMs });
  }

  /** Closes this client for good; the cluster and its other clients are unaffected. */
  async shutdown(): Promise<void> {
    await tick();
    this.shutDown = true;
    this.connected = false;
  }

  /** This client typed as the driver's Client, to hand to code that takes one (ScyllaSession, applyMigrations). */
  asClient(): Client {
    return this as unknown as Client;
  }

  private ensureConnected(): void {
    if (this.shutDown) throw new errors.NoHostAvailableError(null, 'Connecting after shutdown is not supported');
    this.cluster.assertReachable();
    if (this.connected) return;
    if (this.keyspace !== undefined && !this.cluster.schema.keyspaces.has(this.keyspace)) throw invalid(`Keyspace '${this.keyspace}' does not exist`);
    this.connected = true;
  }
}
