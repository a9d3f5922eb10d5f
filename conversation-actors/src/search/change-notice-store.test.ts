import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeNotice } from '@chat/proto';
import { type ChangeFollower, ChangeFeedUnavailableError, NatsChangeFeed, NatsChangeFollower, type NatsBus, connectNatsBus, silentLogger } from '@chat/platform';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { message } from '@chat/testkit/store-contract';
import { StoreUnavailableError } from '../errors.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { ChangeNoticeStore } from './change-notice-store.js';

// The real SQLite store and a real nats-server: what reaches the follower is
// what an indexer would get.

describe('ChangeNoticeStore', () => {
  let nats: NatsServerProcess;
  let bus: NatsBus;
  let dir: string;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    bus = await connectNatsBus({ servers: nats.url, name: 'change-notice-store-test', logger: silentLogger() });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-notices-'));
  });
  afterAll(async () => {
    await bus.close();
    await nats.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function open() {
    const id = randomUUID().slice(0, 8);
    const settings = { stream: `N_${id}`, subjectPrefix: `n.${id}`, requestTimeoutMs: 1000 };
    const feed = await NatsChangeFeed.open(bus.connection, { ...settings, shards: 8 });
    const follower = await NatsChangeFollower.open(bus.connection, { ...settings, fetchWaitMs: 200 });
    const store = new ChangeNoticeStore(openSqliteStore({ dataDir: fs.mkdtempSync(path.join(dir, 's-')) }), feed);
    await store.createConversation({ id: 'c1', kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'ann', role: 'owner' }] }, 1);
    return { store, follower };
  }

  /** Every notice the follower has now (acknowledged). */
  async function drain(follower: ChangeFollower): Promise<ChangeNotice[]> {
    const got: ChangeNotice[] = [];
    for (;;) {
      const { notices } = await follower.next();
      if (notices.length === 0) return got;
      for (const d of notices) {
        got.push(d.notice);
        d.ack();
      }
    }
  }

  it('publishes a notice after an append, after one answered with duplicates, and after an update; none for a refused write', async () => {
    const { store, follower } = await open();
    try {
      const m1 = message('c1', 1, 'ann');
      await store.appendMessages({ conversationId: 'c1', epoch: 1, expectedLastSeq: 0, messages: [m1, message('c1', 2, 'ann')] });
      expect(await drain(follower)).toEqual([{ conversationId: 'c1', lastSeq: 2, changeSeq: 0 }]);

      // The same client message again: nothing is written, the notice is published again.
      const dup = await store.appendMessages({ conversationId: 'c1', epoch: 1, expectedLastSeq: 2, messages: [{ ...m1, seq: 3 }] });
      expect(dup.kind).toBe('duplicates');
      expect(await drain(follower)).toEqual([{ conversationId: 'c1', lastSeq: 2, changeSeq: 0 }]);

      await store.updateMessage({ epoch: 1, message: { ...m1, body: 'edited', editedAt: 5, changeSeq: 1 } });
      expect(await drain(follower)).toEqual([{ conversationId: 'c1', lastSeq: 0, changeSeq: 1 }]);

      // A write the store refuses (wrong head) publishes nothing.
      await expect(store.appendMessages({ conversationId: 'c1', epoch: 1, expectedLastSeq: 0, messages: [message('c1', 1, 'ann', { clientMsgId: 'x' })] })).rejects.toThrow();
      expect(await drain(follower)).toEqual([]);
    } finally {
      await follower.close();
      await store.close();
    }
  });

  it('passes the wrapped store’s probeWrite on (WriteHealthStore probes a store that cannot write through it)', async () => {
    const { store, follower } = await open();
    try {
      expect(store.probeWrite).toBeTypeOf('function');
      await store.probeWrite!();
    } finally {
      await follower.close();
      await store.close();
    }
  });

  it('fails a write whose notice cannot be published with StoreUnavailableError, the feed’s error as its cause, while the store kept it', async () => {
    const { store, follower } = await open();
    await follower.close();
    try {
      await nats.kill('SIGSTOP');
      const err = await store.appendMessages({ conversationId: 'c1', epoch: 1, expectedLastSeq: 0, messages: [message('c1', 1, 'ann')] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).cause).toBeInstanceOf(ChangeFeedUnavailableError);
      expect((await store.loadConversation('c1'))?.lastSeq).toBe(1);
    } finally {
      await nats.kill('SIGCONT');
      await store.close();
    }
  });
});
