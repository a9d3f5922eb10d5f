import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { BusNoRespondersError, LocalBus, botTokenHash, newBotToken, silentLogger } from '@chat/platform';
import { type ChatMessage, QUERY_SUBJECT, QueryReply, QueryRequest, type SyncResult, type User } from '@chat/proto';
import { ActorMetrics } from '../metrics.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store.js';
import { QueryService } from './query-service.js';
import { createBotAccount, revokeBotAccount } from '../bots/bot-accounts.js';

const EPOCH = 1;
const T0 = 1_700_000_000_000;

interface Harness {
  store: SqliteStore;
  bus: LocalBus;
  service: QueryService;
}

const user = (id: string, name = id): User => ({ id, name });

function failureCode(reply: QueryReply): string | undefined {
  return reply.result?.$case === 'failure' ? reply.result.value.code : undefined;
}

function syncResult(reply: QueryReply): SyncResult {
  if (reply.result?.$case !== 'sync') throw new Error(`expected a sync result, got ${JSON.stringify(reply.result)}`);
  return reply.result.value;
}

/** conversationId -> the seqs of the messages a sync reply carries for it. */
function syncedSeqs(result: SyncResult): Record<string, number[]> {
  return Object.fromEntries(Object.entries(result.messages).map(([id, list]) => [id, list.messages.map((m) => m.seq)]));
}

