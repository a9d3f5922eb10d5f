import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { message } from '@chat/testkit/store-contract';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';
import { prepareStatements } from './sqlite-statements.js';
import { UNREAD_WINDOW_SEQS, unreadCounts } from './sqlite-unread.js';

const USERS = ['amy', 'bob', 'cat', 'dan', 'eve'];
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

interface Msg {
  sender: number;
  mentions: string[] | undefined;
  deleted: boolean;
}

const mentionArb = fc.constantFrom(...USERS, '@all', '@here', 'stranger');
const msgArb: fc.Arbitrary<Msg> = fc.record({
  sender: fc.nat({ max: USERS.length - 1 }),
  mentions: fc.option(fc.array(mentionArb, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  deleted: fc.boolean(),
});

/** A group of USERS with `msgs` stored (some deleted) and each member's read mark at `reads[i]` (capped by the store). */
async function seeded(msgs: Msg[], reads: number[]): Promise<{ store: SqliteStore; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-unread-'));
  dirs.push(dataDir);
  const store = openSqliteStore({ dataDir });
  for (const id of USERS) await store.upsertUser({ id, name: id });
  await store.createConversation({ id: 'g', kind: 'group', title: 'g', createdAt: 1, members: USERS.map((userId, i) => ({ userId, role: i === 0 ? 'owner' : 'member' })) }, 1);
  if (msgs.length > 0) {
    const stored = msgs.map((m, i) => message('g', i + 1, USERS[m.sender]!, m.mentions ? { mentions: { ids: m.mentions } } : {}));
    await store.appendMessages({ conversationId: 'g', epoch: 1, expectedLastSeq: 0, messages: stored });
    for (const [i, m] of msgs.entries()) {
      if (m.deleted) await store.updateMessage({ epoch: 1, message: { ...stored[i]!, body: '', deleted: true, changeSeq: i + 1 } });
    }
  }
  for (const [i, userId] of USERS.entries()) {
    if (reads[i]! > 0) await store.markReceipt({ conversationId: 'g', userId, epoch: 1, readSeq: reads[i]! });
  }
  return { store, dataDir };
}

/** Each member's unread and mentions as getConversationViews counts them, one member at a time. */
async function oneByOne(store: SqliteStore): Promise<Record<string, [number, number | undefined]>> {
  const out: Record<string, [number, number | undefined]> = {};
  for (const userId of USERS) {
    const [view] = await store.getConversationViews(userId, ['g']);
    out[userId] = [view!.unread, view!.mentions];
  }
  return out;
}

describe('unread counts of many members at once (SQLite getMemberViews)', () => {
  it('equal the per-member counts: own, deleted, mentions by id, @all and @here, read marks anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(msgArb, { maxLength: 40 }), fc.array(fc.nat({ max: 45 }), { minLength: USERS.length, maxLength: USERS.length }), async (msgs, reads) => {
        const { store, dataDir } = await seeded(msgs, reads);
        try {
          const expected = await oneByOne(store);
          const views = await store.getMemberViews('g', USERS);
          const got = Object.fromEntries(views.map((v) => [v.userId, [v.view.unread, v.view.mentions]]));
          expect(got).toEqual(expected);
          // The same from one shared read (which five members alone would not use): both ways agree.
          const db = new Database(path.join(dataDir, 'chat.db'), { readonly: true });
          try {
            const marks = (await Promise.all(USERS.map((u) => store.getConversationViews(u, ['g'])))).map(([v], i) => ({ userId: USERS[i]!, readSeq: v!.readSeq }));
            const shared = unreadCounts(prepareStatements(db), 'g', msgs.length, marks, UNREAD_WINDOW_SEQS, 1);
            expect(Object.fromEntries([...shared].map(([u, c]) => [u, [c.unread, c.mentions || undefined]]))).toEqual(
              Object.fromEntries(Object.entries(expected).map(([u, [n, m]]) => [u, [n, m || undefined]])),
            );
          } finally {
            db.close();
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it('counts members whose read mark is before the shared window one by one, with the same result', async () => {
    const msgs: Msg[] = Array.from({ length: 30 }, (_, i) => ({ sender: i % USERS.length, mentions: i % 4 === 0 ? ['@all'] : i % 3 === 0 ? ['cat', 'cat'] : undefined, deleted: i % 7 === 0 }));
    const { store, dataDir } = await seeded(msgs, [0, 3, 12, 25, 30]);
    const expected = await oneByOne(store);
    await store.close();
    const db = new Database(path.join(dataDir, 'chat.db'), { readonly: true });
    try {
      const s = prepareStatements(db);
      const marks = USERS.map((userId, i) => ({ userId, readSeq: [0, 3, 12, 25, 30][i]! }));
      // A window of 10 seqs: amy and bob are before it (counted one by one), the others inside, eve read all.
      const counts = unreadCounts(s, 'g', 30, marks, 10, 1);
      expect(Object.fromEntries([...counts].map(([u, c]) => [u, [c.unread, c.mentions || undefined]]))).toEqual(expected);
    } finally {
      db.close();
    }
  });
});
