import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvConfig } from '@chat/platform';
import { StoreUnavailableError } from '../../errors.js';
import { runStoreContract } from '@chat/testkit/store-contract';
import { liveCql, liveKeyspace } from '@chat/testkit/live-cql';
import { type ScyllaOptions, scyllaEnvSchema, scyllaOptionsFromEnv } from './scylla-config.js';
import { applyMigrations, loadMigrations } from './scylla-migrations.js';
import { createScyllaClient } from './scylla-session.js';
import { openScyllaStore } from './scylla-store.js';

// The ChatStore contract against a real CQL server: the local Cassandra node
// of the test run (testkit's live-cql global setup), or the cluster
// SCYLLA_CONTACT_POINTS names. Each run migrates a fresh keyspace and drops
// it afterwards.
const live = liveCql('ScyllaStore contract on a live CQL server');

describe.skipIf(!live)(`ScyllaStore on a live CQL server (${live?.server ?? 'none'})`, () => {
  const keyspace = liveKeyspace('chat_test');
  // describe.skipIf still collects this body: nothing may require the server before a hook runs.
  let options: ScyllaOptions;

  beforeAll(async () => {
    options = { ...scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, { ...process.env, SCYLLA_CONTACT_POINTS: live!.contactPoints, SCYLLA_LOCAL_DC: live!.localDataCenter })), keyspace };
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