describe('QueryService over the bus', () => {
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function start(maxSyncMessages = 2000): Harness {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-query-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const store = openSqliteStore({ dataDir });
    cleanups.push(() => store.close());
    const bus = new LocalBus();
    cleanups.push(() => bus.close());
    const service = new QueryService({
      bus,
      store,
      logger: silentLogger(),
      metrics: new ActorMetrics(new Registry()),
      maxSyncMessages,
    });
    service.start();
    cleanups.push(() => service.stop());
    return { store, bus, service };
  }

  async function query(h: Harness, req: QueryRequest): Promise<QueryReply> {
    const msg = await h.bus.request(QUERY_SUBJECT, QueryRequest.encode(req).finish(), { timeoutMs: 10_000 });
    return QueryReply.decode(msg.data);
  }

  const list = (h: Harness, callerId: string, limit: number, before?: string): Promise<QueryReply> =>
    query(h, { caller: user(callerId), op: { $case: 'list', value: { limit, before } } });

  const sync = (h: Harness, callerId: string, since: Record<string, number>, limit: number): Promise<QueryReply> =>
    query(h, { caller: user(callerId), op: { $case: 'sync', value: { since, limit, changesSince: {} } } });

  /** A group created at `createdAt` (its activity time until a message is posted). */
  async function group(h: Harness, id: string, memberIds: string[], createdAt: number): Promise<void> {
    const [owner, ...rest] = memberIds;
    await h.store.createConversation(
      {
        id,
        kind: 'group',
        title: id,
        createdAt,
        members: [{ userId: owner!, role: 'owner' }, ...rest.map((userId) => ({ userId, role: 'member' as const }))],
      },
      EPOCH,
    );
  }

  /** Appends one message per sender, as an actor would, at times `at`, `at + 1`, … */
  async function post(h: Harness, conversationId: string, senders: string[], at: number): Promise<void> {
    const head = await h.store.loadConversation(conversationId);
    if (!head) throw new Error(`no conversation ${conversationId}`);
    const messages: ChatMessage[] = senders.map((senderId, i) => {
      const seq = head.lastSeq + 1 + i;
      return {
        conversationId,
        seq,
        id: `m_${conversationId}_${seq}`,
        senderId,
        clientMsgId: `k${seq}`,
        body: `${conversationId} #${seq}`,
        attachments: [],
        createdAt: at + i,
        editedAt: undefined,
        deleted: false,
        reactions: {},
        changeSeq: 0,
      };
    });
    await h.store.appendMessages({ conversationId, epoch: EPOCH, expectedLastSeq: head.lastSeq, messages });
  }

  it('register records the caller; search finds users by name or id prefix, case-insensitively, up to the limit', async () => {
    const h = start();
    for (const u of [user('alice', 'Alice Liddell'), user('bert', 'Albert'), user('alpha', 'Zed'), user('bob', 'Bob')]) {
      const reply = await query(h, { caller: u, op: { $case: 'register', value: { user: u } } });
      expect(reply.result?.$case).toBe('done');
    }

    const search = async (prefix: string, limit: number): Promise<string[]> => {
      const reply = await query(h, { caller: user('bob'), op: { $case: 'search', value: { prefix, limit } } });
      if (reply.result?.$case !== 'users') throw new Error(`expected users, got ${JSON.stringify(reply.result)}`);
      return reply.result.value.users.map((u) => `${u.id}:${u.name}`);
    };
    expect(await search('AL', 10)).toEqual(['bert:Albert', 'alice:Alice Liddell', 'alpha:Zed']);
    expect(await search('al', 2)).toEqual(['bert:Albert', 'alice:Alice Liddell']);
    expect(await search('bo', 10)).toEqual(['bob:Bob']);
    expect(await search('nobody', 10)).toEqual([]);

    // Registering again renames.
    await query(h, { caller: user('alice'), op: { $case: 'register', value: { user: user('alice', 'Alicia') } } });
    expect(await search('alic', 10)).toEqual(['alice:Alicia']);
  });

  it('users register themselves only; a query needs a caller and a known op', async () => {
    const h = start();
    const impostor = await query(h, { caller: user('mallory'), op: { $case: 'register', value: { user: user('alice', 'Evil') } } });
    expect(failureCode(impostor)).toBe('bad_request');
    expect(await h.store.getUsers(['alice'])).toEqual([]);

    const anonymous = await query(h, { caller: undefined, op: { $case: 'list', value: { limit: 10 } } });
    expect(failureCode(anonymous)).toBe('bad_request');
    const noOp = await query(h, { caller: user('alice'), op: undefined });
    expect(failureCode(noOp)).toBe('bad_request');
  });

  it('verifyBotToken answers the bot of a live token without a caller, and unauthorized once it is revoked', async () => {
    const h = start();
    const { user: bot, token } = await createBotAccount(h.store, 'Summarizer');
    const verify = (tokenHash: string) => query(h, { caller: undefined, op: { $case: 'verifyBotToken', value: { tokenHash } } });
    expect((await verify(botTokenHash(token))).result).toEqual({ $case: 'bot', value: { id: bot.id, name: 'Summarizer', bot: true } });
    expect(failureCode(await verify(botTokenHash(newBotToken())))).toBe('unauthorized');
    expect(failureCode(await verify('not a hash'))).toBe('bad_request');
    // Found by search like anyone, with the flag.
    const found = await query(h, { caller: user('alice'), op: { $case: 'search', value: { prefix: 'summ', limit: 5 } } });
    expect(found.result).toEqual({ $case: 'users', value: { users: [{ id: bot.id, name: 'Summarizer', bot: true }] } });
    await revokeBotAccount(h.store, bot.id);
    expect(failureCode(await verify(botTokenHash(token)))).toBe('unauthorized');
  });

  it('answers an undecodable query with bad_request', async () => {
    const h = start();
    // Field 31 with wire type 7: not protobuf.
    const msg = await h.bus.request(QUERY_SUBJECT, new Uint8Array([0xff, 0xff, 0xff, 0xff]), { timeoutMs: 10_000 });
    expect(failureCode(QueryReply.decode(msg.data))).toBe('bad_request');
  });

  it('lists the caller’s conversations, most recent activity first, page by page without repeats or gaps', async () => {
    const h = start();
    // Activity: g1 oldest … g5 newest; g3 becomes the newest with a message.
    for (let i = 1; i <= 5; i++) await group(h, `g${i}`, ['alice', 'bob'], T0 + i * 1000);
    await post(h, 'g3', ['bob', 'bob'], T0 + 10_000);
    await group(h, 'private', ['bob', 'carol'], T0 + 20_000);

    const pages: string[][] = [];
    let before: string | undefined;
    for (;;) {
      const reply = await list(h, 'alice', 2, before);
      if (reply.result?.$case !== 'page') throw new Error(`expected a page, got ${JSON.stringify(reply.result)}`);
      pages.push(reply.result.value.conversations.map((c) => c.id));
      before = reply.result.value.next;
      if (before === undefined) break;
      expect(pages.length).toBeLessThan(10);
    }
    expect(pages).toEqual([['g3', 'g5'], ['g4', 'g2'], ['g1']]);

    // The views are the caller's own: g3 has two unread messages from bob.
    const first = await list(h, 'alice', 1);
    if (first.result?.$case !== 'page') throw new Error('expected a page');
    expect(first.result.value.conversations[0]).toMatchObject({ id: 'g3', lastSeq: 2, unread: 2, readSeq: 0 });

    const bobs = await list(h, 'bob', 10);
    if (bobs.result?.$case !== 'page') throw new Error('expected a page');
    expect(bobs.result.value.conversations.map((c) => c.id)).toEqual(['private', 'g3', 'g5', 'g4', 'g2', 'g1']);
    expect(bobs.result.value.next).toBeUndefined();

    expect(failureCode(await list(h, 'alice', 2, 'not-a-cursor'))).toBe('bad_request');
  });

  it('sync returns only conversations that changed since the client’s marks, and those it does not know', async () => {
    const h = start();
    await group(h, 'c1', ['alice', 'bob'], T0);
    await group(h, 'c2', ['alice', 'carol'], T0);
    await group(h, 'c3', ['alice', 'bob', 'carol'], T0); // no messages yet
    await post(h, 'c1', ['alice', 'bob', 'bob'], T0 + 100);
    await post(h, 'c2', ['carol', 'alice'], T0 + 200);

    // Knows c1 fully and c2 up to 1; has never seen c3.
    const some = syncResult(await sync(h, 'alice', { c1: 3, c2: 1 }, 50));
    expect(some.conversations.map((c) => c.id).sort()).toEqual(['c2', 'c3']);
    expect(syncedSeqs(some)).toEqual({ c2: [2] });
    expect(some.messages.c2?.messages[0]?.body).toBe('c2 #2');
    expect(some.truncated).toEqual([]);

    // A fresh client gets everything.
    const all = syncResult(await sync(h, 'alice', {}, 50));
    expect(all.conversations.map((c) => c.id).sort()).toEqual(['c1', 'c2', 'c3']);
    expect(syncedSeqs(all)).toEqual({ c1: [1, 2, 3], c2: [1, 2] });
    expect(all.truncated).toEqual([]);
    const c1 = all.conversations.find((c) => c.id === 'c1');
    expect(c1).toMatchObject({ lastSeq: 3, unread: 2 });

    // Up to date: nothing at all.
    const none = syncResult(await sync(h, 'alice', { c1: 3, c2: 2, c3: 0 }, 50));
    expect(none).toEqual({ conversations: [], messages: {}, truncated: [], updated: {} });

    // A new message shows up in the next sync.
    await post(h, 'c3', ['bob'], T0 + 300);
    const later = syncResult(await sync(h, 'alice', { c1: 3, c2: 2, c3: 0 }, 50));
    expect(later.conversations.map((c) => c.id)).toEqual(['c3']);
    expect(syncedSeqs(later)).toEqual({ c3: [1] });
  });

  it('sync truncates a conversation with more new messages than the limit: its newest ones come, it is listed', async () => {
    const h = start();
    await group(h, 'busy', ['alice', 'bob'], T0);
    await group(h, 'quiet', ['alice', 'bob'], T0);
    await post(h, 'busy', Array.from({ length: 10 }, () => 'bob'), T0 + 100);
    await post(h, 'quiet', ['bob', 'bob'], T0 + 200);

    const result = syncResult(await sync(h, 'alice', { busy: 2 }, 3));
    expect(syncedSeqs(result)).toEqual({ busy: [8, 9, 10], quiet: [1, 2] });
    expect(result.truncated).toEqual(['busy']);
    expect(result.conversations.map((c) => c.id).sort()).toEqual(['busy', 'quiet']);

    // One more than the limit is truncated; exactly the limit is not.
    const oneOver = syncResult(await sync(h, 'alice', { busy: 6, quiet: 2 }, 3));
    expect(syncedSeqs(oneOver)).toEqual({ busy: [8, 9, 10] });
    expect(oneOver.truncated).toEqual(['busy']);
    const exact = syncResult(await sync(h, 'alice', { busy: 7, quiet: 2 }, 3));
    expect(syncedSeqs(exact)).toEqual({ busy: [8, 9, 10] });
    expect(exact.truncated).toEqual([]);
  });

  it('sync stays within maxSyncMessages over all conversations and lists every conversation it cut short', async () => {
    const h = start(5);
    for (const id of ['a', 'b', 'c']) {
      await group(h, id, ['alice', 'bob'], T0);
      await post(h, id, ['bob', 'bob', 'bob', 'bob'], T0 + 100);
    }

    const result = syncResult(await sync(h, 'alice', {}, 10));
    // Every changed conversation is announced, whatever the budget.
    expect(result.conversations.map((c) => c.id).sort()).toEqual(['a', 'b', 'c']);
    const seqs = syncedSeqs(result);
    const counts = ['a', 'b', 'c'].map((id) => seqs[id]?.length ?? 0);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(5);
    expect([...counts].sort()).toEqual([0, 1, 4]);
    for (const id of ['a', 'b', 'c']) {
      const got = seqs[id] ?? [];
      // Whatever comes is the newest messages, contiguous up to the head.
      expect(got).toEqual([1, 2, 3, 4].slice(4 - got.length));
      expect(result.truncated.includes(id)).toBe(got.length < 4);
    }
    expect(result.truncated).toHaveLength(2);
  });

  it('list and sync only ever return the caller’s own conversations', async () => {
    const h = start();
    await group(h, 'mine', ['alice', 'bob'], T0);
    await group(h, 'theirs', ['bob', 'carol'], T0 + 1000);
    await post(h, 'mine', ['bob'], T0 + 2000);
    await post(h, 'theirs', ['carol', 'bob'], T0 + 3000);

    const page = await list(h, 'alice', 50);
    if (page.result?.$case !== 'page') throw new Error('expected a page');
    expect(page.result.value.conversations.map((c) => c.id)).toEqual(['mine']);

    // Naming someone else's conversation in `since` does not reveal it.
    const asked = syncResult(await sync(h, 'alice', { theirs: 0 }, 50));
    expect(asked.conversations.map((c) => c.id)).toEqual(['mine']);
    expect(Object.keys(asked.messages)).toEqual(['mine']);
    expect(asked.truncated).toEqual([]);

    // A user in no conversation sees nothing.
    const outsider = syncResult(await sync(h, 'dave', { mine: 0, theirs: 0 }, 50));
    expect(outsider).toEqual({ conversations: [], messages: {}, truncated: [], updated: {} });
    const empty = await list(h, 'dave', 50);
    expect(empty.result).toEqual({ $case: 'page', value: { conversations: [], next: undefined } });
  });

  it('rooms lists the id of every conversation of the caller, and none of anyone else’s', async () => {
    const h = start();
    await group(h, 'mine', ['alice', 'bob'], T0);
    await group(h, 'also-mine', ['carol', 'alice'], T0 + 1000);
    await group(h, 'theirs', ['bob', 'carol'], T0 + 2000);
    await post(h, 'mine', ['bob', 'alice', 'bob'], T0 + 3000);
    await post(h, 'theirs', ['carol'], T0 + 4000);

    const rooms = async (callerId: string) => {
      const reply = await query(h, { caller: user(callerId), op: { $case: 'rooms', value: {} } });
      if (reply.result?.$case !== 'rooms') throw new Error(`expected rooms, got ${JSON.stringify(reply.result)}`);
      return [...reply.result.value.conversationIds].sort();
    };
    expect(await rooms('alice')).toEqual(['also-mine', 'mine']);
    expect(await rooms('dave')).toEqual([]);
  });

  it('stop() ends serving: later queries find no responder', async () => {
    const h = start();
    expect((await list(h, 'alice', 5)).result?.$case).toBe('page');
    await h.service.stop();
    await expect(list(h, 'alice', 5)).rejects.toBeInstanceOf(BusNoRespondersError);
  });
});
