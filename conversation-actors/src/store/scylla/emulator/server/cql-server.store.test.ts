import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors, types } from 'cassandra-driver';
import { loadEnvConfig } from '@chat/platform';
import { StoreUnavailableError } from '../../../../errors.js';
import { runStoreContract } from '@chat/testkit/store-contract';
import type { ChatStore } from '../../../store.js';
import { ROW_WRITE_ATTEMPTS } from '../../scylla-appends.js';
import { type ScyllaOptions, scyllaEnvSchema, scyllaOptionsFromEnv } from '../../scylla-config.js';
import { CQL } from '../../scylla-cql.js';
import { applyMigrations, loadMigrations } from '../../scylla-migrations.js';
import { createScyllaClient } from '../../scylla-session.js';
import { openScyllaStore } from '../../scylla-store.js';
import { EmulatedCluster } from '../emulated-cluster.js';
import { type CqlServer, startCqlServer } from './cql-server.js';
import { batchOf, isLoggedBatchOf, newGroup, seqsOf, writeTimeout } from '../../scylla-test-fixtures.js';

// The Scylla store's own code, unchanged, through the real cassandra-driver
// (createScyllaClient: token-aware routing, prepared statements, client
// timestamps, its retry and reconnection policies) over TCP to the emulator
// served on the CQL native protocol: what the in-process EmulatedClient
// cannot show (the driver's encoding, paging, re-preparing, error decoding,
// time-outs) is exercised here.

const KEYSPACE = 'chat';
// Short, yet long enough for a busy machine running suites in parallel (the server shares this process).
const REQUEST_TIMEOUT_MS = 2000;
// What the unreachable test waits per request: held requests are never answered.
const UNREACHABLE_TIMEOUT_MS = 300;


