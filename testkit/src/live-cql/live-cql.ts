import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { DDL_OPTIONS, type ScyllaOptions, applyMigrations, createScyllaClient, loadMigrations, scyllaEnvSchema, scyllaOptionsFromEnv } from '@chat/conversation-actors';
import { loadEnvConfig } from '@chat/platform';

/**
 * The CQL server the live store suites run against, as the vitest global
 * setup (./global-setup.ts) found or started it: a local Cassandra node, or
 * the cluster SCYLLA_CONTACT_POINTS names; or why there is none.
 */
export type LiveCql =
  | { readonly contactPoints: string; readonly localDataCenter: string; readonly server: string }
  | { readonly skipped: string };

declare module 'vitest' {
  export interface ProvidedContext {
    liveCql: LiveCql;
  }
}

/**
 * The live CQL server for a suite named `suite`, or undefined after printing
 * why that suite is skipped (use with describe.skipIf). Every suite gets its
 * own keyspace (liveKeyspace), so suites share the one node in parallel.
 */
export function liveCql(suite: string): Extract<LiveCql, { contactPoints: string }> | undefined {
  const live = inject('liveCql');
  if ('skipped' in live) {
    console.log(`${suite} SKIPPED: ${live.skipped}`);
    return undefined;
  }
  return live;
}

/** A keyspace name of its own for one suite: `<prefix>_<8 hex>`. */
export function liveKeyspace(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * Drops a suite's keyspace at its end. On the run's own node it would go with
 * the node anyway; on a cluster SCYLLA_CONTACT_POINTS names, it would stay.
 */
export async function dropLiveKeyspace(live: Extract<LiveCql, { contactPoints: string }>, keyspace: string): Promise<void> {
  const admin = createScyllaClient(liveStoreOptions(live, keyspace), { keyspace: false });
  try {
    await admin.connect();
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], DDL_OPTIONS);
  } finally {
    await admin.shutdown();
  }
}

/** The store's options for `keyspace` on the live server (defaults from the environment, as `chat` reads them), with `overrides`. */
export function liveStoreOptions(live: Extract<LiveCql, { contactPoints: string }>, keyspace: string, overrides: Partial<ScyllaOptions> = {}): ScyllaOptions {
  const env = { ...process.env, SCYLLA_CONTACT_POINTS: live.contactPoints, SCYLLA_LOCAL_DC: live.localDataCenter, SCYLLA_KEYSPACE: keyspace };
  return { ...scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, env)), ...overrides };
}

/**
 * Creates `keyspace` (one replica) on the live server and applies every
 * migration, as `chat migrate` would, for suites that open the store
 * themselves. Returns the store's options for it.
 */
export async function migrateLiveKeyspace(live: Extract<LiveCql, { contactPoints: string }>, keyspace: string): Promise<ScyllaOptions> {
  const options = liveStoreOptions(live, keyspace);
  const admin = createScyllaClient(options, { keyspace: false });
  try {
    await admin.connect();
    await admin.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`, [], DDL_OPTIONS);
  } finally {
    await admin.shutdown();
  }
  const client = createScyllaClient(options);
  try {
    await client.connect();
    await applyMigrations(client, loadMigrations());
  } finally {
    await client.shutdown();
  }
  return options;
}
