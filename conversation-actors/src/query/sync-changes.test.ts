import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sync } from '@chat/proto';
import { message } from '@chat/testkit/store-contract';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store.js';
import { needsSync, readUpdatedMessages } from './sync-changes.js';

const sync = (fields: Partial<Sync>): Sync => ({ since: {}, limit: 50, changesSince: {}, ...fields });

describe('sync-changes', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A store holding conversations `ids`, each with 4 messages of which 1, 2 and 4 were changed (changeSeq 1, 2, 3). */
  async function changedStore(ids: string[]): Promise<SqliteStore> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-sync-changes-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const store = openSqliteStore({ dataDir });
    cleanups.push(() => store.close());
    for (const id of ids) {
      await store.createConversation({ id, kind: 'group', title: id, createdAt: 1, members: [{ userId: 'alice', role: 'owner' }] }, 1);
      const messages = [1, 2, 3, 4].map((seq) => message(id, seq, 'alice'));
      await store.appendMessages({ conversationId: id, epoch: 1, expectedLastSeq: 0, messages });
      for (const [i, seq] of [1, 2, 4].entries()) {
        await store.updateMessage({ epoch: 1, message: { ...messages[seq - 1]!, body: `edited ${seq}`, editedAt: 2, changeSeq: i + 1 } });
      }
    }
    return store;
  }

  it('needsSync: unknown, new messages, or (only with a changesSince mark) a higher changeSeq', () => {
    const head = { conversationId: 'c', lastSeq: 4, changeSeq: 3 };
    expect(needsSync(head, sync({}))).toBe(true);
    expect(needsSync(head, sync({ since: { c: 3 } }))).toBe(true);
    expect(needsSync(head, sync({ since: { c: 4 } }))).toBe(false);
    expect(needsSync(head, sync({ since: { c: 4 }, changesSince: { c: 2 } }))).toBe(true);
    expect(needsSync(head, sync({ since: { c: 4 }, changesSince: { c: 3 } }))).toBe(false);
  });

  it('reads, per conversation with both marks, the changed messages up to since; the budget cuts across conversations', async () => {
    const store = await changedStore(['a', 'b', 'c']);
    const heads = await store.userConversationHeads('alice');
    const seqs = (r: Awaited<ReturnType<typeof readUpdatedMessages>>) =>
      Object.fromEntries(Object.entries(r.updated).map(([id, list]) => [id, list.messages.map((m) => m.seq)]));

    // a: changes after 1 up to seq 3; b: no changesSince mark; c: not in since.
    const some = await readUpdatedMessages(store, heads, sync({ since: { a: 3, b: 4 }, changesSince: { a: 1, c: 0 } }), 100);
    expect(seqs(some)).toEqual({ a: [2] });
    expect(some).toMatchObject({ truncated: [], count: 1 });
    expect(some.updated.a?.messages[0]).toMatchObject({ body: 'edited 2', changeSeq: 2 });

    // Every conversation has 3 changed messages; a budget of 4 gives 3 to the first, 1 to the next, none to the last.
    const all = sync({ since: { a: 4, b: 4, c: 4 }, changesSince: { a: 0, b: 0, c: 0 } });
    const cut = await readUpdatedMessages(store, heads, all, 4);
    const counts = Object.values(seqs(cut)).map((s) => s.length);
    expect(counts.sort()).toEqual([1, 3]);
    expect(cut.count).toBe(4);
    expect(cut.truncated).toHaveLength(2);
    for (const id of ['a', 'b', 'c']) {
      const got = seqs(cut)[id] ?? [];
      // The newest changed ones; a conversation cut short (or left out) is truncated.
      expect(got).toEqual([1, 2, 4].slice(3 - got.length));
      expect(cut.truncated.includes(id)).toBe(got.length < 3);
    }

    // The per-conversation limit: the highest seqs, truncated.
    const limited = await readUpdatedMessages(store, heads, { ...all, limit: 2 }, 100);
    expect(seqs(limited)).toEqual({ a: [2, 4], b: [2, 4], c: [2, 4] });
    expect([...limited.truncated].sort()).toEqual(['a', 'b', 'c']);
  });
});
