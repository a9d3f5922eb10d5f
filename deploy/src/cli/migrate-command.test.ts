import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadEnvConfig } from '@chat/platform';
import {
  type CqlClient,
  SCYLLA_SCHEMA_VERSION,
  StoreUnavailableError,
  createScyllaClient,
  openScyllaStore,
  scyllaEnvSchema,
  scyllaOptionsFromEnv,
} from '@chat/conversation-actors';
import { FaultyCql } from '@chat/testkit/faulty-cql';
import { liveCql, liveKeyspace } from '@chat/testkit/live-cql';
import { runMigrate } from './migrate-command.js';

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );

describe('chat migrate: configuration', () => {
  it('needs SCYLLA_CONTACT_POINTS and a valid SCYLLA_REPLICATION before touching the network', async () => {
    expect(await rejection(runMigrate({}))).toBeInstanceOf(ConfigError);
    const bad = await rejection(runMigrate({ SCYLLA_CONTACT_POINTS: '127.0.0.1:1', SCYLLA_REPLICATION: 'SimpleStrategy:zero' }));
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).problems.join()).toMatch(/SCYLLA_REPLICATION/);
  });

  it('fails (not hangs) when no node answers', async () => {
    const err = await rejection(runMigrate({ SCYLLA_CONTACT_POINTS: '127.0.0.1:1' }));
    expect((err as Error).constructor.name).toBe('NoHostAvailableError');
  });
});

type ResultSet = Awaited<ReturnType<CqlClient['execute']>>;

const live = liveCql('chat migrate on a live CQL server');

describe.skipIf(!live)(`chat migrate on a live CQL server (${live?.server ?? 'none'})`, () => {
  const keyspace = liveKeyspace('chat_migrate');
  const unprepared = `${keyspace}_bare`;
  const env = (ks = keyspace) => ({ ...process.env, SCYLLA_CONTACT_POINTS: live!.contactPoints, SCYLLA_LOCAL_DC: live!.localDataCenter, SCYLLA_KEYSPACE: ks, SCYLLA_REPLICATION: 'SimpleStrategy:1' });
  const options = (ks = keyspace) => scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, env(ks)));

  /** Runs `cql` statements in order on a client of its own (`ks`: its keyspace, or none). */
  async function cql(ks: string | undefined, ...statements: string[]): Promise<ResultSet[]> {
    const client = createScyllaClient(ks ? options(ks) : options(), { keyspace: ks !== undefined });
    try {
      await client.connect();
      const results: ResultSet[] = [];
      for (const statement of statements) results.push(await client.execute(statement));
      return results;
    } finally {
      await client.shutdown();
    }
  }

  afterAll(async () => {
    await cql(undefined, `DROP KEYSPACE IF EXISTS ${keyspace}`, `DROP KEYSPACE IF EXISTS ${unprepared}`);
  }, 120_000);

  it('creates the keyspace with the configured replication and applies every migration once; a second run applies nothing; the store opens it', async () => {
    const lines: string[] = [];
    const first = await runMigrate(env(), (l) => lines.push(l));
    expect(first).toEqual({ keyspace, applied: Array.from({ length: SCYLLA_SCHEMA_VERSION }, (_, i) => i + 1), version: SCYLLA_SCHEMA_VERSION, summaries: { scanned: 0, counted: 0 } });
    expect(lines.join('\n')).toMatch(/applied 0001_initial/);
    const [replication] = await cql(undefined, `SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = '${keyspace}'`);
    expect(replication!.first().get('replication')).toMatchObject({ class: 'org.apache.cassandra.locator.SimpleStrategy', replication_factor: '1' });
    // The second run, watched: it issues only the keyspace's and the bootstrap table's IF NOT EXISTS, nothing of the migrations.
    const watched = new FaultyCql();
    expect(await runMigrate(env(), () => undefined, watched.connector)).toEqual({ keyspace, applied: [], version: SCYLLA_SCHEMA_VERSION, summaries: { scanned: 0, counted: 0 } });
    expect(watched.log.filter((e) => e.kind === 'ddl').map((e) => e.query.match(/^CREATE (KEYSPACE|TABLE) IF NOT EXISTS/)?.[1])).toEqual(['KEYSPACE', 'TABLE']);
    expect(watched.violations).toEqual([]);
    const store = await openScyllaStore(options());
    await store.close();
  }, 120_000);

  it('refuses a keyspace with a newer schema (so does the store), and one whose applied migration file has changed since', async () => {
    await cql(keyspace, "INSERT INTO schema_migrations (scope, version, name, checksum) VALUES ('chat', 999, 'future', 'x')");
    expect(String(await rejection(runMigrate(env())))).toMatch(/schema version 999; this build knows versions up to/);
    expect(String(await rejection(openScyllaStore(options())))).toMatch(/schema version 999/);

    await cql(keyspace, "DELETE FROM schema_migrations WHERE scope = 'chat' AND version = 999", "UPDATE schema_migrations SET checksum = 'edited' WHERE scope = 'chat' AND version = 1");
    expect(String(await rejection(runMigrate(env())))).toMatch(/0001_initial was changed after it was applied/);
  }, 120_000);

  it('the store refuses a keyspace chat migrate has not prepared, saying to run it', async () => {
    await cql(undefined, `CREATE KEYSPACE ${unprepared} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    const err = await rejection(openScyllaStore(options(unprepared)));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(String(err)).toMatch(/has `chat migrate` run\?/);
  }, 60_000);
});
