import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BadRequestError, SeqConflictError, StoreUnavailableError } from '../../errors.js';
import { boundView } from '@chat/proto';
import type { AppendBatch } from '../store.js';
import { message, runStoreContract } from '@chat/testkit/store-contract';
import { SCHEMA_VERSION, SEARCH_SCHEMA_VERSION } from './schema.js';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';

/** Takes a file back to before schema version 5 (no search index; 11 only moved indexing after the commit). */
const DROP_SEARCH = `DROP TRIGGER messages_search_insert; DROP TRIGGER messages_search_update; DROP TRIGGER messages_search_delete;
  DROP TABLE message_search; DROP TABLE message_search_rows; DROP TABLE search_progress;`;
/** Undoes versions 6 to 10 (replies, threads, mentions, the open-streams index; 9 only narrowed a trigger): with DROP_SEARCH, back to exactly version 4. */
const DROP_MESSAGE_EXTENSIONS = `DROP INDEX messages_streaming;
  ALTER TABLE messages DROP COLUMN mentions;
  DROP INDEX messages_by_thread;
  ALTER TABLE messages DROP COLUMN thread_root;
  ALTER TABLE messages DROP COLUMN thread_replies;
  ALTER TABLE messages DROP COLUMN thread_last_at;
  ALTER TABLE messages DROP COLUMN reply_to;`;

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'chat-sqlite-'));

