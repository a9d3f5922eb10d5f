import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { BusNoRespondersError, type Clock, LocalBus, silentLogger } from '@chat/platform';
import {
  ActorReply,
  ActorRequest,
  type ChatMessage,
  DEFAULT_LIMITS,
  Event,
  newGroupId,
  shardOf,
  shardSubject,
  type User,
  userEventsSubject,
  GROUPS_CREATED_SUBJECT,
} from '@chat/proto';
import { StaleEpochError, StoreCannotWriteError, StoreUnavailableError } from '../errors.js';
import { ActorMetrics } from '../metrics.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store.js';
import { ForwardingStore } from '../store/forwarding-store.js';
import type { AppendBatch, AppendResult } from '../store/store.js';
import { ActorHost } from './actor-host.js';
import { StaticOwnership } from './shard-ownership.js';

const SHARDS = 8;
const EPOCH = 1;

/** StaticOwnership whose leases the test can let lapse (epochOf answers undefined, as past a lease deadline). */
class LapsingOwnership extends StaticOwnership {
  lapsed = false;
  override epochOf(shard: number): number | undefined {
    return this.lapsed ? undefined : super.epochOf(shard);
  }
}

/** Time that moves only when the test says so. */
class ManualClock implements Clock {
  t = 1_700_000_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

type Append = (batch: AppendBatch) => Promise<AppendResult>;

/**
 * The real SqliteStore, every method delegated; appendMessages can be
 * intercepted to inject what the real store cannot produce on demand
 * (a held-open write, an outage, a fencing refusal).
 */
class InterceptingStore extends ForwardingStore {
  /** Runs instead of the plain delegation when set; `real` is the real store's append. */
  onAppend: ((batch: AppendBatch, real: Append) => Promise<AppendResult>) | undefined;

  override appendMessages(batch: AppendBatch): Promise<AppendResult> {
    const real: Append = (b) => this.inner.appendMessages(b);
    return this.onAppend ? this.onAppend(batch, real) : real(batch);
  }
}

/** A promise the test opens by hand. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

interface Harness {
  store: SqliteStore;
  wrapped: InterceptingStore;
  ownership: LapsingOwnership;
  bus: LocalBus;
  metrics: ActorMetrics;
  registry: Registry;
  clock: ManualClock;
  host: ActorHost;
}

const user = (id: string): User => ({ id, name: `${id[0]!.toUpperCase()}${id.slice(1)}` });

function sendReq(
  conversationId: string,
  callerId: string,
  clientMsgId: string,
  body = clientMsgId,
  lane: { sessionId: string; laneSeq: number; laneAfter: number } = { sessionId: '', laneSeq: 0, laneAfter: 0 },
): ActorRequest {
  return {
    caller: user(callerId),
    conversationId,
    receivedAt: 0,
    ...lane,
    op: { $case: 'send', value: { clientMsgId, body, attachments: [] } },
  };
}

function createGroupReq(conversationId: string, callerId: string, memberIds: string[]): ActorRequest {
  return {
    caller: user(callerId),
    conversationId,
    receivedAt: 0,
    sessionId: '',
    laneSeq: 0,
    laneAfter: 0,
    op: { $case: 'createGroup', value: { title: 'team', memberIds } },
  };
}

/** The seq of a successful send reply; throws with the reply otherwise. */
function seqOf(reply: ActorReply): number {
  if (reply.result?.$case !== 'send' || !reply.result.value.message) {
    throw new Error(`expected a send result, got ${JSON.stringify(reply.result)}`);
  }
  return reply.result.value.message.seq;
}

function failureCode(reply: ActorReply): string | undefined {
  return reply.result?.$case === 'failure' ? reply.result.value.code : undefined;
}

describe('ActorHost over the bus', () => {
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    vi.useRealTimers();
  });

