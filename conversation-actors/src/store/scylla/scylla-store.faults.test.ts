import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors, types } from 'cassandra-driver';
import { capturingLogger } from '@chat/testkit/capturing-logger';
import { message } from '@chat/testkit/store-contract';
import { FaultyCql, batchOf, isLoggedBatchOf, newGroup, seqsOf, writeTimeout } from '@chat/testkit/faulty-cql';
import { dropLiveKeyspace, liveCql, liveKeyspace, migrateLiveKeyspace, startCutOffProxy } from '@chat/testkit/live-cql';
import { BadRequestError, NotFoundError, StoreUnavailableError } from '../../errors.js';
import type { ChatStore } from '../store.js';
import type { ScyllaOptions } from './scylla-config.js';
import { type CqlConnector, createScyllaClient } from './scylla-session.js';
import { openScyllaStore } from './scylla-store.js';
import { ROW_WRITE_ATTEMPTS } from './scylla-appends.js';
import { SEAL_WINDOW } from './scylla-tail.js';
import { CQL } from './scylla-cql.js';

// The Scylla store's failure handling on a real CQL node (the test run's
// Cassandra, see testkit/live-cql): rows failing after the claim, timeouts
// before and after an LWT applied, a host frozen between two statements,
// an unreachable cluster. Faults are injected by a thin wrapper around the
// driver client (testkit's FaultyCql): the statements that do run, run on the
// node, with its Paxos, write timestamps and batch log. An unreachable
// cluster is a proxy that holds the traffic. The store contract itself runs
// live in scylla-store.test.ts.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `done` for up to 10 s (a real node answers in milliseconds, more on a loaded machine). */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && !(await done()); ) await sleep(5);
}

const live = liveCql('ScyllaStore failure handling on a live CQL server');