runStoreContract('SQLite', async () => {
  const dataDir = tempDir();
  return {
    store: openSqliteStore({ dataDir }),
    reopen: async () => openSqliteStore({ dataDir }),
    openBounded: async (viewMembers) => openSqliteStore({ dataDir, viewMembers }),
    cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
});

describe('SqliteStore with viewMembers (views bounded in the store)', () => {
  it('lists exactly the members proto’s boundView keeps, with memberCount, for every viewer, in views and in the list', async () => {
    const dataDir = tempDir();
    const whole = openSqliteStore({ dataDir });
    const bounded = openSqliteStore({ dataDir, viewMembers: 3 });
    try {
      const ids = ['zoe', 'amy', 'bob', 'cat', 'dan', 'eve', 'fay'];
      for (const id of ids) await whole.upsertUser({ id, name: id });
      // zoe owns the group: last by id, first in view order.
      await whole.createConversation({ id: 'g', kind: 'group', title: 'g', createdAt: 1, members: ids.map((userId, i) => ({ userId, role: i === 0 ? 'owner' : 'member' })) }, 1);
      await whole.applyMembershipChange({ conversationId: 'g', epoch: 1, add: [], remove: [], roles: [{ userId: 'eve', role: 'admin' }], changeSeq: 1 });
      await whole.createConversation({ id: 's', kind: 'group', title: 's', createdAt: 2, members: [{ userId: 'fay', role: 'owner' }, { userId: 'amy', role: 'member' }] }, 1);
      for (const viewer of ids) {
        const [full] = await whole.getConversationViews(viewer, ['g']);
        const expected = boundView(full!, viewer, 3);
        expect(await bounded.getConversationViews(viewer, ['g'])).toEqual([expected]);
        expect((await bounded.listUserConversations(viewer, { limit: 10 })).conversations.find((c) => c.id === 'g')).toEqual(expected);
        expect(expected.members.map((m) => m.userId)).toContain(viewer);
      }
      expect((await bounded.getConversationViews('fay', ['g']))[0]!.members.map((m) => m.userId)).toEqual(['zoe', 'eve', 'fay']);
      expect((await bounded.getConversationViews('amy', ['g']))[0]!.members.map((m) => m.userId)).toEqual(['zoe', 'eve', 'amy']);
      // A small group is whole, in the store's order, and counted.
      const [small] = await bounded.getConversationViews('amy', ['s']);
      expect(small).toEqual(boundView((await whole.getConversationViews('amy', ['s']))[0]!, 'amy', 3));
      expect(small!.memberCount).toBe(2);
    } finally {
      await bounded.close();
      await whole.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('SqliteStore', () => {
  const dirs: string[] = [];
  const closers: (() => unknown)[] = [];

  function dir(): string {
    const d = tempDir();
    dirs.push(d);
    return d;
  }

  function open(dataDir: string, options: { busyTimeoutMs?: number } = {}): SqliteStore {
    const store = openSqliteStore({ dataDir, ...options });
    closers.push(() => store.close());
    return store;
  }

  function raw(file: string): Database.Database {
    const db = new Database(file);
    closers.push(() => db.close());
    return db;
  }

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function conversation(store: SqliteStore, id = 'c', epoch = 1): Promise<void> {
    await store.createConversation(
      { id, kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'alice', role: 'owner' }, { userId: 'bob', role: 'member' }] },
      epoch,
    );
  }

  it('creates its directory and file, in WAL mode with the current schema', async () => {
    const dataDir = path.join(dir(), 'nested', 'data');
    const store = open(dataDir, {});
    const file = path.join(dataDir, 'chat.db');
    expect(fs.existsSync(file)).toBe(true);
    const db = raw(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    // synchronous and busy_timeout are per connection: read the store's own.
    const own = (store as unknown as { db: Database.Database }).db;
    expect(own.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(own.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(own.pragma('foreign_keys', { simple: true })).toBe(1);

    const other = openSqliteStore({ dataDir, fileName: 'other.db' });
    closers.push(() => other.close());
    expect(fs.existsSync(path.join(dataDir, 'other.db'))).toBe(true);
  });

  it('a second store on the same file sees the first one’s writes and is fenced by them', async () => {
    const dataDir = dir();
    const a = open(dataDir);
    const b = open(dataDir);
    await conversation(a);
    await a.upsertUser({ id: 'alice', name: 'Alice' });
    const m1 = message('c', 1, 'alice');
    await a.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [m1] });

    expect(await b.getUsers(['alice'])).toEqual([{ id: 'alice', name: 'Alice' }]);
    expect(await b.readMessages('c', { limit: 10, direction: 'forward' })).toEqual([m1]);
    expect((await b.loadConversation('c'))?.lastSeq).toBe(1);

    // b's idea of the head is stale if it still thinks lastSeq is 0.
    await expect(
      b.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [message('c', 1, 'bob')] }),
    ).rejects.toBeInstanceOf(SeqConflictError);
    // The same create from the other store converges on the first.
    const again = await b.createConversation({ id: 'c', kind: 'dm', title: null, createdAt: 9, members: [] }, 1);
    expect(again.created).toBe(false);
  });

  it('writes concurrent appends to many conversations together, and one refused append leaves the others written', async () => {
    const store = open(dir());
    for (const id of ['a', 'b', 'c2']) await conversation(store, id, 2);
    const results = await Promise.allSettled([
      store.appendMessages({ conversationId: 'a', epoch: 2, expectedLastSeq: 0, messages: [message('a', 1, 'alice')] }),
      // Fenced: epoch 1 is older than the recorded 2.
      store.appendMessages({ conversationId: 'b', epoch: 1, expectedLastSeq: 0, messages: [message('b', 1, 'alice')] }),
      store.appendMessages({ conversationId: 'c2', epoch: 2, expectedLastSeq: 0, messages: [message('c2', 1, 'alice'), message('c2', 2, 'bob')] }),
      // Conflict: a's head is not at 5.
      store.appendMessages({ conversationId: 'a', epoch: 2, expectedLastSeq: 5, messages: [message('a', 6, 'bob')] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect((await store.loadConversation('a'))?.lastSeq).toBe(1);
    expect((await store.loadConversation('b'))?.lastSeq).toBe(0);
    expect((await store.readMessages('c2', { limit: 10, direction: 'forward' })).map((m) => m.seq)).toEqual([1, 2]);
    await store.close();
  });

  it('appends a batch of 500 messages in one call', async () => {
    const store = open(dir());
    await conversation(store);
    const messages = Array.from({ length: 500 }, (_, i) => message('c', i + 1, i % 2 ? 'alice' : 'bob'));
    expect(await store.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages })).toEqual({ kind: 'appended' });
    expect((await store.loadConversation('c'))?.lastSeq).toBe(500);
    const stored = await store.readMessages('c', { limit: 1000, direction: 'forward' });
    expect(stored).toHaveLength(500);
    expect(stored.at(-1)).toEqual(messages.at(-1));
  });

  it('checkpoints its WAL into the database file on a thread of its own, soon after commits', async () => {
    const dataDir = dir();
    const store = open(dataDir);
    await conversation(store);
    // One commit per append: 50 small transactions, far below SQLite's own
    // automatic checkpoint (1,000 pages), which alone would leave them in the WAL.
    for (let seq = 1; seq <= 50; seq++) {
      await store.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: seq - 1, messages: [message('c', seq, 'alice')] });
    }
    // The database file alone, without its WAL, holds what was checkpointed.
    const inMainFile = (): number => {
      const copy = path.join(dir(), 'copy.db');
      fs.copyFileSync(path.join(dataDir, 'chat.db'), copy);
      const db = raw(copy);
      // Until the first checkpoint even the schema is only in the WAL.
      const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'messages'").get();
      return table ? (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n : 0;
    };
    const deadline = Date.now() + 3000;
    let count = inMainFile();
    while (count < 50 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      count = inMainFile();
    }
    expect(count).toBe(50);
  });

  it('returns a deleted message without its body and attachments, and does not store them', async () => {
    const dataDir = dir();
    const store = open(dataDir);
    await conversation(store);
    const attachments = [{ name: 'a.png', mediaType: 'image/png', size: 1, url: 'https://x/a.png' }];
    const m = message('c', 1, 'alice', { body: 'secret', attachments, deleted: true });
    await store.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [m] });
    const [stored] = await store.readMessages('c', { limit: 1, direction: 'forward' });
    expect(stored).toEqual({ ...m, body: '', attachments: [] });
    const row = raw(path.join(dataDir, 'chat.db')).prepare('SELECT body, attachments FROM messages').get();
    expect(row).toEqual({ body: '', attachments: '[]' });
  });

  it('refuses a malformed batch with BadRequestError and writes nothing', async () => {
    const store = open(dir());
    await conversation(store);
    const batches: [string, AppendBatch][] = [
      ['empty', { conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [] }],
      ['gap', { conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [message('c', 1, 'alice'), message('c', 3, 'alice')] }],
      ['wrong first seq', { conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [message('c', 2, 'alice')] }],
      ['other conversation', { conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [message('d', 1, 'alice')] }],
      [
        'repeated clientMsgId',
        { conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [message('c', 1, 'alice'), message('c', 2, 'alice', { clientMsgId: 'client-1' })] },
      ],
    ];
    for (const [what, batch] of batches) {
      await expect(store.appendMessages(batch), what).rejects.toBeInstanceOf(BadRequestError);
    }
    expect((await store.loadConversation('c'))?.lastSeq).toBe(0);
    expect(await store.readMessages('c', { limit: 10, direction: 'forward' })).toEqual([]);
  });

  it('turns constraint violations and bad limits into BadRequestError, not driver errors', async () => {
    const store = open(dir());
    await expect(
      store.createConversation(
        // A role outside the enum, as a caller bypassing the types might send.
        { id: 'c', kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'a', role: 'king' as 'owner' }] },
        1,
      ),
    ).rejects.toBeInstanceOf(BadRequestError);
    expect(await store.loadConversation('c')).toBeNull();
    await expect(store.searchUsers('a', 0)).rejects.toBeInstanceOf(BadRequestError);
    await expect(store.listUserConversations('a', { limit: 0 })).rejects.toBeInstanceOf(BadRequestError);
    await expect(store.readMessages('c', { limit: -1, direction: 'forward' })).rejects.toBeInstanceOf(BadRequestError);
  });

  it('fails a write blocked by another process’s lock with StoreUnavailableError after the busy timeout', async () => {
    const dataDir = dir();
    const store = open(dataDir, { busyTimeoutMs: 50 });
    await conversation(store);
    const other = raw(path.join(dataDir, 'chat.db'));
    other.exec('BEGIN IMMEDIATE');
    const err: unknown = await store
      .appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [message('c', 1, 'alice')] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    // The driver's error crosses from the writer thread as an Error with its code.
    expect((err as StoreUnavailableError).cause).toBeInstanceOf(Error);
    expect(((err as StoreUnavailableError).cause as { code: string }).code).toMatch(/^SQLITE_BUSY/);
    other.exec('ROLLBACK');
    // Once the lock is gone the same append goes through.
    expect(
      await store.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [message('c', 1, 'alice')] }),
    ).toEqual({ kind: 'appended' });
  });

  it('refuses a file written by a newer schema', () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'chat.db');
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openSqliteStore({ dataDir })).toThrow(StoreUnavailableError);
  });

  it('migrates a version-1 file: the change counters appear as 0, the data stays, and they work', async () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'chat.db');
    const first = openSqliteStore({ dataDir });
    await conversation(first);
    await first.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [message('c', 1, 'alice'), message('c', 2, 'bob')] });
    await first.close();
    // Back to exactly what version 1 created: no change_seq columns, no index on them.
    const db = new Database(file);
    db.exec(`${DROP_SEARCH}
      ${DROP_MESSAGE_EXTENSIONS}
      DROP INDEX messages_by_change;
      ALTER TABLE messages DROP COLUMN streaming;
      ALTER TABLE messages DROP COLUMN truncated;
      ALTER TABLE messages DROP COLUMN change_seq;
      ALTER TABLE conversations DROP COLUMN change_seq;
      PRAGMA user_version = 1;`);
    db.close();

    const store = open(dataDir);
    expect(raw(file).pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(await store.loadConversation('c')).toMatchObject({ lastSeq: 2, changeSeq: 0 });
    const [, second] = await store.readMessages('c', { limit: 10, direction: 'forward' });
    expect(second).toMatchObject({ seq: 2, body: 'message 2', changeSeq: 0 });
    await store.updateMessage({ epoch: 1, message: { ...second!, body: 'edited', changeSeq: 1 } });
    expect(await store.readChangedMessages('c', { afterChangeSeq: 0, maxSeq: 2, limit: 5 })).toMatchObject([{ seq: 2, body: 'edited', changeSeq: 1 }]);
    expect((await store.loadConversation('c'))?.changeSeq).toBe(1);
  });

  it('migrates a file from before the search index: its messages become searchable, oldest first, deleted ones left out', async () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'chat.db');
    const first = openSqliteStore({ dataDir });
    await conversation(first);
    const old = [message('c', 1, 'alice', { body: 'tea time' }), message('c', 2, 'bob', { body: 'tea gone' }), message('c', 3, 'bob', { body: 'more tea' })];
    await first.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: old });
    await first.updateMessage({ epoch: 1, message: { ...old[1]!, body: '', deleted: true, changeSeq: 1 } });
    await first.close();
    const db = new Database(file);
    db.exec(`${DROP_SEARCH} ${DROP_MESSAGE_EXTENSIONS} PRAGMA user_version = ${SEARCH_SCHEMA_VERSION - 1};`);
    db.close();

    const store = open(dataDir);
    expect(raw(file).pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const page = await store.searchMessages('bob', { text: 'tea', limit: 10 });
    expect(page.hits.map((h) => h.message.seq)).toEqual([3, 1]);
    await store.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 3, messages: [message('c', 4, 'alice', { body: 'tea again' })] });
    expect((await store.searchMessages('bob', { text: 'tea', limit: 10 })).hits.map((h) => h.message.seq)).toEqual([4, 3, 1]);
  });

  it('indexes new messages a moment after their commit, with no search asking', async () => {
    const dataDir = dir();
    const store = open(dataDir);
    await conversation(store);
    for (let seq = 1; seq <= 3; seq++) {
      await store.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: seq - 1, messages: [message('c', seq, 'alice', { body: `quokka ${seq}` })] });
    }
    const db = raw(path.join(dataDir, 'chat.db'));
    const indexed = (): number => db.prepare("SELECT count(*) FROM message_search WHERE message_search MATCH 'quokka'").pluck().get() as number;
    const deadline = Date.now() + 5000;
    while (indexed() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(indexed()).toBe(3);
    expect(db.prepare('SELECT indexed_through FROM search_progress').pluck().get()).toBe(db.prepare('SELECT max(id) FROM message_search_rows').pluck().get());
  });

  it('finds messages left unindexed by a crash after their commit, with the edits and deletes made since', async () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'chat.db');
    const first = openSqliteStore({ dataDir });
    await conversation(first);
    const [m1, m2, m3] = [message('c', 1, 'alice', { body: 'apple pie' }), message('c', 2, 'bob', { body: 'apple tart' }), message('c', 3, 'bob', { body: 'apple cake' })];
    await first.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [m1!, m2!, m3!] });
    await first.close();
    // What a crash between the commit and the indexing leaves: the rows, an empty index, the watermark behind.
    const db = new Database(file);
    db.exec("INSERT INTO message_search (message_search) VALUES ('delete-all'); UPDATE search_progress SET indexed_through = 0;");
    db.close();

    const store = open(dataDir);
    await store.updateMessage({ epoch: 1, message: { ...m2!, body: 'banana tart', editedAt: 5, changeSeq: 1 } });
    await store.updateMessage({ epoch: 1, message: { ...m3!, body: '', deleted: true, changeSeq: 2 } });
    const seqs = async (text: string): Promise<number[]> => (await store.searchMessages('bob', { text, limit: 10 })).hits.map((h) => h.message.seq);
    expect(await seqs('apple')).toEqual([1]);
    expect(await seqs('banana')).toEqual([2]);
    expect(await seqs('cake')).toEqual([]);
    // Indexed by now: an edit re-indexes at once.
    await store.updateMessage({ epoch: 1, message: { ...m1!, body: 'cherry pie', editedAt: 6, changeSeq: 3 } });
    expect(await seqs('apple')).toEqual([]);
    expect(await seqs('cherry')).toEqual([1]);
  });

  it('indexes a message whose search rowid SQLite reused below the watermark', async () => {
    const store = open(dir());
    await conversation(store);
    const first = message('c', 1, 'alice', { body: 'kiwi one' });
    await store.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 0, messages: [first] });
    expect((await store.searchMessages('bob', { text: 'kiwi', limit: 10 })).hits).toHaveLength(1); // indexed: the watermark is at its rowid
    // Deleting the only message frees its rowid, which the next message gets again.
    await store.updateMessage({ epoch: 1, message: { ...first, body: '', deleted: true, changeSeq: 1 } });
    await store.appendMessages({ conversationId: 'c', epoch: 1, expectedLastSeq: 1, messages: [message('c', 2, 'alice', { body: 'kiwi two' })] });
    expect((await store.searchMessages('bob', { text: 'kiwi', limit: 10 })).hits.map((h) => h.message.seq)).toEqual([2]);
  });

  it('searches for a user in more conversations than the index filter takes: still only their own conversations', async () => {
    const store = open(dir());
    const many = 520; // above MAX_CONVERSATION_FILTER (sqlite-search.ts): the members join alone filters
    await Promise.all(
      Array.from({ length: many }, (_, i) =>
        store.createConversation({ id: `c${i}`, kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'alice', role: 'owner' }] }, 1),
      ),
    );
    await store.createConversation({ id: 'other', kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'bob', role: 'owner' }] }, 1);
    await store.appendMessages({ conversationId: 'c7', epoch: 1, expectedLastSeq: 0, messages: [message('c7', 1, 'alice', { body: 'walrus one' })] });
    await store.appendMessages({ conversationId: 'other', epoch: 1, expectedLastSeq: 0, messages: [message('other', 1, 'bob', { body: 'walrus two' })] });
    await store.appendMessages({ conversationId: `c${many - 1}`, epoch: 1, expectedLastSeq: 0, messages: [message(`c${many - 1}`, 1, 'alice', { body: 'walrus three' })] });
    const page = await store.searchMessages('alice', { text: 'walrus', limit: 10 });
    expect(page.hits.map((h) => h.message.body)).toEqual(['walrus three', 'walrus one']);
    expect((await store.searchMessages('bob', { text: 'walrus', limit: 10 })).hits.map((h) => h.message.body)).toEqual(['walrus two']);
  });

  it('reopens an existing file without touching its data', async () => {
    const dataDir = dir();
    const first = openSqliteStore({ dataDir });
    await conversation(first);
    await first.close();
    await first.close(); // closing twice is harmless
    const second = open(dataDir);
    expect((await second.loadConversation('c'))?.members).toHaveLength(2);
  });
});
