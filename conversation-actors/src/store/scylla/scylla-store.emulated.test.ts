import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors, types } from 'cassandra-driver';
import { loadEnvConfig } from '@chat/platform';
import { capturingLogger } from '@chat/platform/testing';
import { BadRequestError, StoreUnavailableError } from '../../errors.js';
import { message } from '@chat/testkit/store-contract';
import { runStoreContract } from '@chat/testkit/store-contract';
import type { ChatStore } from '../store.js';
import { EmulatedCluster } from './emulator/index.js';
import { type ScyllaOptions, scyllaEnvSchema, scyllaOptionsFromEnv } from './scylla-config.js';
import { applyMigrations, loadMigrations } from './scylla-migrations.js';
import type { CqlConnector } from './scylla-session.js';
import { openScyllaStore } from './scylla-store.js';
import { ROW_WRITE_ATTEMPTS } from './scylla-appends.js';
import { SEAL_WINDOW } from './scylla-tail.js';
import { CQL } from './scylla-cql.js';
import { messageInsertParams } from './scylla-rows.js';
import { batchOf, isLoggedBatchOf, newGroup, seqsOf, writeTimeout } from './scylla-test-fixtures.js';

// The Scylla store's own code (statements, fencing, failure handling, the
// driver's value encoding) against the in-memory CQL emulator (./emulator),
// which refuses what ScyllaDB refuses (scans, filtering, conditional batches
// across partitions, unprepared statements) and models write timestamps,
// tombstones and lightweight transactions. Not a substitute for the live
// suite (scylla-store.test.ts): no replication, no consistency levels, no
// real timeouts.

const KEYSPACE = 'chat';

