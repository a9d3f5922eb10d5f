import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadEnvConfig } from '@chat/platform';
import { SCYLLA_SCHEMA_VERSION, createScyllaClient, scyllaEnvSchema, scyllaOptionsFromEnv } from '@chat/conversation-actors';
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

const contactPoints = process.env['SCYLLA_CONTACT_POINTS'];
if (!contactPoints) console.log('chat migrate against a live cluster skipped: SCYLLA_CONTACT_POINTS is not set');

describe.skipIf(!contactPoints)('chat migrate on a live cluster', () => {
  const keyspace = `chat_migrate_${randomBytes(4).toString('hex')}`;
  const env = () => ({ ...process.env, SCYLLA_KEYSPACE: keyspace, SCYLLA_REPLICATION: 'SimpleStrategy:1' });

  afterAll(async () => {
    const admin = createScyllaClient(scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, env())), { keyspace: false });
    try {
      await admin.connect();
      await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    } finally {
      await admin.shutdown();
    }
  }, 120_000);

  it('creates the keyspace and applies every migration once; a second run applies nothing; a newer schema is refused', async () => {
    const lines: string[] = [];
    const first = await runMigrate(env(), (l) => lines.push(l));
    expect(first).toEqual({ keyspace, applied: Array.from({ length: SCYLLA_SCHEMA_VERSION }, (_, i) => i + 1), version: SCYLLA_SCHEMA_VERSION });
    expect(lines.join('\n')).toMatch(/applied 0001_initial/);
    expect(await runMigrate(env())).toEqual({ keyspace, applied: [], version: SCYLLA_SCHEMA_VERSION });

    const client = createScyllaClient(scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, env())));
    try {
      await client.connect();
      await client.execute("INSERT INTO schema_migrations (scope, version, name, checksum) VALUES ('chat', 999, 'future', 'x')");
    } finally {
      await client.shutdown();
    }
    expect(String(await rejection(runMigrate(env())))).toMatch(/schema version 999; this build knows versions up to/);
  }, 120_000);
});
