import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NatsChangeFollower, Registry, type NatsBus, NatsChangeFeed, connectNatsBus, silentLogger } from '@chat/platform';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { message } from '@chat/testkit/store-contract';
import { ChangeNoticeStore } from '../search/change-notice-store.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { ChatStore } from '../store/store.js';
import { Indexer } from './indexer.js';
import { IndexerMetrics } from './indexer-metrics.js';

// A real nats-server and a real SQLite store. The catch-up passed in is the
// indexer's boundary (search/catch-up.ts): this one records how far each
// conversation was read from the store, which is what the indexer must get
// right; the real one with PostgreSQL is exercised by the cluster test.

describe('Indexer on a real change feed', () => {
  let nats: NatsServerProcess;
  let bus: NatsBus;
  let dir: string;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    bus = await connectNatsBus({ servers: nats.url, name: 'indexer-test', logger: silentLogger() });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-indexer-'));
  });
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });
  afterAll(async () => {
    await bus.close();
    await nats.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function setup() {
    const id = randomUUID().slice(0, 8);
    const settings = { stream: `I_${id}`, subjectPrefix: `i.${id}` };
    const sqlite = openSqliteStore({ dataDir: fs.mkdtempSync(path.join(dir, 's-')) });
    const store = new ChangeNoticeStore(sqlite, await NatsChangeFeed.open(bus.connection, { ...settings, shards: 4 }));
    stops.push(() => store.close());
    /** How far each conversation was read (its lastSeq and changeSeq at the catch-up). */
    const indexed = new Map<string, { lastSeq: number; changeSeq: number }>();
    let failing = false;
    let slowMs = 2;
    const calls = new Map<string, number>();
    let running = 0;
    let overlap = false;
    const active = new Set<string>();
    const catchUp = async (conversationId: string) => {
      if (active.has(conversationId)) overlap = true;
      active.add(conversationId);
      running++;
      try {
        calls.set(conversationId, (calls.get(conversationId) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, slowMs));
        if (failing) throw new Error('index down');
        const head = await sqlite.loadConversation(conversationId);
        if (head) indexed.set(conversationId, { lastSeq: head.lastSeq, changeSeq: head.changeSeq });
        return { newestCreatedAt: head && head.lastSeq > 0 ? Date.now() - 5 : undefined };
      } finally {
        running--;
        active.delete(conversationId);
      }
    };
    const registry = new Registry();
    const metrics = new IndexerMetrics(registry);
    const start = async () => {
      const follower = await NatsChangeFollower.open(bus.connection, { ...settings, fetchWaitMs: 100, checkMs: 300, ackWaitMs: 1000 });
      const indexer = new Indexer({ follower, catchUp, store: sqlite, metrics, concurrency: 4, retryBaseMs: 50, retryMaxMs: 200, reconcilePage: 3, heartbeatMs: 300 });
      indexer.start();
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await indexer.stop();
      };
      stops.push(stop);
      return { indexer, stop };
    };
    return {
      store,
      sqlite,
      indexed,
      start,
      registry,
      setFailing: (f: boolean) => (failing = f),
      setSlow: (ms: number) => (slowMs = ms),
      calls,
      overlap: () => overlap,
      running: () => running,
    };
  }

  async function seed(store: ChatStore, conversations: string[], perConversation: number): Promise<void> {
    for (const c of conversations) {
      await store.createConversation({ id: c, kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'ann', role: 'owner' }] }, 1);
      for (let seq = 1; seq <= perConversation; seq++) await store.appendMessages({ conversationId: c, epoch: 1, expectedLastSeq: seq - 1, messages: [message(c, seq, 'ann')] });
    }
  }

  async function until(check: () => boolean, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const caughtUp = (indexed: Map<string, { lastSeq: number }>, conversations: string[], lastSeq: number) => () =>
    conversations.every((c) => (indexed.get(c)?.lastSeq ?? 0) >= lastSeq);

  it('reconciles what was written before it first started, then follows every write, never two catch-ups of one conversation at once', async () => {
    const t = await setup();
    const before = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];
    await seed(t.sqlite, before, 2); // written past the feed: only a reconcile finds them
    await t.start();
    await until(caughtUp(t.indexed, before, 2));

    const after = ['b1', 'b2', 'b3'];
    await seed(t.store, after, 20);
    await until(caughtUp(t.indexed, after, 20));
    await t.store.updateMessage({ epoch: 1, message: { ...message('b1', 3, 'ann'), body: 'edited', changeSeq: 1 } });
    await until(() => t.indexed.get('b1')?.changeSeq === 1);
    expect(t.overlap()).toBe(false);
    const text = await t.registry.metrics();
    expect(text).toMatch(/chat_indexer_reconcile_runs_total\{outcome="done"\} 1/);
    expect(text).toMatch(/chat_indexer_lag_seconds_count [1-9]/);
    expect(text).toMatch(/chat_indexer_notices_total [1-9]/);
  });

  it('acknowledges nothing while catch-ups fail, and applies every change once they work again', async () => {
    const t = await setup();
    const first = await t.start();
    await seed(t.store, ['x0'], 1);
    await until(caughtUp(t.indexed, ['x0'], 1));

    t.setFailing(true);
    await seed(t.store, ['x1', 'x2'], 5);
    await new Promise((r) => setTimeout(r, 500));
    expect(t.indexed.has('x1')).toBe(false);
    // Stopped while failing: nothing was acknowledged, so a new indexer gets the notices again.
    await first.stop();
    t.setFailing(false);
    await t.start();
    await until(caughtUp(t.indexed, ['x1', 'x2'], 5));
  });

  it('an indexer stopped in the middle of writes and started again resumes where it was: every write ends up applied', async () => {
    const t = await setup();
    const first = await t.start();
    const writers = ['k1', 'k2', 'k3', 'k4'];
    const writing = seed(t.store, writers, 30);
    await new Promise((r) => setTimeout(r, 200));
    await first.stop();
    await t.start();
    await writing;
    await until(caughtUp(t.indexed, writers, 30));
  });

  it('a catch-up that outlasts the ack wait keeps its notice: it is not delivered again while the indexer lives', async () => {
    const t = await setup();
    await t.start();
    await seed(t.store, ['w0'], 1);
    await until(caughtUp(t.indexed, ['w0'], 1));
    t.setSlow(2500); // 2.5 ack waits
    const before = t.calls.get('w0') ?? 0;
    await t.store.appendMessages({ conversationId: 'w0', epoch: 1, expectedLastSeq: 1, messages: [message('w0', 2, 'ann')] });
    await until(caughtUp(t.indexed, ['w0'], 2));
    t.setSlow(2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(t.calls.get('w0')! - before, 'catch-ups of w0 for its one notice').toBe(1);
  });
});
