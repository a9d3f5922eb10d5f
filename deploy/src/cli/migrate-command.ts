import { z } from 'zod';
import { loadEnvConfig } from '@chat/platform';
import {
  applyMigrations,
  backfillMemberSummaries,
  DDL_OPTIONS,
  type CqlConnector,
  createScyllaClient,
  loadMigrations,
  parseReplication,
  replicationCql,
  scyllaEnv,
  scyllaOptionsFromEnv,
} from '@chat/conversation-actors';

/** `chat migrate`: the SCYLLA_* variables (SCYLLA_CONTACT_POINTS required; SCYLLA_REPLICATION used if the keyspace is new). */
export const migrateEnvSchema = z.object(scyllaEnv);

/** What one `chat migrate` run did. */
export interface MigrateOutcome {
  keyspace: string;
  /** The versions applied by this run, in order; empty when the schema was already current. */
  applied: number[];
  /** The schema version of the keyspace afterwards. */
  version: number;
  /** Conversations scanned for a member summary (schema version 9), and how many were counted by this run. */
  summaries: { scanned: number; counted: number };
}

/**
 * Creates the keyspace if missing (replication from SCYLLA_REPLICATION; an
 * existing keyspace keeps its own) and applies the pending migrations in
 * order, recording each in schema_migrations; then counts the member summary
 * of every conversation that lacks a usable one (backfillMemberSummaries: those
 * from before schema version 9, and those a previous build changed since an
 * earlier count). Idempotent: a second run applies nothing. Refuses a keyspace with a newer schema than this build knows.
 * Throws ConfigError for bad variables; driver and schema errors otherwise.
 */
export async function runMigrate(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = () => undefined,
  connect: CqlConnector = createScyllaClient,
): Promise<MigrateOutcome> {
  const config = loadEnvConfig(migrateEnvSchema, env);
  const options = scyllaOptionsFromEnv(config);
  const replication = parseReplication(config.SCYLLA_REPLICATION);
  // Read and checked before anything is sent to the cluster.
  const migrations = loadMigrations();

  const admin = connect(options, { keyspace: false });
  try {
    await admin.connect();
    // The keyspace name and replication were validated (lowercase identifier, numeric factors, plain DC names).
    await admin.execute(`CREATE KEYSPACE IF NOT EXISTS ${options.keyspace} WITH replication = ${replicationCql(replication)} AND durable_writes = true`, [], DDL_OPTIONS);
  } finally {
    await admin.shutdown();
  }
  if (replication.class === 'SimpleStrategy') log(`keyspace ${options.keyspace}: SimpleStrategy is for a development node; use NetworkTopologyStrategy in production`);

  const client = connect(options, { keyspace: true });
  try {
    await client.connect();
    const applied = await applyMigrations(client, migrations, (m) => log(`applied ${String(m.version).padStart(4, '0')}_${m.name} (${m.statements.length} statements)`));
    const version = migrations.length === 0 ? 0 : Math.max(...migrations.map((m) => m.version));
    const summaries = await backfillMemberSummaries(client);
    if (summaries.counted > 0) log(`member summaries: counted ${summaries.counted} of ${summaries.scanned} conversations`);
    return { keyspace: options.keyspace, applied, version, summaries };
  } finally {
    await client.shutdown();
  }
}