// Cassandra answers a refused LWT with the condition columns only; ScyllaDB with the whole previous row.
for (const lwtResults of ['cassandra', 'scylla'] as const) describe(`ScyllaStore through the real driver, over the CQL wire to the emulator (${lwtResults} LWT results)`, () => {
  const cluster = new EmulatedCluster({ lwtResults });
  let server: CqlServer;
  let options: ScyllaOptions;
  const open = (): Promise<ChatStore> => openScyllaStore(options);

  beforeAll(async () => {
    server = await startCqlServer({ cluster });
    options = scyllaOptionsFromEnv(
      loadEnvConfig(scyllaEnvSchema, { SCYLLA_CONTACT_POINTS: `127.0.0.1:${server.port}`, SCYLLA_KEYSPACE: KEYSPACE, SCYLLA_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }),
    );
    // As `chat migrate` does it: connect without the keyspace, create it, then migrate inside it.
    const admin = createScyllaClient(options, { keyspace: false });
    await admin.connect();
    await admin.execute(`CREATE KEYSPACE ${KEYSPACE} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await admin.shutdown();
    const client = createScyllaClient(options);
    await client.connect();
    expect(await applyMigrations(client, loadMigrations())).toEqual([1]);
    await client.shutdown();
  });

  afterAll(async () => {
    await server?.close();
    expect(cluster.violations).toEqual([]);
  });

  runStoreContract(`ScyllaDB store, real driver, CQL wire to the emulator (${lwtResults} LWT results)`, async () => ({ store: await open(), reopen: open, cleanup: async () => undefined }));

  describe('failure handling through the driver', () => {
    it('sends every statement prepared, with the driver’s write timestamps', async () => {
      const store = await open();
      const from = cluster.log.length;
      const id = await newGroup(store);
      await store.appendMessages(batchOf(id, 1, 3));
      const ran = cluster.log.slice(from);
      expect(ran.length).toBeGreaterThan(3);
      expect(ran.every((e) => e.options.prepare === true && e.error === undefined)).toBe(true);
      // The driver stamps every request (microseconds); plain writes land at that timestamp.
      expect(ran.every((e) => typeof e.options.timestamp === 'number' && Math.abs((e.options.timestamp as number) / 1000 - Date.now()) < 60_000)).toBe(true);
      await store.close();
    });

    it('an injected write timeout on the rows reaches the store as StoreUnavailableError; the owed rows are written by the next append', async () => {
      const store = await open();
      const id = await newGroup(store);
      await store.appendMessages(batchOf(id, 1, 2));
      const fault = cluster.inject({ match: isLoggedBatchOf(id), error: writeTimeout, when: 'before' });
      const failed = await store.appendMessages(batchOf(id, 3, 2)).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      const cause = (failed as Error).cause as errors.ResponseError;
      expect(cause).toBeInstanceOf(errors.ResponseError);
      expect({ code: cause.code, writeType: (cause as unknown as { writeType: string }).writeType }).toEqual({ code: types.responseErrorCodes.writeTimeout, writeType: 'BATCH' });
      expect(fault.hits).toBe(ROW_WRITE_ATTEMPTS);
      fault.remove();
      const retry = await store.appendMessages({ ...batchOf(id, 5, 2), messages: batchOf(id, 3, 2).messages.map((m, i) => ({ ...m, seq: 5 + i })) });
      expect(retry.kind).toBe('duplicates');
      expect(await seqsOf(store, id)).toEqual(['1', '2', '3', '4']);
      await store.close();
    });

    it('a claim whose LWT timed out after it applied is settled by a SERIAL read', async () => {
      const store = await open();
      const id = await newGroup(store);
      const fault = cluster.inject({
        match: (query, params) => query.startsWith('UPDATE conversations SET last_seq') && params[3] === id,
        error: () => new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'CAS operation timed out'),
        when: 'after',
        times: 1,
      });
      expect((await store.appendMessages(batchOf(id, 1, 2))).kind).toBe('appended');
      expect(fault.hits).toBe(1);
      expect(cluster.log.some((e) => e.query === CQL.claimSeqs && e.error !== undefined)).toBe(true);
      expect(await seqsOf(store, id)).toEqual(['1', '2']);
      await store.close();
    });

    it('goes on when the node forgot its prepared statements: the driver prepares again on Unprepared', async () => {
      const store = await open();
      const id = await newGroup(store);
      await store.appendMessages(batchOf(id, 1, 2));
      expect(server.forgetPrepared()).toBeGreaterThan(0);
      expect((await store.appendMessages(batchOf(id, 3, 1))).kind).toBe('appended');
      expect(await seqsOf(store, id)).toEqual(['1', '2', '3']);
      await store.close();
    });

    it('answers StoreUnavailableError within the driver’s timeout while the cluster is unreachable, and works again at once after', async () => {
      const store = await openScyllaStore({ ...options, requestTimeoutMs: UNREACHABLE_TIMEOUT_MS });
      const id = await newGroup(store);
      const before = cluster.log.length;
      cluster.setReachable(false);
      try {
        for (const call of [() => store.appendMessages(batchOf(id, 1, 1)), () => store.readMessages(id, { limit: 10, direction: 'forward' }), () => store.loadConversation(id)]) {
          const started = Date.now();
          const err = await call().catch((e: unknown) => e);
          expect(err).toBeInstanceOf(StoreUnavailableError);
          expect((err as Error).cause).toSatisfy((c: unknown) => c instanceof errors.OperationTimedOutError || c instanceof errors.NoHostAvailableError);
          expect(Date.now() - started).toBeLessThan(UNREACHABLE_TIMEOUT_MS * 10);
        }
      } finally {
        cluster.setReachable(true);
      }
      // Nothing held while unreachable was applied.
      expect(cluster.log.length).toBe(before);
      expect((await store.appendMessages(batchOf(id, 1, 1))).kind).toBe('appended');
      expect(await seqsOf(store, id)).toEqual(['1']);
      await store.close();
    });
  });
});
