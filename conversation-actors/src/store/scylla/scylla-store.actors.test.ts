import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { LocalBus, silentLogger, systemClock } from '@chat/platform';
import { ActorReply, ActorRequest, DEFAULT_LIMITS, Event, newGroupId, shardOf, shardSubject } from '@chat/proto';
import { FaultyCql, writeTimeout } from '@chat/testkit/faulty-cql';
import { type CutOffProxy, dropLiveKeyspace, liveCql, liveKeyspace, migrateLiveKeyspace, startCutOffProxy } from '@chat/testkit/live-cql';
import { ActorMetrics } from '../../metrics.js';
import { ActorHost } from '../../host/actor-host.js';
import { StaticOwnership } from '../../host/shard-ownership.js';
import type { ChatStore } from '../store.js';
import type { ScyllaOptions } from './scylla-config.js';
import { ROW_WRITE_ATTEMPTS } from './scylla-appends.js';
import { openScyllaStore } from './scylla-store.js';

// Conversation actors over the Scylla store on a real CQL node (the test
// run's Cassandra, see testkit/live-cql): what a client sees when the cluster
// is unreachable (a proxy in front of the node holds the traffic), and when a
// host fails after claiming seqs whose rows never landed (a fault injected by
// testkit's FaultyCql around the driver client) and another host takes over.

const SHARDS = 4;
const live = liveCql('actors over the Scylla store on a live CQL server');

