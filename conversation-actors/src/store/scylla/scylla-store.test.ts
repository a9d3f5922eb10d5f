import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvConfig } from '@chat/platform';
import { StoreUnavailableError } from '../../errors.js';
import { runStoreContract } from '@chat/testkit/store-contract';
import { type ScyllaOptions, scyllaEnvSchema, scyllaOptionsFromEnv } from './scylla-config.js';
import { applyMigrations, loadMigrations } from './scylla-migrations.js';
import { createScyllaClient } from './scylla-session.js';
import { openScyllaStore } from './scylla-store.js';

// The ChatStore contract against a real ScyllaDB, when SCYLLA_CONTACT_POINTS
// names one (deploy/compose/scylla.yml starts a node). Each run migrates a
// fresh keyspace and drops it afterwards.
const contactPoints = process.env['SCYLLA_CONTACT_POINTS'];
if (!contactPoints) {
  console.log('ScyllaStore contract skipped: SCYLLA_CONTACT_POINTS is not set (docker compose -f deploy/compose/scylla.yml up -d, then set it to 127.0.0.1)');
}

describe.skipIf(!contactPoints)('ScyllaStore on a live cluster', () => {
  const keyspace = `chat_test_${randomBytes(4).toString('hex')}`;
  // describe.skipIf still collects this body: nothing may require the variables before a hook runs.
  let options: ScyllaOptions;

  beforeAll(async () => {
    options = { ...scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, process.env)), keyspace };
    const admin = createScyllaClient(options, { keyspace: false });
    try {
      await admin.connect();
      await admin.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
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
  }, 120_000);

  afterAll(async () => {
    const admin = createScyllaClient(options, { keyspace: false });
    try {
      await admin.connect();
      await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    } finally {
      await admin.shutdown();
    }
  }, 120_000);

  runStoreContract('ScyllaDB', async () => ({
    store: await openScyllaStore(options),
    reopen: () => openScyllaStore(options),
    // Ids are random per test: nothing to remove; the keyspace goes at the end.
    cleanup: async () => undefined,
  }));

  it('refuses to open a keyspace that chat migrate has not prepared', async () => {
    const err = await openScyllaStore({ ...options, keyspace: `${keyspace}_missing` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
  });
});

describe('openScyllaStore without a reachable node', () => {
  it('fails with StoreUnavailableError (retryable), not a driver error', async () => {
    // Port 1 on the loopback: connection refused at once, a real socket, no server.
    const options = scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, { SCYLLA_CONTACT_POINTS: '127.0.0.1:1' }));
    const err = await openScyllaStore(options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/open ScyllaDB keyspace chat/);
  });
});