describe.skipIf(!live)(`ScyllaStore failure handling on a live CQL server (${live?.server ?? 'none'})`, () => {
  const keyspace = liveKeyspace('chat_faults');
  let options: ScyllaOptions;
  /** Every wrapper the suite made: none may have seen the store break a rule (see FaultyCql.violations). */
  const wrappers: FaultyCql[] = [];
  const faulty = (): FaultyCql => {
    const cql = new FaultyCql();
    wrappers.push(cql);
    return cql;
  };
  const cql = faulty();
  const open = (): Promise<ChatStore> => openScyllaStore(options, cql.connector);

  beforeAll(async () => {
    options = await migrateLiveKeyspace(live!, keyspace);
  }, 120_000);

  afterAll(async () => {
    await dropLiveKeyspace(live!, keyspace);
    expect(wrappers.flatMap((w) => w.violations)).toEqual([]);
  }, 120_000);

  it('rows that fail after their seqs were claimed are owed: written before the next append, and the retry finds them', async () => {
    const store = await open();
    const id = await newGroup(store);
    await store.appendMessages(batchOf(id, 1, 2));
    const fault = cql.inject({ match: isLoggedBatchOf(id), error: writeTimeout, when: 'before' });
    const failed = await store.appendMessages(batchOf(id, 3, 2)).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StoreUnavailableError);
    expect((failed as Error).cause).toMatchObject({ code: types.responseErrorCodes.writeTimeout });
    expect(fault.hits).toBe(ROW_WRITE_ATTEMPTS);
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
    const dying = await openScyllaStore(options, cql.connector, dyingLogger);
    const id = await newGroup(dying);
    await dying.appendMessages(batchOf(id, 1, 1));
    // The rows are lost with the host, and reach the batch log only after the new owner sealed (replayed below).
    const fault = cql.inject({ match: isLoggedBatchOf(id), error: writeTimeout, when: 'before', times: ROW_WRITE_ATTEMPTS });
    expect(await dying.appendMessages(batchOf(id, 2, 3)).catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError);
    expect(fault.hits).toBe(ROW_WRITE_ATTEMPTS);
    await dying.close();
    // The last batch the dying owner sent (it never reached the node), with its own options: its write timestamp, taken before its claim.
    const lost = cql.log.filter((e) => e.kind === 'batch' && e.error !== undefined && e.statements?.some((s) => isLoggedBatchOf(id)(s.query, s.params))).at(-1);
    expect(lost?.statements).toHaveLength(6);

    expect(dyingLog).toContainEqual(expect.objectContaining({ level: 40, conversationId: id, seqs: '2-4', msg: expect.stringMatching(/owed to the next append/) }));
    const { logger: nextLogger, lines: nextLog } = capturingLogger();
    const next = await openScyllaStore(options, cql.connector, nextLogger);
    await next.appendMessages(batchOf(id, 5, 1, 2, 'new'));
    expect(nextLog).toContainEqual(expect.objectContaining({ level: 40, conversationId: id, seqs: [2, 3, 4], msg: expect.stringMatching(/^sealed seqs/) }));
    expect(await seqsOf(next, id)).toEqual(['1', '2x', '3x', '4x', '5']);
    const placeholder = (await next.readMessages(id, { after: 1, limit: 1, direction: 'forward' }))[0];
    expect(placeholder).toMatchObject({ seq: 2, deleted: true, body: '', senderId: '' });

    // The dead owner's batch replayed late from the batch log, as it was sent, with its original, older write timestamp: the placeholders stay.
    const replayer = createScyllaClient(options);
    try {
      await replayer.batch(lost!.statements!, lost!.options);
    } finally {
      await replayer.shutdown();
    }
    expect(await seqsOf(next, id)).toEqual(['1', '2x', '3x', '4x', '5']);
    // Its keys landed but point at placeholders: the sender's retry is stored afresh, once.
    expect(await next.findByClientMsgIds(id, [{ senderId: 'u1', clientMsgId: 'k-2' }])).toEqual([]);
    const retry = await next.appendMessages({ ...batchOf(id, 6, 1, 2), messages: [message(id, 6, 'u1', { clientMsgId: 'k-2' })] });
    expect(retry.kind).toBe('appended');
    expect(await seqsOf(next, id)).toEqual(['1', '2x', '3x', '4x', '5', '6']);
    await next.close();
  });

  it('rows of a host paused between its claim and its rows lose to the next owner’s placeholders when they land', async () => {
    // Store A's row batches wait before leaving its client: A is frozen after its claim.
    const frozen = faulty();
    const { release } = frozen.hold((query) => query === CQL.putMessage);
    const a = await openScyllaStore(options, frozen.connector);
    const id = await newGroup(a);
    const writing = a.appendMessages(batchOf(id, 1, 2));
    await until(async () => (await a.loadConversation(id))?.lastSeq === 2);
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
    const frozen = faulty();
    const { release } = frozen.hold((query) => query === CQL.putChange);
    const a = await openScyllaStore(options, frozen.connector);
    const id = await newGroup(a);
    await a.appendMessages(batchOf(id, 1, 1));
    const stalled = a.updateMessage({ epoch: 1, message: message(id, 1, 'u1', { clientMsgId: 'k-1', body: 'edit by the old owner', editedAt: 5, changeSeq: 1 }) });
    await until(async () => (await a.loadConversation(id))?.changeSeq === 1);
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
    const fault = cql.inject({ match: isLoggedBatchOf(id), error: writeTimeout, when: 'before', times: ROW_WRITE_ATTEMPTS });
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

  /** The next claim LWT of `id` times out, having applied on the node ('after') or not been sent ('before'). */
  const claimTimesOut = (id: string, when: 'before' | 'after') =>
    cql.inject({
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

  it('lists a streaming message before storing it: when the list cannot be written, nothing is, and the retry lists and stores it', async () => {
    const store = await open();
    const id = await newGroup(store);
    const batch = batchOf(id, 1, 1);
    batch.messages[0] = { ...batch.messages[0]!, streaming: true };
    const fault = cql.inject({ match: (query) => query === CQL.putOpenStream, error: writeTimeout, when: 'before', times: 1 });
    expect(await store.appendMessages(batch).catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError);
    expect(fault.hits).toBe(1);
    expect((await store.loadConversation(id))?.lastSeq).toBe(0);
    expect(await seqsOf(store, id)).toEqual([]);
    expect((await store.appendMessages(batch)).kind).toBe('appended');
    expect((await store.listOpenStreams!(1000)).filter((s) => s.conversationId === id)).toEqual([{ conversationId: id, seq: 1, senderId: 'u1' }]);
    await store.close();
  });

  it('the send path: key lookups, one LWT, then logged batches of at most MAX_BATCH_MESSAGES, all prepared', async () => {
    const store = await open();
    const id = await newGroup(store);
    await store.appendMessages(batchOf(id, 1, 1)); // the first append of the epoch also seals (one range read)
    const from = cql.log.length;
    await store.appendMessages(batchOf(id, 2, 100));
    const ran = cql.log.slice(from);
    expect(ran.every((e) => e.options.prepare === true && e.error === undefined)).toBe(true);
    expect(ran.filter((e) => e.lwt).map((e) => e.query)).toEqual([CQL.claimSeqs]);
    expect(ran.filter((e) => e.kind === 'select').every((e) => e.query === CQL.getKey)).toBe(true);
    const batches = ran.filter((e) => e.kind === 'batch');
    expect(batches.map((b) => (b.statements?.length ?? 0) / 2)).toEqual([32, 32, 32, 4]);
    expect(batches.every((b) => b.options.logged === true)).toBe(true);
    // Every plain write carries the store's own write timestamp (microseconds), never the driver's clock.
    const writes = ran.filter((e) => e.kind !== 'select' && !e.lwt);
    expect(writes.every((e) => typeof e.options.timestamp === 'number' && Math.abs(e.options.timestamp / 1000 - Date.now()) < 60_000)).toBe(true);
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
    // Behind a proxy of its own that holds traffic (the node is shared with suites running alongside); a short request timeout.
    const proxy = await startCutOffProxy(live!.contactPoints.split(',')[0]!);
    const store = await openScyllaStore({ ...options, contactPoints: [proxy.contactPoint], requestTimeoutMs: 2000 }, cql.connector);
    try {
      const id = await newGroup(store);
      proxy.setReachable(false);
      try {
        for (const call of [() => store.appendMessages(batchOf(id, 1, 1)), () => store.readMessages(id, { limit: 10, direction: 'forward' }), () => store.loadConversation(id)]) {
          const err = await call().catch((e: unknown) => e);
          expect(err).toBeInstanceOf(StoreUnavailableError);
          expect((err as Error).cause).toBeInstanceOf(errors.NoHostAvailableError);
        }
      } finally {
        proxy.setReachable(true);
      }
      expect((await store.appendMessages(batchOf(id, 1, 1))).kind).toBe('appended');
      expect(await seqsOf(store, id)).toEqual(['1']);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  describe('refused LWTs in either result shape', () => {
    // A refused LWT on a missing row: Cassandra answers `[applied]` alone, ScyllaDB
    // the whole previous row with every column null. The node here is Cassandra,
    // so ScyllaDB's shape is made from its answer (the store reads `current` only
    // through ScyllaSession.lwt; on an existing row both shapes carry the
    // condition's columns, which is all the store reads).
    let reshaped = 0;
    const scyllaShaped: CqlConnector = (o, to) => {
      const client = cql.connector(o, to);
      return {
        ...client,
        execute: async (query, params, opts) => {
          const result = await client.execute(query, params, opts);
          const row = result.first();
          if (!/\sIF\s/.test(query) || row?.['[applied]'] !== false || Object.keys(row).length > 1) return result;
          const columns = /\(([^)]*)\)/.exec(CQL.createHead)![1]!.split(',').map((c) => c.trim());
          reshaped++;
          const nulls = Object.assign(Object.create(Object.getPrototypeOf(row) as object) as types.Row, { '[applied]': false }, Object.fromEntries(columns.map((c) => [c, null])));
          return Object.assign(Object.create(Object.getPrototypeOf(result) as object) as types.ResultSet, result, { rows: [nulls] });
        },
      };
    };
    for (const [shape, connector] of [
      ['Cassandra', () => cql.connector],
      ['ScyllaDB', () => scyllaShaped],
    ] as const) {
      it(`${shape}: the claim of an append and the fence of a membership change on a conversation that does not exist are NotFoundError, not a stale epoch or a seq conflict`, async () => {
        const store = await openScyllaStore(options, connector());
        const id = `g_missing_${Date.now().toString(36)}`;
        const reshapedBefore = reshaped;
        // Both reach their LWT without reading the head first (no key of the batch is stored; no member to read).
        expect(await store.appendMessages(batchOf(id, 1, 1)).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
        const change = store.applyMembershipChange({ conversationId: id, epoch: 1, add: [], remove: ['u2'], roles: [], title: 'renamed', changeSeq: 1 });
        expect(await change.catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
        // Both refusals were read in the shape under test.
        expect(reshaped - reshapedBefore).toBe(shape === 'ScyllaDB' ? 2 : 0);
        await store.close();
      });
    }
  });
});