describe.skipIf(!live)(`actors over the Scylla store on a live CQL server (${live?.server ?? 'none'})`, () => {
  const keyspace = liveKeyspace('chat_actors');
  const cql = new FaultyCql();
  let options: ScyllaOptions;
  let proxy: CutOffProxy;
  // Through a proxy of its own (the node is shared with suites running alongside), with a request timeout well under the bus's 10 s.
  const openStore = (): Promise<ChatStore> => openScyllaStore({ ...options, contactPoints: [proxy.contactPoint], requestTimeoutMs: 2000 }, cql.connector);

  beforeAll(async () => {
    options = await migrateLiveKeyspace(live!, keyspace);
    proxy = await startCutOffProxy(live!.contactPoints.split(',')[0]!);
    const store = await openStore();
    for (const id of ['alice', 'bob']) await store.upsertUser({ id, name: id });
    await store.close();
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await dropLiveKeyspace(live!, keyspace);
  }, 120_000);

  interface Host {
    bus: LocalBus;
    store: ChatStore;
    call(req: ActorRequest): Promise<ActorReply>;
  }

  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** An actor host holding every shard with `epoch`, on its own bus, over its own Scylla store. */
  async function startHost(epoch: number): Promise<Host> {
    const store = await openStore();
    const bus = new LocalBus();
    const host = new ActorHost({
      bus,
      store,
      ownership: new StaticOwnership(SHARDS, epoch),
      shardCount: SHARDS,
      limits: DEFAULT_LIMITS,
      logger: silentLogger(),
      metrics: new ActorMetrics(new Registry()),
      clock: systemClock,
      idleMs: 60_000,
      mailboxCapacity: 100,
      maxBatch: 64,
    });
    await host.start();
    cleanups.push(async () => {
      await host.stop();
      await bus.close();
      await store.close();
    });
    const call = async (req: ActorRequest): Promise<ActorReply> =>
      ActorReply.decode((await bus.request(shardSubject(shardOf(req.conversationId, SHARDS)), ActorRequest.encode(req).finish(), { timeoutMs: 10_000 })).data);
    return { bus, store, call };
  }

  const base = (conversationId: string, callerId: string) => ({ caller: { id: callerId, name: callerId }, conversationId, receivedAt: 0, sessionId: '', laneSeq: 0, laneAfter: 0 });
  const send = (conversationId: string, callerId: string, clientMsgId: string): ActorRequest => ({
    ...base(conversationId, callerId),
    op: { $case: 'send', value: { clientMsgId, body: clientMsgId, attachments: [] } },
  });
  const outcome = (reply: ActorReply): string =>
    reply.result?.$case === 'send' ? `seq ${reply.result.value.message?.seq}${reply.result.value.duplicate ? ' (duplicate)' : ''}` : `failed ${reply.result?.$case === 'failure' ? reply.result.value.code : reply.result?.$case}`;

  async function createGroup(host: Host): Promise<string> {
    const id = newGroupId();
    const reply = await host.call({ ...base(id, 'alice'), op: { $case: 'createGroup', value: { title: 'team', memberIds: ['bob'] } } });
    expect(reply.result?.$case, JSON.stringify(reply.result)).toBe('conversation');
    return id;
  }

  /** The message.new events published on any conversation's subject (what gateways fan out to members). */
  function bodiesPublished(host: Host): string[] {
    const seen: string[] = [];
    host.bus.subscribe('chat.conv.>', (msg) => {
      const e = Event.decode(msg.data);
      if (e.kind?.$case === 'messageNew') seen.push(`${e.kind.value.seq}:${e.kind.value.body}`);
    });
    return seen;
  }

  const history = async (store: ChatStore, id: string) =>
    (await store.readMessages(id, { limit: 100, direction: 'forward' })).map((m) => (m.deleted ? `${m.seq}:deleted` : `${m.seq}:${m.body}`));

  it('answer unavailable while no node is reachable, acknowledge and publish nothing, and continue without a gap', async () => {
    const host = await startHost(1);
    const bob = bodiesPublished(host);
    const id = await createGroup(host);
    expect(outcome(await host.call(send(id, 'alice', 'a1')))).toBe('seq 1');
    proxy.setReachable(false);
    try {
      expect(outcome(await host.call(send(id, 'alice', 'a2')))).toBe('failed unavailable');
    } finally {
      proxy.setReachable(true);
    }
    expect(outcome(await host.call(send(id, 'alice', 'a2')))).toBe('seq 2');
    await host.bus.flush();
    expect(bob).toEqual(['1:a1', '2:a2']);
    expect(await history(host.store, id)).toEqual(['1:a1', '2:a2']);
  });

  it('a host whose rows failed after its claim acknowledges nothing; the next owner seals the hole and the retry is stored once', async () => {
    const first = await startHost(10);
    const id = await createGroup(first);
    expect(outcome(await first.call(send(id, 'alice', 'b1')))).toBe('seq 1');

    // The rows of the next send never land (the host is cut off from the cluster after its claim).
    const fault = cql.inject({
      match: (query, params) => query.startsWith('INSERT INTO messages') && params[0] === id,
      error: writeTimeout,
      when: 'before',
      times: ROW_WRITE_ATTEMPTS,
    });
    expect(outcome(await first.call(send(id, 'alice', 'b2')))).toBe('failed unavailable');
    expect(fault.hits).toBe(ROW_WRITE_ATTEMPTS);

    // Another host takes the shard over with a newer epoch; the client retries there.
    const second = await startHost(11);
    const bob = bodiesPublished(second);
    expect(outcome(await second.call(send(id, 'bob', 'b3')))).toBe('seq 3');
    expect(outcome(await second.call(send(id, 'alice', 'b2')))).toBe('seq 4');
    // The old host is fenced off: its own retry is refused, not written.
    expect(outcome(await first.call(send(id, 'alice', 'b2')))).toBe('failed unavailable');

    expect(await history(second.store, id)).toEqual(['1:b1', '2:deleted', '3:b3', '4:b2']);
    await second.bus.flush();
    expect(bob).toEqual(['3:b3', '4:b2']);
    expect(cql.violations).toEqual([]);
  });

  it('a thread reply after one whose rows were owed counts both on the root', async () => {
    const host = await startHost(20);
    const id = await createGroup(host);
    const reply = (callerId: string, clientMsgId: string): ActorRequest => {
      const req = send(id, callerId, clientMsgId);
      if (req.op?.$case === 'send') req.op.value.threadRoot = 1;
      return req;
    };
    expect(outcome(await host.call(send(id, 'alice', 'root')))).toBe('seq 1');
    expect(outcome(await host.call(reply('bob', 't1')))).toBe('seq 2');

    // t2's rows (and the root's counters written with them) never land: they are owed.
    const fault = cql.inject({
      match: (query, params) => query.startsWith('INSERT INTO messages') && params[0] === id,
      error: writeTimeout,
      when: 'before',
      times: ROW_WRITE_ATTEMPTS,
    });
    expect(outcome(await host.call(reply('alice', 't2')))).toBe('failed unavailable');
    expect(fault.hits).toBe(ROW_WRITE_ATTEMPTS);

    // The next reply must count on top of the owed one, not on the root as last confirmed.
    expect(outcome(await host.call(reply('bob', 't3')))).toBe('seq 4');
    expect(outcome(await host.call(reply('alice', 't2')))).toBe('seq 3 (duplicate)');
    const [root] = await host.store.readMessages(id, { after: 0, before: 2, limit: 1, direction: 'forward' });
    expect(root?.threadReplies).toBe(3);
    expect(cql.violations).toEqual([]);
  });
});