  async function start(options: { idleMs?: number; mailboxCapacity?: number; maxBatch?: number } = {}): Promise<Harness> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-host-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const store = openSqliteStore({ dataDir });
    cleanups.push(() => store.close());
    const bus = new LocalBus();
    cleanups.push(() => bus.close());
    const wrapped = new InterceptingStore(store);
    const registry = new Registry();
    const metrics = new ActorMetrics(registry);
    const clock = new ManualClock();
    const ownership = new LapsingOwnership(SHARDS, EPOCH);
    const host = new ActorHost({
      bus,
      store: wrapped,
      ownership,
      shardCount: SHARDS,
      limits: DEFAULT_LIMITS,
      logger: silentLogger(),
      metrics,
      clock,
      idleMs: options.idleMs ?? 60_000,
      mailboxCapacity: options.mailboxCapacity ?? 1000,
      maxBatch: options.maxBatch ?? 64,
    });
    await host.start();
    cleanups.push(() => host.stop());
    for (const id of ['alice', 'bob', 'carol', 'dave']) await store.upsertUser(user(id));
    return { store, wrapped, ownership, bus, metrics, registry, clock, host };
  }

  /** What a gateway does: encode, request on the conversation's shard subject, decode. */
  async function call(h: Harness, req: ActorRequest, subject = shardSubject(shardOf(req.conversationId, SHARDS))): Promise<ActorReply> {
    const msg = await h.bus.request(subject, ActorRequest.encode(req).finish(), { timeoutMs: 10_000 });
    return ActorReply.decode(msg.data);
  }

  /** Every event published on any conversation's subject (what gateways fan out to members), decoded, in arrival order. */
  function conversationEvents(h: Harness): Event[] {
    const seen: Event[] = [];
    h.bus.subscribe('chat.conv.>', (msg) => seen.push(Event.decode(msg.data)));
    return seen;
  }

  /** Every event published to a user's subject, decoded, in arrival order. */
  function events(h: Harness, userId: string): Event[] {
    const seen: Event[] = [];
    h.bus.subscribe(userEventsSubject(userId), (msg) => seen.push(Event.decode(msg.data)));
    return seen;
  }

  const newMessages = (seen: Event[]): ChatMessage[] =>
    seen.flatMap((e) => (e.kind?.$case === 'messageNew' ? [e.kind.value] : []));

  async function createGroup(h: Harness, members = ['bob', 'carol']): Promise<string> {
    const id = newGroupId();
    const reply = await call(h, createGroupReq(id, 'alice', members));
    if (reply.result?.$case !== 'conversation') throw new Error(`createGroup failed: ${JSON.stringify(reply.result)}`);
    return id;
  }

  async function storedBodies(h: Harness, conversationId: string): Promise<[number, string][]> {
    const rows = await h.store.readMessages(conversationId, { limit: 1000, direction: 'forward' });
    return rows.map((m) => [m.seq, m.body]);
  }

  async function activeActors(h: Harness): Promise<number | undefined> {
    return (await h.metrics.activeActors.get()).values[0]?.value;
  }

  it('creates a group and sequences its messages 1..n, in the order one session sent them', async () => {
    const h = await start();
    const id = newGroupId();
    const created = await call(h, createGroupReq(id, 'alice', ['bob', 'carol']));
    expect(created.result?.$case).toBe('conversation');
    if (created.result?.$case !== 'conversation') return;
    const view = created.result.value.conversation;
    expect(view?.id).toBe(id);
    expect(view?.lastSeq).toBe(0);
    expect(view?.members.map((m) => [m.userId, m.role]).sort()).toEqual([
      ['alice', 'owner'],
      ['bob', 'member'],
      ['carol', 'member'],
    ]);

    // Sent without waiting for each reply: they still get seqs in sending order.
    const senders = ['alice', 'bob', 'alice', 'carol', 'bob', 'alice'];
    const replies = await Promise.all(senders.map((s, i) => call(h, sendReq(id, s, `c${i}`, `body ${i}`))));
    expect(replies.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const [i, reply] of replies.entries()) {
      if (reply.result?.$case !== 'send') throw new Error('not a send');
      expect(reply.result.value.duplicate).toBe(false);
      expect(reply.result.value.message?.senderId).toBe(senders[i]);
      expect(reply.result.value.message?.body).toBe(`body ${i}`);
    }
    expect(await storedBodies(h, id)).toEqual(senders.map((_, i) => [i + 1, `body ${i}`]));

    // A retry is answered with the original and creates nothing.
    const retry = await call(h, sendReq(id, 'carol', 'c3', 'body 3 again'));
    expect(retry.result?.$case === 'send' && retry.result.value.duplicate).toBe(true);
    expect(seqOf(retry)).toBe(4);
    expect((await call(h, sendReq(id, 'bob', 'next'))).result).toMatchObject({ $case: 'send', value: { message: { seq: 7 } } });
  });

  it('keeps a session’s lane in order: refuses a request whose predecessor it has not answered, takes it once it has', async () => {
    const h = await start();
    const id = await createGroup(h);
    const lane = (laneSeq: number, laneAfter: number) => ({ sessionId: 'session-1', laneSeq, laneAfter });
    // Request 2 overtook request 1 (e.g. 1 is being retried after a shard move): refused, nothing stored.
    const early = await call(h, sendReq(id, 'alice', 'second', 'second', lane(2, 1)));
    expect(failureCode(early)).toBe('unavailable');
    expect(await storedBodies(h, id)).toEqual([]);
    // In order, pipelined in one batch: both taken, in lane order.
    const [first, second] = await Promise.all([
      call(h, sendReq(id, 'alice', 'first', 'first', lane(1, 0))),
      call(h, sendReq(id, 'alice', 'second', 'second', lane(2, 1))),
    ]);
    expect([seqOf(first!), seqOf(second!)]).toEqual([1, 2]);
    // Another session's lane is independent, and a non-send op waits its turn too.
    expect(failureCode(await call(h, sendReq(id, 'bob', 'b2', 'b2', { sessionId: 'session-2', laneSeq: 2, laneAfter: 1 })))).toBe('unavailable');
    expect(seqOf(await call(h, sendReq(id, 'bob', 'b1', 'b1', { sessionId: 'session-2', laneSeq: 1, laneAfter: 0 })))).toBe(3);
    expect(await storedBodies(h, id)).toEqual([
      [1, 'first'],
      [2, 'second'],
      [3, 'b1'],
    ]);
  });

  it('publishes each message.new once, on the conversation’s subject, in seq order; users’ subjects carry none', async () => {
    const h = await start();
    const published = conversationEvents(h);
    const perUser = Object.fromEntries(['alice', 'bob', 'carol', 'dave'].map((u) => [u, events(h, u)]));
    const created: Event[] = [];
    h.bus.subscribe(GROUPS_CREATED_SUBJECT, (msg) => created.push(Event.decode(msg.data)));
    const id = await createGroup(h);
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(h, sendReq(id, i % 2 === 0 ? 'alice' : 'bob', `m${i}`, `hello ${i}`))),
    );
    expect(replies.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await h.bus.flush();

    // The new group went out once, one view listing every member, for all of them.
    expect(created).toHaveLength(1);
    const view = created[0]!.kind?.$case === 'conversationUpdated' ? created[0]!.kind.value : undefined;
    expect(view?.id).toBe(id);
    expect(view?.members.map((m) => m.userId)).toEqual(['alice', 'bob', 'carol']);

    const got = newMessages(published);
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(got.map((m) => m.body)).toEqual(Array.from({ length: 10 }, (_, i) => `hello ${i}`));
    expect(got.every((m) => m.conversationId === id)).toBe(true);
    for (const user of ['alice', 'bob', 'carol', 'dave']) expect(perUser[user], user).toEqual([]);

    // A non-member cannot post, and their refused send publishes nothing.
    const refused = await call(h, sendReq(id, 'dave', 'intruder'));
    expect(failureCode(refused)).toBe('forbidden');
    await h.bus.flush();
    expect(newMessages(published)).toHaveLength(10);
    expect(perUser.dave).toEqual([]);
    expect((await storedBodies(h, id)).length).toBe(10);
  });

  it('answers a request that reached the wrong shard subject with unavailable and does nothing', async () => {
    const h = await start();
    const id = newGroupId();
    const wrong = shardSubject((shardOf(id, SHARDS) + 1) % SHARDS);
    const reply = await call(h, createGroupReq(id, 'alice', ['bob']), wrong);
    expect(failureCode(reply)).toBe('unavailable');
    expect(await h.store.loadConversation(id)).toBeNull();

    // The right subject works, and a misrouted send is refused without a seq.
    await call(h, createGroupReq(id, 'alice', ['bob']));
    expect(failureCode(await call(h, sendReq(id, 'alice', 'x'), wrong))).toBe('unavailable');
    expect(seqOf(await call(h, sendReq(id, 'alice', 'y')))).toBe(1);
    expect(await storedBodies(h, id)).toEqual([[1, 'y']]);
  });

  it('answers an undecodable request, or one with an unsafe conversation id, with bad_request', async () => {
    const h = await start();
    // Field 31 with wire type 7: not protobuf.
    const junk = await h.bus.request(shardSubject(0), new Uint8Array([0xff, 0xff, 0xff, 0xff]), { timeoutMs: 10_000 });
    expect(failureCode(ActorReply.decode(junk.data))).toBe('bad_request');

    const unsafe = 'chat.user.bob';
    const reply = await call(h, sendReq(unsafe, 'alice', 'x'), shardSubject(shardOf(unsafe, SHARDS)));
    expect(failureCode(reply)).toBe('bad_request');
  });

  it('passivates an idle actor; the next request reloads the head from the store and continues with no gap', async () => {
    // Only the host's sweeper interval is faked; the bus and the store run on real timers.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const h = await start({ idleMs: 1000 });
    const id = await createGroup(h);
    expect(seqOf(await call(h, sendReq(id, 'alice', 'a1')))).toBe(1);
    expect(seqOf(await call(h, sendReq(id, 'bob', 'b1')))).toBe(2);
    expect(await activeActors(h)).toBe(1);

    // Sweeps while the actor has not been idle for idleMs leave it alone.
    h.clock.advance(500);
    vi.advanceTimersByTime(1000);
    expect(await activeActors(h)).toBe(1);

    h.clock.advance(600);
    vi.advanceTimersByTime(1000);
    expect(await activeActors(h)).toBe(0);

    // Someone else moves the stored head while no actor holds it in memory.
    await h.store.appendMessages({
      conversationId: id,
      epoch: EPOCH,
      expectedLastSeq: 2,
      messages: [
        {
          conversationId: id,
          seq: 3,
          id: 'm_external',
          senderId: 'carol',
          clientMsgId: 'external',
          body: 'written elsewhere',
          attachments: [],
          createdAt: h.clock.now(),
          deleted: false,
          reactions: {},
          changeSeq: 0,
        },
      ],
    });

    expect(seqOf(await call(h, sendReq(id, 'alice', 'a2')))).toBe(4);
    expect(await activeActors(h)).toBe(1);
    // A retry of a send from before passivation is still a duplicate (the store remembers the key).
    const retry = await call(h, sendReq(id, 'alice', 'a1'));
    expect(retry.result?.$case === 'send' && retry.result.value.duplicate).toBe(true);
    expect(seqOf(retry)).toBe(1);
    expect((await storedBodies(h, id)).map(([seq]) => seq)).toEqual([1, 2, 3, 4]);
  });

  it('answers the overflow of a full mailbox with unavailable; the waiting requests still succeed', async () => {
    const h = await start({ mailboxCapacity: 1 });
    const id = await createGroup(h);
    expect(seqOf(await call(h, sendReq(id, 'alice', 's1')))).toBe(1);

    const entered = gate();
    const release = gate();
    h.wrapped.onAppend = async (batch, real) => {
      entered.open();
      await release.opened;
      return real(batch);
    };
    const inWrite = call(h, sendReq(id, 'alice', 's2'));
    await entered.opened; // the actor is inside its store write; its mailbox is empty
    const waiting = call(h, sendReq(id, 'bob', 's3')); // takes the only slot
    const overflow = call(h, sendReq(id, 'carol', 's4')); // finds no room

    const refused = await overflow;
    expect(failureCode(refused)).toBe('unavailable');

    release.open();
    expect(seqOf(await inWrite)).toBe(2);
    expect(seqOf(await waiting)).toBe(3);

    // The refused send was never stored: its retry is new and takes the next seq.
    h.wrapped.onAppend = undefined;
    const retry = await call(h, sendReq(id, 'carol', 's4'));
    expect(retry.result?.$case === 'send' && retry.result.value.duplicate).toBe(false);
    expect(seqOf(retry)).toBe(4);
    expect((await storedBodies(h, id)).map(([, body]) => body)).toEqual(['s1', 's2', 's3', 's4']);
  });

  it('drops a fenced actor: the refused send and those queued behind it are unavailable; a fresh actor continues', async () => {
    const h = await start();
    const published = conversationEvents(h);
    const id = await createGroup(h);
    expect(seqOf(await call(h, sendReq(id, 'alice', 'f1')))).toBe(1);
    expect(seqOf(await call(h, sendReq(id, 'bob', 'f2')))).toBe(2);
    expect(await activeActors(h)).toBe(1);

    const entered = gate();
    const release = gate();
    let fenced = false;
    h.wrapped.onAppend = async (batch, real) => {
      if (fenced) return real(batch);
      fenced = true;
      entered.open();
      await release.opened;
      throw new StaleEpochError(batch.conversationId, batch.epoch, batch.epoch + 1);
    };
    const refusedSend = call(h, sendReq(id, 'alice', 'f3'));
    await entered.opened;
    const queued = call(h, sendReq(id, 'carol', 'f4'));
    await h.bus.flush(); // the second send now waits in the fenced actor's mailbox
    release.open();

    expect(failureCode(await refusedSend)).toBe('unavailable');
    // The fenced actor must not serve the conversation any more, not even what it had queued.
    expect(failureCode(await queued)).toBe('unavailable');
    expect(await activeActors(h)).toBe(0);

    // The new owner wrote meanwhile.
    await h.store.appendMessages({
      conversationId: id,
      epoch: EPOCH,
      expectedLastSeq: 2,
      messages: [
        {
          conversationId: id,
          seq: 3,
          id: 'm_new_owner',
          senderId: 'bob',
          clientMsgId: 'by-new-owner',
          body: 'new owner',
          attachments: [],
          createdAt: h.clock.now(),
          deleted: false,
          reactions: {},
          changeSeq: 0,
        },
      ],
    });

    // The next request activates a fresh actor, which reads the head from the store.
    expect(seqOf(await call(h, sendReq(id, 'alice', 'f5')))).toBe(4);
    expect(await activeActors(h)).toBe(1);
    expect(await storedBodies(h, id)).toEqual([
      [1, 'f1'],
      [2, 'f2'],
      [3, 'new owner'],
      [4, 'f5'],
    ]);
    // Nothing refused was broadcast.
    await h.bus.flush();
    expect(newMessages(published).map((m) => m.body)).toEqual(['f1', 'f2', 'f5']);
  });

  it('edits, reacts and deletes through the mailbox, publishing message.updated to members; a fenced edit is refused and drops the actor', async () => {
    const h = await start();
    const published = conversationEvents(h);
    const daveSees = events(h, 'dave');
    const id = await createGroup(h);
    expect(seqOf(await call(h, sendReq(id, 'alice', 'u1')))).toBe(1);
    const mutate = (callerId: string, op: ActorRequest['op']) =>
      call(h, { caller: user(callerId), conversationId: id, receivedAt: 0, sessionId: '', laneSeq: 0, laneAfter: 0, op });
    const messageOf = (reply: ActorReply) => (reply.result?.$case === 'message' ? reply.result.value.message : undefined);

    expect(messageOf(await mutate('alice', { $case: 'edit', value: { seq: 1, body: 'edited' } }))).toMatchObject({ body: 'edited', editedAt: h.clock.now() });
    expect(failureCode(await mutate('bob', { $case: 'edit', value: { seq: 1, body: 'no' } }))).toBe('forbidden');
    expect(failureCode(await mutate('dave', { $case: 'react', value: { seq: 1, emoji: '👍', add: true } }))).toBe('forbidden');
    expect(failureCode(await mutate('bob', { $case: 'delete', value: { seq: 2 } }))).toBe('not_found');
    expect(messageOf(await mutate('bob', { $case: 'react', value: { seq: 1, emoji: '👍', add: true } }))?.reactions).toEqual({ '👍': { ids: ['bob'] } });
    await h.bus.flush();
    const updated = published.flatMap((e) => (e.kind?.$case === 'messageUpdated' ? [e.kind.value] : []));
    expect(updated.map((m) => [m.body, Object.keys(m.reactions)])).toEqual([
      ['edited', []],
      ['edited', ['👍']],
    ]);
    expect(daveSees).toEqual([]);

    // A new owner records a higher epoch; this host's next write is fenced off.
    const [stored] = await h.store.readMessages(id, { limit: 1, direction: 'forward' });
    await h.store.updateMessage({ epoch: EPOCH + 1, message: stored! });
    expect(failureCode(await mutate('alice', { $case: 'delete', value: { seq: 1 } }))).toBe('unavailable');
    expect(await activeActors(h)).toBe(0);
    expect((await h.store.readMessages(id, { limit: 1, direction: 'forward' }))[0]?.deleted).toBe(false);
    await h.bus.flush();
    expect(published.filter((e) => e.kind?.$case === 'messageUpdated')).toHaveLength(2);
  });

  it('marks receipts through the mailbox, publishing receipt to members only when a mark moves; a fenced mark is refused and drops the actor', async () => {
    const h = await start();
    const published = conversationEvents(h);
    const daveSees = events(h, 'dave');
    const id = await createGroup(h);
    for (const k of ['r1', 'r2', 'r3']) await call(h, sendReq(id, 'alice', k));
    const markAs = (callerId: string, value: { deliveredSeq?: number; readSeq?: number }) =>
      call(h, { caller: user(callerId), conversationId: id, receivedAt: 0, sessionId: '', laneSeq: 0, laneAfter: 0, op: { $case: 'markReceipt', value } });
    const marksOf = (reply: ActorReply) => (reply.result?.$case === 'receipt' ? reply.result.value : reply.result);

    expect(marksOf(await markAs('bob', { readSeq: 2 }))).toEqual({ deliveredSeq: 2, readSeq: 2 });
    expect(marksOf(await markAs('bob', { deliveredSeq: 1 }))).toEqual({ deliveredSeq: 2, readSeq: 2 });
    expect(marksOf(await markAs('bob', { deliveredSeq: 9 }))).toEqual({ deliveredSeq: 3, readSeq: 2 });
    expect(failureCode(await markAs('dave', { readSeq: 1 }))).toBe('forbidden');
    await h.bus.flush();
    const receipts = (seen: Event[]) => seen.flatMap((e) => (e.kind?.$case === 'receipt' ? [e.kind.value] : []));
    expect(receipts(published)).toEqual([
      { conversationId: id, userId: 'bob', deliveredSeq: 2, readSeq: 2 },
      { conversationId: id, userId: 'bob', deliveredSeq: 3, readSeq: 2 },
    ]);
    expect(daveSees).toEqual([]);

    // A new owner records a higher epoch; this host's next mark is fenced off and stores nothing.
    const [stored] = await h.store.readMessages(id, { limit: 1, direction: 'forward' });
    await h.store.updateMessage({ epoch: EPOCH + 1, message: stored! });
    expect(failureCode(await markAs('bob', { readSeq: 3 }))).toBe('unavailable');
    expect(await activeActors(h)).toBe(0);
    const [bobs] = await h.store.getConversationViews('bob', [id]);
    expect(bobs).toMatchObject({ deliveredSeq: 3, readSeq: 2, unread: 1 });
    await h.bus.flush();
    expect(receipts(published)).toHaveLength(2);
  });

  it('answers unavailable while the store is down, acknowledges and broadcasts nothing, and continues with no gap', async () => {
    const h = await start();
    const published = conversationEvents(h);
    const id = await createGroup(h);
    expect(seqOf(await call(h, sendReq(id, 'alice', 'u1')))).toBe(1);

    h.wrapped.onAppend = () => Promise.reject(new StoreUnavailableError('store unreachable'));
    const down = await Promise.all([call(h, sendReq(id, 'alice', 'u2')), call(h, sendReq(id, 'bob', 'u3'))]);
    expect(down.map(failureCode)).toEqual(['unavailable', 'unavailable']);
    // One failed write (the two sends were one batch or two), counted as the store being unreachable.
    const errors = (await h.metrics.storeErrors.get()).values.filter((v) => v.value > 0);
    expect(errors.map((v) => v.labels.kind)).toEqual(['unavailable']);
    expect(errors[0]!.value).toBeGreaterThanOrEqual(1);
    expect(await storedBodies(h, id)).toEqual([[1, 'u1']]);
    expect((await h.store.loadConversation(id))?.lastSeq).toBe(1);
    await h.bus.flush();
    expect(newMessages(published).map((m) => m.seq)).toEqual([1]);

    // The store recovers: the retries are new messages with the next seqs.
    h.wrapped.onAppend = undefined;
    const retried = await Promise.all([call(h, sendReq(id, 'alice', 'u2')), call(h, sendReq(id, 'bob', 'u3'))]);
    expect(retried.map(seqOf)).toEqual([2, 3]);
    expect(retried.every((r) => r.result?.$case === 'send' && !r.result.value.duplicate)).toBe(true);
    expect(await storedBodies(h, id)).toEqual([
      [1, 'u1'],
      [2, 'u2'],
      [3, 'u3'],
    ]);
    await h.bus.flush();
    expect(newMessages(published).map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('marks a write the store cannot take (disk full) not to be resent, and lets the session’s next request through at once', async () => {
    const h = await start();
    const id = await createGroup(h);
    const lane = (laneSeq: number, laneAfter: number) => ({ sessionId: 'session-full', laneSeq, laneAfter });
    // What the SQLite store throws when the file system refuses the commit.
    h.wrapped.onAppend = () => Promise.reject(new StoreCannotWriteError('appendMessages: SQLite commit failed: database or disk is full'));
    const refused = await call(h, sendReq(id, 'alice', 'f1', 'f1', lane(1, 0)));
    expect(refused.result).toMatchObject({ $case: 'failure', value: { code: 'unavailable', noRetry: true } });
    // A plain outage stays worth resending.
    h.wrapped.onAppend = () => Promise.reject(new StoreUnavailableError('store unreachable'));
    const outage = await call(h, sendReq(id, 'bob', 'o1'));
    expect(outage.result).toMatchObject({ $case: 'failure', value: { code: 'unavailable' } });
    expect(outage.result?.$case === 'failure' && outage.result.value.noRetry).toBeFalsy();
    // The gateway does not resend the refused request, so the session's next one (sent while it was in flight) is served.
    h.wrapped.onAppend = undefined;
    expect(seqOf(await call(h, sendReq(id, 'alice', 'f2', 'f2', lane(2, 1))))).toBe(1);
    expect(await storedBodies(h, id)).toEqual([[1, 'f2']]);
  });

  it('after a write that failed but was stored, reloads the head: the retry is a duplicate and the next send follows it', async () => {
    const h = await start();
    const id = await createGroup(h);
    expect(seqOf(await call(h, sendReq(id, 'alice', 'w1')))).toBe(1);

    // The write lands, but the answer is lost (a timeout after commit).
    h.wrapped.onAppend = async (batch, real) => {
      await real(batch);
      throw new StoreUnavailableError('timed out');
    };
    expect(failureCode(await call(h, sendReq(id, 'alice', 'w2')))).toBe('unavailable');

    h.wrapped.onAppend = undefined;
    const retry = await call(h, sendReq(id, 'alice', 'w2'));
    expect(retry.result?.$case === 'send' && retry.result.value.duplicate).toBe(true);
    expect(seqOf(retry)).toBe(2);
    expect(seqOf(await call(h, sendReq(id, 'bob', 'w3')))).toBe(3);
    expect((await storedBodies(h, id)).map(([seq, body]) => `${seq}:${body}`)).toEqual(['1:w1', '2:w2', '3:w3']);
  });

  it('does not acknowledge a write that completed after the lease lapsed; the retry finds the stored original', async () => {
    const h = await start();
    const published = conversationEvents(h);
    const id = await createGroup(h);
    expect(seqOf(await call(h, sendReq(id, 'alice', 'l1')))).toBe(1);

    // The write succeeds, but the lease deadline passes while it is in flight.
    h.wrapped.onAppend = async (batch, real) => {
      const result = await real(batch);
      h.ownership.lapsed = true;
      return result;
    };
    expect(failureCode(await call(h, sendReq(id, 'alice', 'l2')))).toBe('unavailable');
    await h.bus.flush();
    expect(newMessages(published).map((m) => m.body)).toEqual(['l1']);

    // The lease is back (a new owner, here the same host): the retry is answered with the stored original.
    h.wrapped.onAppend = undefined;
    h.ownership.lapsed = false;
    const retry = await call(h, sendReq(id, 'alice', 'l2'));
    expect(retry.result?.$case === 'send' && retry.result.value.duplicate).toBe(true);
    expect(seqOf(retry)).toBe(2);
    expect(seqOf(await call(h, sendReq(id, 'bob', 'l3')))).toBe(3);
  });

  it('stop() drains: every request queued before it is answered and stored; then nothing is served', async () => {
    const h = await start();
    const id = await createGroup(h);
    const entered = gate();
    const release = gate();
    h.wrapped.onAppend = async (batch, real) => {
      entered.open();
      await release.opened;
      return real(batch);
    };
    const pending = Array.from({ length: 5 }, (_, i) => call(h, sendReq(id, i % 2 === 0 ? 'alice' : 'bob', `d${i}`)));
    await entered.opened;
    await h.bus.flush(); // one send is in its store write, the other four wait in the mailbox

    let stopped = false;
    const stopping = h.host.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false); // still draining

    release.open();
    await stopping;
    const replies = await Promise.all(pending);
    expect(replies.map(seqOf)).toEqual([1, 2, 3, 4, 5]);
    expect((await storedBodies(h, id)).map(([, body]) => body)).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
    expect(await activeActors(h)).toBe(0);

    await expect(call(h, sendReq(id, 'alice', 'late'))).rejects.toBeInstanceOf(BusNoRespondersError);
  });
});
