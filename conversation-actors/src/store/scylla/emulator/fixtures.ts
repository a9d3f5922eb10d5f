import { type QueryOptions, errors, type types } from 'cassandra-driver';
import { expect } from 'vitest';
import { applyMigrations, loadMigrations } from '../scylla-migrations.js';
import { EmulatedCluster, type EmulatedClusterOptions } from './emulated-cluster.js';
import type { EmulatedClient } from './emulated-client.js';

// Shared by the emulator's tests: a cluster with a keyspace and tables, a
// prepared-statement shorthand, and an assertion on the driver's errors.

/** Prepared, as the store executes everything. */
export const PREPARED: QueryOptions = { prepare: true };

/** Tables the tests use besides the store's: a composite partition key, two clustering columns, one DESC. */
export const TEST_TABLES = [
  'CREATE TABLE kv (k text PRIMARY KEY, v text, n bigint, i int, b boolean, t timestamp, d double, x blob, u uuid, tu timeuuid, a ascii)',
  'CREATE TABLE events (p text, q int, c1 text, c2 bigint, v text, w bigint, PRIMARY KEY ((p, q), c1, c2)) WITH CLUSTERING ORDER BY (c1 ASC, c2 DESC)',
  'CREATE TABLE log (p text, seq bigint, v text, PRIMARY KEY (p, seq))',
];

/** A cluster holding keyspace `ks` with TEST_TABLES, and a client connected to it. */
export async function testCluster(options: EmulatedClusterOptions = {}): Promise<{ cluster: EmulatedCluster; client: EmulatedClient }> {
  const cluster = new EmulatedCluster(options);
  const admin = cluster.client();
  await admin.execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  const client = cluster.client({ keyspace: 'ks' });
  for (const ddl of TEST_TABLES) await client.execute(ddl);
  return { cluster, client };
}

/** A cluster holding keyspace `chat` migrated to the store's schema, and a client connected to it. */
export async function storeCluster(options: EmulatedClusterOptions = {}): Promise<{ cluster: EmulatedCluster; client: EmulatedClient }> {
  const cluster = new EmulatedCluster(options);
  await cluster.client().execute("CREATE KEYSPACE chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  const client = cluster.client({ keyspace: 'chat' });
  await applyMigrations(client.asClient(), loadMigrations());
  return { cluster, client };
}

/** Runs a prepared statement. */
export function run(client: EmulatedClient, query: string, params: unknown[] = [], options: QueryOptions = {}): Promise<types.ResultSet> {
  return client.execute(query, params, { ...PREPARED, ...options });
}

/** The rows of a result as plain objects (driver values kept as they are). */
export function plain(result: types.ResultSet): Record<string, unknown>[] {
  return result.rows.map((r) => Object.fromEntries(r.keys().map((k) => [k, r.get(k)])));
}

/** Asserts `promise` rejects with the driver's ResponseError of `code` whose message contains `message` (a string) or matches it (a RegExp). */
export async function expectResponseError(promise: Promise<unknown>, code: number, message: RegExp | string): Promise<errors.ResponseError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a rejection').toBeInstanceOf(errors.ResponseError);
  const response = err as errors.ResponseError;
  expect({ code: response.code.toString(16), message: response.message }).toMatchObject({ code: code.toString(16), message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message) });
  return response;
}

/** What `promise` rejected with (fails if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    () => ({ resolved: true as const }),
    (e: unknown) => ({ resolved: false as const, error: e }),
  );
  expect(outcome.resolved, 'expected a rejection').toBe(false);
  return outcome.resolved ? undefined : outcome.error;
}
