import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvConfig } from '@chat/platform';
import { StoreUnavailableError } from '../../errors.js';
import { runStoreContract } from '@chat/testkit/store-contract';
import { dropLiveKeyspace, liveCql, liveKeyspace, migrateLiveKeyspace } from '@chat/testkit/live-cql';
import { type ScyllaOptions, scyllaEnvSchema, scyllaOptionsFromEnv } from './scylla-config.js';
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
    options = await migrateLiveKeyspace(live!, keyspace);
  }, 120_000);

  afterAll(() => dropLiveKeyspace(live!, keyspace), 120_000);

  runStoreContract('ScyllaDB', async () => ({
    store: await openScyllaStore(options),
    reopen: () => openScyllaStore(options),
    openBounded: (viewMembers) => openScyllaStore(options, undefined, undefined, { viewMembers }),
    // Ids are random per test: nothing to remove; the keyspace goes at the end.
    cleanup: async () => undefined,
  }), { search: 'unsupported' });

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