// Cassandra answers a refused LWT with the condition columns only (or nothing
// for a missing row); ScyllaDB with the whole previous row, nulls if missing.
for (const lwtResults of ['cassandra', 'scylla'] as const) {
  describe(`ScyllaStore on the CQL emulator, ${lwtResults} LWT results`, () => {
    const cluster = new EmulatedCluster({ lwtResults });
    const connect: CqlConnector = (_options, to) => cluster.client(to.keyspace ? { keyspace: KEYSPACE } : {});
    const options: ScyllaOptions = scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, { SCYLLA_CONTACT_POINTS: 'emulated' }));
    const open = (): Promise<ChatStore> => openScyllaStore(options, connect);

    /** A connector whose clients hold every request with a statement matching `held` until release(): a host frozen mid-write. */
    const gatedConnector = (held: (query: string) => boolean) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const connector: CqlConnector = (o, to) => {
        const client = connect(o, to);
        return {
          connect: () => client.connect(),
          execute: async (q, p, opts) => {
            if (held(q)) await gate;
            return client.execute(q, p, opts);
          },
          batch: async (q, opts) => {
            if (q.some((st) => held(st.query))) await gate;
            return client.batch(q, opts);
          },
          shutdown: () => client.shutdown(),
        };
      };
      return { connector, release };
    };

    beforeAll(async () => {
      await cluster.client().execute(`CREATE KEYSPACE ${KEYSPACE} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      await applyMigrations(cluster.client({ keyspace: KEYSPACE }), loadMigrations());
    });

    afterAll(() => {
      // Every statement the suite ran kept ScyllaDB's modelling rules (no LWT and plain writes mixed on a partition, no oversized batch).
      expect(cluster.violations).toEqual([]);
    });

    runStoreContract(`ScyllaDB store on the CQL emulator (${lwtResults} LWT results)`, async () => ({ store: await open(), reopen: open, cleanup: async () => undefined }));

    describe('failure handling', () => {
      it('rows that fail after their seqs were claimed are owed: written before the next append, and the retry finds them', async () => {
        const store = await open();
        const id = await newGroup(store);
        await store.appendMessages(batchOf(id, 1, 2));
        const fault = cluster.inject({ match: isLoggedBatchOf(id), error: writeTimeout, when: 'before' });
        const failed = await store.appendMessages(batchOf(id, 3, 2)).catch((e: unknown) => e);
        expect(failed).toBeInstanceOf(StoreUnavailableError);
        expect((await store.loadConversation(id))?.lastSeq).toBe(4); // claimed
        expect(await seqsOf(store, id)).toEqual(['1', '2']); // rows missing
        fault.remove();

        // The sender retries the same keys after the actor reloaded the head: the owed rows go first, so they are duplicates.
        const retry = await store.appendMessages({ ...batchOf(id, 5, 2), messages: batchOf(id, 3, 2).messages.map((m, i) => ({ ...m, seq: 5 + i })) });
        expect(retry.kind).toBe('duplicates');
        expect(retry.kind === 'duplicates' && retry.existing.map((m) => m.seq)).toEqual([3, 4]);
        expect(await seqsOf(store, id)).toEqual(['1', '2', '3', '4']);
        await store.close();
      });

      it('a new owner seals the holes of an owner that died with rows owed; a late replay of those rows does not revive them', async () => {
        const { logger: dyingLogger, lines: dyingLog } = capturingLogger();
        const dying = await openScyllaStore(options, connect, dyingLogger);
        const id = await newGroup(dying);
        await dying.appendMessages(batchOf(id, 1, 1));
        // The rows are lost with the host, and reach the batch log only after the new owner sealed (replayed below).
        const fault = cluster.inject({ match: isLoggedBatchOf(id), error: writeTimeout, when: 'before', times: ROW_WRITE_ATTEMPTS });
        expect(await dying.appendMessages(batchOf(id, 2, 3)).catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError);
        expect(fault.hits).toBe(ROW_WRITE_ATTEMPTS);
        await dying.close();

        expect(dyingLog).toContainEqual(expect.objectContaining({ level: 40, conversationId: id, seqs: '2-4', msg: expect.stringMatching(/owed to the next append/) }));
        const { logger: nextLogger, lines: nextLog } = capturingLogger();
        const next = await openScyllaStore(options, connect, nextLogger);
        await next.appendMessages(batchOf(id, 5, 1, 2, 'new'));
        expect(nextLog).toContainEqual(expect.objectContaining({ level: 40, conversationId: id, seqs: [2, 3, 4], msg: expect.stringMatching(/^sealed seqs/) }));
        expect(await seqsOf(next, id)).toEqual(['1', '2x', '3x', '4x', '5']);
        const placeholder = (await next.readMessages(id, { after: 1, limit: 1, direction: 'forward' }))[0];
        expect(placeholder).toMatchObject({ seq: 2, deleted: true, body: '', senderId: '' });

        // The dead owner's batch replayed late from the batch log, with its original, older write timestamp: the placeholders stay.
        const late = batchOf(id, 2, 3);
        const replayer = cluster.client({ keyspace: KEYSPACE, clockSkewMs: -1000 });
        await replayer.batch(
          late.messages.flatMap((m) => [
            { query: CQL.putMessage, params: messageInsertParams(m) },
            { query: CQL.putKey, params: [id, m.senderId, m.clientMsgId, m.seq] },
          ]),
          { prepare: true, logged: true },
        );
        expect(await seqsOf(next, id)).toEqual(['1', '2x', '3x', '4x', '5']);
        // Its keys landed but point at placeholders: the sender's retry is stored afresh, once.
        expect(await next.findByClientMsgIds(id, [{ senderId: 'u1', clientMsgId: 'k-2' }])).toEqual([]);
        const retry = await next.appendMessages({ ...batchOf(id, 6, 1, 2), messages: [message(id, 6, 'u1', { clientMsgId: 'k-2' })] });
        expect(retry.kind).toBe('appended');
        expect(await seqsOf(next, id)).toEqual(['1', '2x', '3x', '4x', '5', '6']);
        await next.close();
      });

      it('rows of a host paused between its claim and its rows lose to the next owner’s placeholders when they land', async () => {
        // Store A's row batches wait at a gate: A is frozen after its claim.
        const { connector: paused, release } = gatedConnector((query) => query === CQL.putMessage);
        const a = await openScyllaStore(options, paused);
        const id = await newGroup(a);
        const writing = a.appendMessages(batchOf(id, 1, 2));
        for (let i = 0; i < 50 && (await a.loadConversation(id))?.lastSeq !== 2; i++) await new Promise((r) => setTimeout(r, 2));
        expect((await a.loadConversation(id))?.lastSeq).toBe(2); // claimed, rows held

        // A's lease expires; B takes over (epoch 2), seals 1-2 and writes 3.
        const b = await open();
        await b.appendMessages(batchOf(id, 3, 1, 2, 'b'));
        expect(await seqsOf(b, id)).toEqual(['1x', '2x', '3']);

        // A wakes: its rows land now, stamped with the time before its claim.
        release();
        await writing;
        expect(await seqsOf(b, id)).toEqual(['1x', '2x', '3']);
        // Its senders' retries are new messages on B, stored once.
        expect((await b.appendMessages({ ...batchOf(id, 4, 1, 2), messages: [message(id, 4, 'u1', { clientMsgId: 'k-1' })] })).kind).toBe('appended');
        expect(await seqsOf(b, id)).toEqual(['1x', '2x', '3', '4']);
        await a.close();
        await b.close();
      });

      it('an edit of a host stalled past its lease, landing after the next owner’s edit, does not overwrite it', async () => {
        // A freezes after its fence, before its change index and message writes.
        const { connector, release } = gatedConnector((query) => query === CQL.putChange);
        const a = await openScyllaStore(options, connector);
        const id = await newGroup(a);
        await a.appendMessages(batchOf(id, 1, 1));
        const stalled = a.updateMessage({ epoch: 1, message: message(id, 1, 'u1', { clientMsgId: 'k-1', body: 'edit by the old owner', editedAt: 5, changeSeq: 1 }) });
        for (let i = 0; i < 50 && (await a.loadConversation(id))?.changeSeq !== 1; i++) await new Promise((r) => setTimeout(r, 2));
        expect((await a.loadConversation(id))?.changeSeq).toBe(1); // fenced, row write held

        const b = await open();
        await b.updateMessage({ epoch: 2, message: message(id, 1, 'u1', { clientMsgId: 'k-1', body: 'edit by the new owner', editedAt: 6, changeSeq: 2 }) });
        release();
        await stalled;
        const [stored] = await b.readMessages(id, { limit: 1, direction: 'forward' });
        expect(stored).toMatchObject({ body: 'edit by the new owner', changeSeq: 2 });
        await a.close();
        await b.close();
      });

      it('owed rows of an older epoch are dropped, never written over a new owner’s seal', async () => {
        const store = await open();
        const id = await newGroup(store);
        const fault = cluster.inject({ match: isLoggedBatchOf(id), error: writeTimeout, when: 'before', times: ROW_WRITE_ATTEMPTS });
        expect(await store.appendMessages(batchOf(id, 1, 2)).catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError);
        expect(fault.hits).toBe(ROW_WRITE_ATTEMPTS);
        // Another owner (epoch 2) sealed 1-2 and wrote 3.
        const other = await open();
        await other.appendMessages(batchOf(id, 3, 1, 2, 'other'));
        await other.close();
        // This store wins the shard back (epoch 3): it must not write its epoch-1 rows over the placeholders.
        await store.appendMessages(batchOf(id, 4, 1, 3, 'back'));
        expect(await seqsOf(store, id)).toEqual(['1x', '2x', '3', '4']);
        await store.close();
      });

      /** The next claim LWT of `id` times out, having applied ('after') or not ('before'). */
      const claimTimesOut = (id: string, when: 'before' | 'after') =>
        cluster.inject({
          match: (query, params) => query === CQL.claimSeqs && params[3] === id,
          error: () => new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'CAS operation timed out'),
          when,
          times: 1,
        });

      it('a claim whose LWT timed out after it applied is settled by a SERIAL read, and the rows are written', async () => {
        const store = await open();
        const id = await newGroup(store);
        const fault = claimTimesOut(id, 'after');
        expect((await store.appendMessages(batchOf(id, 1, 2))).kind).toBe('appended');
        expect(fault.hits).toBe(1);
        expect(await seqsOf(store, id)).toEqual(['1', '2']);
        await store.close();
      });

      it('a claim whose LWT failed before it applied is unavailable, writes nothing, and the same batch succeeds later', async () => {
        const store = await open();
        const id = await newGroup(store);
        const fault = claimTimesOut(id, 'before');
        expect(await store.appendMessages(batchOf(id, 1, 2)).catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError);
        expect(fault.hits).toBe(1);
        expect((await store.loadConversation(id))?.lastSeq).toBe(0);
        expect((await store.appendMessages(batchOf(id, 1, 2))).kind).toBe('appended');
        expect(await seqsOf(store, id)).toEqual(['1', '2']);
        await store.close();
      });

      it('the send path: key lookups, one LWT, then logged batches of at most MAX_BATCH_MESSAGES, all prepared', async () => {
        const store = await open();
        const id = await newGroup(store);
        await store.appendMessages(batchOf(id, 1, 1)); // the first append of the epoch also seals (one range read)
        const from = cluster.log.length;
        await store.appendMessages(batchOf(id, 2, 100));
        const ran = cluster.log.slice(from);
        expect(ran.every((e) => e.options.prepare === true && e.error === undefined)).toBe(true);
        expect(ran.filter((e) => e.lwt).map((e) => e.query)).toEqual([CQL.claimSeqs]);
        expect(ran.filter((e) => e.kind === 'select').every((e) => e.query === CQL.getKey)).toBe(true);
        const batches = ran.filter((e) => e.kind === 'batch');
        expect(batches.map((b) => (b.statements?.length ?? 0) / 2)).toEqual([32, 32, 32, 4]);
        expect(ran.length).toBe(100 + 1 + 4);
        expect(await store.readMessages(id, { after: 99, limit: 10, direction: 'forward' })).toHaveLength(2);
        await store.close();
      });

      it('refuses a batch larger than the seal window', async () => {
        const store = await open();
        const id = await newGroup(store);
        expect(await store.appendMessages(batchOf(id, 1, SEAL_WINDOW + 1)).catch((e: unknown) => e)).toBeInstanceOf(BadRequestError);
        await store.close();
      });

      it('answers StoreUnavailableError while no node is reachable, and works again once one is, without reopening', async () => {
        const store = await open();
        const id = await newGroup(store);
        cluster.setReachable(false);
        try {
          for (const call of [() => store.appendMessages(batchOf(id, 1, 1)), () => store.readMessages(id, { limit: 10, direction: 'forward' }), () => store.loadConversation(id)]) {
            const err = await call().catch((e: unknown) => e);
            expect(err).toBeInstanceOf(StoreUnavailableError);
            expect((err as Error).cause).toBeInstanceOf(errors.NoHostAvailableError);
          }
        } finally {
          cluster.setReachable(true);
        }
        expect((await store.appendMessages(batchOf(id, 1, 1))).kind).toBe('appended');
        expect(await seqsOf(store, id)).toEqual(['1']);
        await store.close();
      });
    });
  });
}
