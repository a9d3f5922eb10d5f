import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { type Clock, LocalBus, silentLogger } from '@chat/platform';
import { ActorReply, ActorRequest, type ChatMessage, DEFAULT_LIMITS, Event, dmConversationId, newGroupId, shardOf, shardSubject, type User } from '@chat/proto';
import { ActorMetrics } from '../metrics.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store.js';
import { ActorHost } from './actor-host.js';
import { StaticOwnership } from './shard-ownership.js';

// Replies and threads through the actor (docs/protocol.md, "Replies",
// "Threads"): validation on the send path, the quote in the send's answer and
// its message.new event, quotes kept current when the original is edited and
// then deleted; thread replies in the conversation's gapless order, the root's
// counters and thread.updated, and message.thread paging both ways; mentions
// checked against the members, and mention counts after read marks.

const SHARDS = 4;
const user = (id: string): User => ({ id, name: id });
const clock: Clock = { now: () => 1_700_000_000_000 };

describe('ActorHost: replies, threads and mentions', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(): Promise<{ store: SqliteStore; bus: LocalBus }> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-replies-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const store = openSqliteStore({ dataDir });
    cleanups.push(() => store.close());
    const bus = new LocalBus();
    cleanups.push(() => bus.close());
    const host = new ActorHost({
      bus,
      store,
      ownership: new StaticOwnership(SHARDS, 1),
      shardCount: SHARDS,
      limits: DEFAULT_LIMITS,
      logger: silentLogger(),
      metrics: new ActorMetrics(new Registry()),
      clock,
      idleMs: 60_000,
      mailboxCapacity: 1000,
      maxBatch: 64,
    });
    await host.start();
    cleanups.push(() => host.stop());
    for (const id of ['alice', 'bob', 'carol']) await store.upsertUser(user(id));
    return { store, bus };
  }

  async function call(bus: LocalBus, callerId: string, conversationId: string, op: ActorRequest['op']): Promise<ActorReply['result']> {
    const req: ActorRequest = { caller: user(callerId), conversationId, receivedAt: 0, sessionId: '', laneSeq: 0, laneAfter: 0, op };
    const msg = await bus.request(shardSubject(shardOf(conversationId, SHARDS)), ActorRequest.encode(req).finish(), { timeoutMs: 10_000 });
    return ActorReply.decode(msg.data).result;
  }

  const sent = (r: ActorReply['result']): ChatMessage => {
    if (r?.$case !== 'send' || !r.value.message) throw new Error(`expected a send result, got ${JSON.stringify(r)}`);
    return r.value.message;
  };
  const send = (bus: LocalBus, callerId: string, id: string, clientMsgId: string, body: string, replyTo?: number, threadRoot?: number) =>
    call(bus, callerId, id, { $case: 'send', value: { clientMsgId, body, attachments: [], replyTo, threadRoot } });

  it('quotes the original in the answer, the event and every later read; an edit and a delete of the original show in the quote', async () => {
    const { store, bus } = await start();
    const published: Event[] = [];
    bus.subscribe('chat.conv.>', (m) => published.push(Event.decode(m.data)));
    const id = newGroupId();
    expect((await call(bus, 'alice', id, { $case: 'createGroup', value: { title: 't', memberIds: ['bob'] } }))?.$case).toBe('conversation');
    const long = 'x'.repeat(250);
    expect(sent(await send(bus, 'alice', id, 'a1', long)).seq).toBe(1);

    const reply = sent(await send(bus, 'bob', id, 'b1', 'agreed', 1));
    const quote = { seq: 1, senderId: 'alice', text: 'x'.repeat(200), deleted: false };
    expect(reply).toMatchObject({ seq: 2, body: 'agreed', replyTo: quote });
    await bus.flush();
    const news = published.flatMap((e) => (e.kind?.$case === 'messageNew' ? [e.kind.value] : []));
    expect(news.map((m) => m.replyTo)).toEqual([undefined, quote]);

    // A retry answers the stored reply, quote included.
    const retry = await send(bus, 'bob', id, 'b1', 'agreed', 1);
    expect(retry).toMatchObject({ $case: 'send', value: { duplicate: true, message: { seq: 2, replyTo: quote } } });

    const history = async () => {
      const r = await call(bus, 'bob', id, { $case: 'history', value: { limit: 10 } });
      if (r?.$case !== 'history') throw new Error('not a history result');
      return r.value.messages.map((m) => m.replyTo);
    };
    expect(await history()).toEqual([undefined, quote]);
    await call(bus, 'alice', id, { $case: 'edit', value: { seq: 1, body: 'changed my mind' } });
    expect(await history()).toEqual([undefined, { ...quote, text: 'changed my mind' }]);
    await call(bus, 'alice', id, { $case: 'delete', value: { seq: 1 } });
    expect(await history()).toEqual([undefined, { ...quote, text: '', deleted: true }]);
    expect((await store.readMessages(id, { limit: 10, direction: 'forward' }))[1]?.replyTo).toEqual({ ...quote, text: '', deleted: true });
    // A reply to a deleted message is still a reply (it was there); its quote says so.
    expect(sent(await send(bus, 'bob', id, 'b2', 'too late', 1)).replyTo).toEqual({ ...quote, text: '', deleted: true });
  });

  it('refuses a reply to a seq the conversation does not have, storing nothing', async () => {
    const { store, bus } = await start();
    const id = newGroupId();
    await call(bus, 'alice', id, { $case: 'createGroup', value: { title: 't', memberIds: ['bob'] } });
    sent(await send(bus, 'alice', id, 'a1', 'hello'));
    const refused = await send(bus, 'bob', id, 'b1', 'hm', 2);
    expect(refused).toMatchObject({ $case: 'failure', value: { code: 'not_found' } });
    expect(await store.readMessages(id, { limit: 10, direction: 'forward' })).toHaveLength(1);
    expect(sent(await send(bus, 'bob', id, 'b2', 'ok')).seq).toBe(2);
  });

  it('keeps a 500-reply thread in the conversation’s gapless order, counts it on the root, and pages it both ways', async () => {
    const { store, bus } = await start();
    const published: Event[] = [];
    bus.subscribe('chat.conv.>', (m) => published.push(Event.decode(m.data)));
    const id = newGroupId();
    await call(bus, 'alice', id, { $case: 'createGroup', value: { title: 't', memberIds: ['bob'] } });
    expect(sent(await send(bus, 'alice', id, 'root', 'a thread starts here')).seq).toBe(1);
    // 500 thread replies interleaved with 100 ordinary messages, sent without
    // waiting (so they group-commit), then a retry of one reply.
    const sends: Promise<ActorReply['result']>[] = [];
    for (let i = 0; i < 600; i++) {
      const inThread = i % 6 !== 5;
      sends.push(send(bus, i % 2 ? 'bob' : 'alice', id, `m${i}`, `body ${i}`, undefined, inThread ? 1 : undefined));
    }
    const seqs = (await Promise.all(sends)).map((r) => sent(r).seq);
    expect(seqs).toEqual(Array.from({ length: 600 }, (_, i) => i + 2));
    expect(await send(bus, 'alice', id, 'm0', 'body 0', undefined, 1)).toMatchObject({ $case: 'send', value: { duplicate: true, message: { seq: 2, threadRoot: 1 } } });

    const all = await store.readMessages(id, { limit: 1000, direction: 'forward' });
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 601 }, (_, i) => i + 1));
    expect(all[0]).toMatchObject({ threadReplies: 500, threadLastAt: clock.now() });
    const threadSeqs = all.filter((m) => m.threadRoot === 1).map((m) => m.seq);
    expect(threadSeqs).toHaveLength(500);
    await bus.flush();
    const updates = published.flatMap((e) => (e.kind?.$case === 'threadUpdated' ? [e.kind.value] : []));
    expect(updates.map((u) => u.threadReplies)).toEqual([...updates.map((u) => u.threadReplies)].sort((a, b) => a - b));
    expect(updates.at(-1)).toEqual({ conversationId: id, root: 1, threadReplies: 500, threadLastAt: clock.now() });

    const page = async (q: { before?: number; after?: number }) => {
      const r = await call(bus, 'bob', id, { $case: 'thread', value: { root: 1, limit: 64, ...q } });
      if (r?.$case !== 'history') throw new Error(`not a thread page: ${JSON.stringify(r)}`);
      expect(r.value.root).toMatchObject({ seq: 1, threadReplies: 500 });
      return r.value;
    };
    // Backward from the newest, then forward from the start: each covers the thread once, in order.
    const backward: number[] = [];
    for (let before: number | undefined; ; ) {
      const p = await page({ before });
      backward.unshift(...p.messages.map((m) => m.seq));
      if (!p.hasMore) break;
      before = p.messages[0]!.seq;
    }
    const forward: number[] = [];
    for (let after = 0; ; ) {
      const p = await page({ after });
      forward.push(...p.messages.map((m) => m.seq));
      if (!p.hasMore) break;
      after = p.messages.at(-1)!.seq;
    }
    expect(backward).toEqual(threadSeqs);
    expect(forward).toEqual(threadSeqs);
  });

  it('refuses a thread reply to a reply in a thread, or to a seq the conversation does not have; message.thread of an unknown root is not_found', async () => {
    const { bus } = await start();
    const id = newGroupId();
    await call(bus, 'alice', id, { $case: 'createGroup', value: { title: 't', memberIds: ['bob'] } });
    sent(await send(bus, 'alice', id, 'a1', 'root'));
    expect(sent(await send(bus, 'bob', id, 'b1', 'in thread', undefined, 1)).threadRoot).toBe(1);
    expect(await send(bus, 'bob', id, 'b2', 'nested', undefined, 2)).toMatchObject({ $case: 'failure', value: { code: 'bad_request' } });
    expect(await send(bus, 'bob', id, 'b3', 'nowhere', undefined, 9)).toMatchObject({ $case: 'failure', value: { code: 'not_found' } });
    expect(await call(bus, 'bob', id, { $case: 'thread', value: { root: 9, limit: 10 } })).toMatchObject({ $case: 'failure', value: { code: 'not_found' } });
    // The refusals stored nothing: the next message follows with no gap.
    expect(sent(await send(bus, 'bob', id, 'b4', 'ok')).seq).toBe(3);
  });

  it('checks mentions against the members; counts a member’s unread mentions in their view until read marks pass them', async () => {
    const { bus } = await start();
    const id = newGroupId();
    await call(bus, 'alice', id, { $case: 'createGroup', value: { title: 't', memberIds: ['bob', 'carol'] } });
    const mention = (callerId: string, clientMsgId: string, ids: string[]) =>
      call(bus, callerId, id, { $case: 'send', value: { clientMsgId, body: 'hey', attachments: [], mentions: { ids } } });
    // Repeats are dropped; non-members are refused.
    expect(sent(await mention('alice', 'a1', ['bob', 'bob', 'carol'])).mentions).toEqual({ ids: ['bob', 'carol'] });
    expect(await mention('alice', 'a2', ['dave'])).toMatchObject({ $case: 'failure', value: { code: 'bad_request' } });
    expect(sent(await mention('carol', 'c1', ['@all'])).seq).toBe(2);
    expect(sent(await mention('alice', 'a3', ['bob'])).seq).toBe(3);

    const view = async (userId: string) => {
      const r = await call(bus, userId, id, { $case: 'get', value: {} });
      if (r?.$case !== 'conversation') throw new Error('not a conversation');
      return r.value.conversation!;
    };
    expect(await view('bob')).toMatchObject({ unread: 3, mentions: 3 });
    expect(await view('carol')).toMatchObject({ unread: 2, mentions: 1 });
    await call(bus, 'bob', id, { $case: 'markReceipt', value: { readSeq: 2 } });
    expect(await view('bob')).toMatchObject({ unread: 1, mentions: 1 });
    await call(bus, 'bob', id, { $case: 'markReceipt', value: { readSeq: 3 } });
    expect((await view('bob')).mentions).toBeUndefined();
  });

  it('lets only owners and admins mention @all or @here in a group above 50 members, and no one in a DM', async () => {
    const { store, bus } = await start();
    const others = Array.from({ length: 50 }, (_, i) => `u${i}`);
    for (const u of others) await store.upsertUser(user(u));
    const id = newGroupId();
    await call(bus, 'alice', id, { $case: 'createGroup', value: { title: 'big', memberIds: ['bob', ...others] } });
    const everyone = (callerId: string, clientMsgId: string, what: string) =>
      call(bus, callerId, id, { $case: 'send', value: { clientMsgId, body: 'all hands', attachments: [], mentions: { ids: [what] } } });
    expect(await everyone('bob', 'b1', '@all')).toMatchObject({ $case: 'failure', value: { code: 'forbidden' } });
    expect(await everyone('bob', 'b2', '@here')).toMatchObject({ $case: 'failure', value: { code: 'forbidden' } });
    expect(sent(await everyone('alice', 'a1', '@all')).mentions).toEqual({ ids: ['@all'] });
    await call(bus, 'alice', id, { $case: 'setRole', value: { userId: 'bob', role: 'admin' } });
    expect(sent(await everyone('bob', 'b3', '@here')).mentions).toEqual({ ids: ['@here'] });

    const dmId = dmConversationId('alice', 'bob');
    const dm = await call(bus, 'alice', dmId, { $case: 'openDm', value: { peer: user('bob') } });
    if (dm?.$case !== 'conversation') throw new Error(`openDm failed: ${JSON.stringify(dm)}`);
    const inDm = await call(bus, 'alice', dmId, { $case: 'send', value: { clientMsgId: 'd1', body: 'x', attachments: [], mentions: { ids: ['@all'] } } });
    expect(inDm).toMatchObject({ $case: 'failure', value: { code: 'bad_request' } });
  });
});
