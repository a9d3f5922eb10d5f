import { Client, type ClientOptions, type QueryOptions, policies, types } from 'cassandra-driver';
import type { ScyllaOptions } from './scylla-config.js';
import { CQL, type CqlName } from './scylla-cql.js';

/**
 * The part of the driver's Client the store and `chat migrate` use: what
 * createScyllaClient returns, and what tests wrap to inject faults
 * (testkit's FaultyCql).
 */
export interface CqlClient {
  connect(): Promise<void>;
  execute(query: string, params?: unknown[], options?: QueryOptions): Promise<types.ResultSet>;
  batch(queries: Statement[], options?: QueryOptions): Promise<types.ResultSet>;
  shutdown(): Promise<void>;
}

/** Opens a client for `options`; `keyspace: false` connects without one. */
export type CqlConnector = (options: ScyllaOptions, connectTo: { keyspace: boolean }) => CqlClient;

/** A statement of CQL with its parameters, for batches. */
export interface Statement {
  query: string;
  params: unknown[];
}

/**
 * The driver client of the store: token-aware routing over DC-aware round
 * robin (requests go straight to a replica of the partition in the local data
 * centre), the configured consistency for reads and writes, LOCAL_SERIAL for
 * lightweight transactions, prepared statements, and exponential reconnection
 * (the driver reconnects by itself; the store never reconnects by hand).
 * `keyspace: false` connects without one (`chat migrate` creates it first).
 */
export function createScyllaClient(options: ScyllaOptions, connectTo: { keyspace: boolean } = { keyspace: true }): CqlClient {
  const consistency = types.consistencies[toCamel(options.consistency) as keyof typeof types.consistencies];
  const clientOptions: ClientOptions = {
    contactPoints: options.contactPoints,
    localDataCenter: options.localDataCenter,
    keyspace: connectTo.keyspace ? options.keyspace : undefined,
    credentials: options.credentials,
    sslOptions: options.tls ? { rejectUnauthorized: true, ...(options.tls.ca ? { ca: [options.tls.ca] } : {}) } : undefined,
    policies: {
      loadBalancing: new policies.loadBalancing.TokenAwarePolicy(new policies.loadBalancing.DCAwareRoundRobinPolicy(options.localDataCenter)),
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(500, 30_000, false),
    },
    queryOptions: {
      consistency,
      // LWTs stay in the local data centre, like LOCAL_QUORUM.
      serialConsistency: types.consistencies.localSerial,
      prepare: true,
    },
    socketOptions: { connectTimeout: 5000, readTimeout: options.requestTimeoutMs },
    // The store awaits schema agreement after DDL (chat migrate) up to this long.
    protocolOptions: { maxSchemaAgreementWaitSeconds: 30 },
  };
  return new Client(clientOptions);
}

/** LOCAL_QUORUM -> localQuorum, the driver's key in types.consistencies. */
function toCamel(name: string): string {
  return name.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Reads may be retried by the driver (on a timeout or another host) as they are. */
const READ = { prepare: true, isIdempotent: true } as const;

/**
 * The store's access to the cluster: every query is a named, prepared
 * statement of CQL (scylla-cql.ts). Driver errors are thrown as they are; the
 * store translates them (scylla-errors.ts).
 */
export class ScyllaSession {
  constructor(readonly client: CqlClient) {}

  /** The first page of a statement's rows (callers bound their reads with LIMIT or by key). */
  async rows(name: CqlName, params: unknown[]): Promise<types.Row[]> {
    return (await this.client.execute(CQL[name], params, READ)).rows;
  }

  /** The only row of a point read, or undefined. */
  async row(name: CqlName, params: unknown[]): Promise<types.Row | undefined> {
    return (await this.client.execute(CQL[name], params, READ)).first() ?? undefined;
  }

  /** Every row, following the driver's pages (for partitions whose size is bounded but may exceed a page). */
  async allRows(name: CqlName, params: unknown[], fetchSize = 1000): Promise<types.Row[]> {
    const rows: types.Row[] = [];
    let pageState: string | undefined;
    do {
      const result = await this.client.execute(CQL[name], params, { ...READ, fetchSize, pageState });
      rows.push(...result.rows);
      pageState = result.pageState ?? undefined;
    } while (pageState);
    return rows;
  }

  /** A write that is safe to send twice (the driver may retry it on a timeout); `timestampMicros` as for loggedBatch. */
  async write(name: CqlName, params: unknown[], timestampMicros?: number): Promise<void> {
    await this.client.execute(CQL[name], params, { prepare: true, isIdempotent: true, timestamp: timestampMicros ?? writeTimestamp() });
  }

  /**
   * A lightweight transaction: whether it applied, and when not, the row's
   * current values of the columns in its condition (none if the row does not
   * exist). Never retried by the driver: a retry of an applied LWT would
   * report "not applied".
   */
  async lwt(name: CqlName, params: unknown[]): Promise<{ applied: boolean; current: types.Row | undefined }> {
    const result = await this.client.execute(CQL[name], params, { prepare: true, isIdempotent: false });
    const row = result.first();
    const applied = row?.['[applied]'] === true;
    return { applied, current: applied ? undefined : (row ?? undefined) };
  }

  /** A point read at SERIAL consistency: reflects every LWT that completed, committing any left in progress. */
  async serialRow(name: CqlName, params: unknown[]): Promise<types.Row | undefined> {
    const result = await this.client.execute(CQL[name], params, { ...READ, consistency: types.consistencies.localSerial });
    return result.first() ?? undefined;
  }

  /**
   * A logged batch: once the coordinator has written it to the batch log,
   * every statement of it is applied eventually, even if the coordinator
   * dies; before that, none is. Idempotent statements only. `timestampMicros`
   * sets the cells' write timestamp (default: writeTimestamp() now).
   */
  async loggedBatch(statements: Statement[], timestampMicros?: number): Promise<void> {
    if (statements.length === 0) return;
    await this.client.batch(statements, { prepare: true, logged: true, isIdempotent: true, timestamp: timestampMicros ?? writeTimestamp() });
  }

  async shutdown(): Promise<void> {
    await this.client.shutdown();
  }
}

let lastTimestamp = 0;

/**
 * A write timestamp in microseconds, strictly increasing within the process:
 * every plain write of the store carries one (the driver's own clock is not
 * used), so two writes of this process never tie, whichever store instance
 * makes them.
 */
export function writeTimestamp(): number {
  lastTimestamp = Math.max(Date.now() * 1000, lastTimestamp + 1);
  return lastTimestamp;
}

/**
 * The write timestamp for rows written after a fence: taken *before* the
 * fence (or the read it decides on), so that if this writer stalls past its
 * lease and its write lands late, any write of the next owner, made after
 * the next owner's own fence, still wins (DESIGN.md, "Write timestamps").
 */
export const fenceTimestamp = writeTimestamp;

/** Statement of a named CQL. */
export function stmt(name: CqlName, params: unknown[]): Statement {
  return { query: CQL[name], params };
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A bigint (Long), int or null column as a number (seqs, epochs and ms times are safe integers). */
export function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return (value as types.Long).toNumber();
}
