import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LivePg, startLivePg } from '@chat/testkit/live-pg';
import { SettlingSearchStore } from '@chat/testkit/settling-search';
import { message, runSearchContract } from '@chat/testkit/store-contract';
import { ForwardingStore } from '../store/forwarding-store.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { ChatStore } from '../store/store.js';
import { IndexedSearchStore } from './indexed-search-store.js';
import { openPgSearchIndex } from './postgres/pg-search-index.js';
import type { PgSearchIndex } from './postgres/pg-search-index.js';

let server: LivePg;
beforeAll(async () => {
  server = await startLivePg();
});
afterAll(async () => {
  await server?.destroy();
});

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'chat-pgsearch-'));

/** A SQLite store searched through the PostgreSQL index, caught up by settle() before each search of the contract. */
async function openIndexed(): Promise<{ store: IndexedSearchStore; settling: SettlingSearchStore; index: PgSearchIndex; dataDir: string }> {
  const dataDir = tempDir();
  const index = await openPgSearchIndex({ url: server.url, poolMax: 4 });
  const settling = new SettlingSearchStore(openSqliteStore({ dataDir }), index);
  return { store: new IndexedSearchStore(settling, index), settling, index, dataDir };
}

runSearchContract('SQLite store, PostgreSQL index', async () => {
  const { store, settling, dataDir } = await openIndexed();
  return {
    store,
    settleSearch: () => settling.settle(),
    cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
});

describe('IndexedSearchStore', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  const open = async () => {
    const opened = await openIndexed();
    cleanups.push(async () => {
      await opened.store.close();
      fs.rmSync(opened.dataDir, { recursive: true, force: true });
    });
    return opened;
  };
  const p = `u${Date.now()}`;
  const keys = (page: { hits: { message: { conversationId: string; seq: number } }[] }) => page.hits.map((h) => `${h.message.conversationId}/${h.message.seq}`);

  async function conversation(store: ChatStore, id: string, members: string[], bodies: string[]): Promise<void> {
    await store.createConversation({ id, kind: 'group', title: 't', createdAt: 1, members: members.map((userId) => ({ userId, role: 'member' })) }, 1);
    const messages = bodies.map((body, i) => message(id, i + 1, members[0]!, { body }));
    await store.appendMessages({ conversationId: id, epoch: 1, expectedLastSeq: 0, messages });
  }

  it('serves the store’s truth before the index catches up: no deleted message, no old text, no conversation the caller left', async () => {
    const { store, settling } = await open();
    const c = `${p}-truth`;
    await conversation(store, c, ['alice', 'bob'], ['harbour one', 'harbour two', 'harbour three']);
    await settling.settle();
    expect(keys(await store.searchMessages('bob', { text: 'harbour', limit: 10 }))).toEqual([`${c}/3`, `${c}/2`, `${c}/1`]);
    const [, second, third] = await store.readMessages(c, { limit: 10, direction: 'forward' });
    await store.updateMessage({ epoch: 1, message: { ...second!, body: 'station two', editedAt: 5, changeSeq: 1 } });
    await store.updateMessage({ epoch: 1, message: { ...third!, body: '', deleted: true, changeSeq: 2 } });
    // Not caught up: the index still says 1, 2, 3 match; the store says only 1 does.
    const page = await store.searchMessages('bob', { text: 'harbour', limit: 10 });
    expect(keys(page)).toEqual([`${c}/1`]);
    expect(page.hits[0]?.snippet).toBe('harbour one');
    await store.applyMembershipChange({ conversationId: c, epoch: 1, add: [], remove: ['bob'], roles: [], changeSeq: 3 });
    expect((await store.searchMessages('bob', { text: 'harbour', limit: 10 })).hits).toEqual([]);
  });

  it('has the wrapped store’s probeWrite, so a store that cannot write is still probed, and none when the store has none', async () => {
    const dataDir = tempDir();
    cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const sqlite = openSqliteStore({ dataDir });
    const store = new IndexedSearchStore(sqlite, await openPgSearchIndex({ url: server.url, poolMax: 1 }));
    expect(store.probeWrite).toBeTypeOf('function');
    await expect(store.probeWrite!()).resolves.toBeUndefined();
    const other = await openPgSearchIndex({ url: server.url, poolMax: 1 });
    expect(new IndexedSearchStore(new ForwardingStore(sqlite), other).probeWrite).toBeUndefined();
    await other.close();
    await store.close();
  });

  it('reads more candidates when the store drops some, and pages on with the index cursor', async () => {
    const { store, settling } = await open();
    const c = `${p}-refill`;
    await conversation(store, c, ['alice'], Array.from({ length: 30 }, (_, i) => `tide ${i}`));
    await settling.settle();
    const all = await store.readMessages(c, { limit: 100, direction: 'forward' });
    // The newest 8 deleted in the store, not yet in the index.
    for (const [i, m] of all.slice(22).entries()) await store.updateMessage({ epoch: 1, message: { ...m, body: '', deleted: true, changeSeq: i + 1 } });
    const first = await store.searchMessages('alice', { text: 'tide', limit: 5 });
    expect(keys(first)).toEqual([22, 21, 20, 19, 18].map((s) => `${c}/${s}`));
    const second = await store.searchMessages('alice', { text: 'tide', limit: 5, before: first.next! });
    expect(keys(second)).toEqual([17, 16, 15, 14, 13].map((s) => `${c}/${s}`));
  });
});
