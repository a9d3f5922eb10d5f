import type Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../errors.js';

/**
 * The schema version this code writes and understands, kept in
 * `PRAGMA user_version`. Bump it and add a step to MIGRATIONS for every change.
 */
export const SCHEMA_VERSION = 11;

/**
 * Version 1. Every table is WITHOUT ROWID: each has a natural primary key and
 * is read through it, so the rows live in the key's b-tree with no second lookup.
 */
const V1 = `
-- name_lower and id_lower are lowercased in JS (full Unicode, unlike SQLite's
-- ASCII-only lower()) so a prefix search is a range scan of an index.
CREATE TABLE IF NOT EXISTS users (
  id         TEXT NOT NULL PRIMARY KEY,
  name       TEXT NOT NULL,
  name_lower TEXT NOT NULL,
  id_lower   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS users_by_name_lower ON users (name_lower, id);
CREATE INDEX IF NOT EXISTS users_by_id_lower ON users (id_lower);

-- The head of each conversation: last_seq and epoch are the fencing tokens
-- appendMessages checks and moves in the same transaction as the messages.
CREATE TABLE IF NOT EXISTS conversations (
  id               TEXT NOT NULL PRIMARY KEY,
  kind             TEXT NOT NULL CHECK (kind IN ('dm', 'group')),
  title            TEXT,
  created_at       INTEGER NOT NULL,
  last_seq         INTEGER NOT NULL DEFAULT 0,
  last_activity_at INTEGER NOT NULL,
  epoch            INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS members (
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  user_id         TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  joined_at       INTEGER NOT NULL,
  read_seq        INTEGER NOT NULL DEFAULT 0,
  delivered_seq   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
-- A user's conversations (listing, sync heads).
CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id, conversation_id);

-- attachments: JSON array of Attachment; reactions: JSON object emoji -> userId[].
CREATE TABLE IF NOT EXISTS messages (
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  seq             INTEGER NOT NULL,
  id              TEXT NOT NULL,
  sender_id       TEXT NOT NULL,
  client_msg_id   TEXT NOT NULL,
  body            TEXT NOT NULL,
  attachments     TEXT NOT NULL DEFAULT '[]',
  created_at      INTEGER NOT NULL,
  edited_at       INTEGER,
  deleted         INTEGER NOT NULL DEFAULT 0,
  reactions       TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
-- Idempotency of message.send, across restarts.
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_key ON messages (conversation_id, sender_id, client_msg_id);
`;

/**
 * Version 2: change counters for sync's changesSince (docs/protocol.md).
 * conversations.change_seq counts edits, deletes, reactions, membership and
 * title changes; messages.change_seq is the conversation's change_seq at the
 * message's latest change. Existing rows start at 0 (nothing changed since).
 * The index serves readChangedMessages: a range of change_seq within one
 * conversation (the primary key's seq rides along in every index entry).
 */
const V2 = `
ALTER TABLE conversations ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS messages_by_change ON messages (conversation_id, change_seq);
`;

/**
 * Version 3: bot accounts (ChatStore.createBot). A user is a bot when it has a
 * bots row; users itself is untouched, so an upsertUser (a login, a register)
 * can never make a bot a person or a person a bot. token_hash is the SHA-256
 * of the bot's token, cleared when the token is revoked: a revoked token is
 * not even stored. UNIQUE allows any number of NULLs.
 */
const V3 = `
CREATE TABLE IF NOT EXISTS bots (
  id         TEXT NOT NULL PRIMARY KEY REFERENCES users (id),
  token_hash TEXT UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;
`;

/**
 * Version 4: streamed messages (docs/protocol.md). streaming is
 * NULL for an ordinary message, 1 while a streamed one grows, 0 once it is
 * finished; truncated is 1 when its stream broke and it was finished with
 * what had arrived.
 */
const V4 = `
ALTER TABLE messages ADD COLUMN streaming INTEGER;
ALTER TABLE messages ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0;
`;

/**
 * What the search update trigger does (V5, and V9 which only narrows when it
 * runs): re-index the message under its rowid, or drop it from the index
 * once it is deleted or streaming.
 */
const SEARCH_UPDATE_BODY = `BEGIN
  DELETE FROM message_search WHERE rowid = (SELECT id FROM message_search_rows WHERE conversation_id = old.conversation_id AND seq = old.seq);
  DELETE FROM message_search_rows WHERE conversation_id = old.conversation_id AND seq = old.seq
    AND (new.deleted != 0 OR coalesce(new.streaming, 0) != 0);
  INSERT OR IGNORE INTO message_search_rows (conversation_id, seq)
    SELECT new.conversation_id, new.seq WHERE new.deleted = 0 AND coalesce(new.streaming, 0) = 0;
  INSERT INTO message_search (rowid, body, conv)
    SELECT id, new.body, hex(new.conversation_id) FROM message_search_rows WHERE conversation_id = new.conversation_id AND seq = new.seq;
END;`;

/** The schema version that added the message search index (V5 below). */
export const SEARCH_SCHEMA_VERSION = 5;

/**
 * Version 5: message search (ChatStore.searchMessages, sqlite-search.ts).
 *
 * message_search is a contentless FTS5 index (the text lives in messages
 * only; contentless_delete lets a row be removed by rowid) with two columns:
 * `body`, and `conv`, the conversation id as one hex token, so a query limits
 * itself to the caller's conversations inside the index instead of filtering
 * matches afterwards. FTS5 needs integer rowids and messages has none, so
 * message_search_rows hands them out: allocated in write order, so a rowid
 * order is newest-stored-first order, which FTS5 serves without sorting.
 *
 * Triggers keep the index exact whoever writes: a message is indexed when it
 * is stored finished and not deleted (a streamed one once it is finished), an
 * edit re-indexes it under the same rowid (its place in the order), a delete
 * removes it. Reaction and receipt writes do not touch the index (WHEN).
 * Existing messages are indexed by the migration, oldest first.
 */
const V5 = `
CREATE TABLE IF NOT EXISTS message_search_rows (
  id              INTEGER PRIMARY KEY,
  conversation_id TEXT NOT NULL,
  seq             INTEGER NOT NULL,
  UNIQUE (conversation_id, seq)
);
CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5(
  body, conv, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS messages_search_insert AFTER INSERT ON messages
WHEN new.deleted = 0 AND coalesce(new.streaming, 0) = 0
BEGIN
  INSERT INTO message_search_rows (conversation_id, seq) VALUES (new.conversation_id, new.seq);
  INSERT INTO message_search (rowid, body, conv) VALUES (last_insert_rowid(), new.body, hex(new.conversation_id));
END;
CREATE TRIGGER IF NOT EXISTS messages_search_update AFTER UPDATE OF body, deleted, streaming ON messages
WHEN old.body IS NOT new.body OR old.deleted IS NOT new.deleted OR old.streaming IS NOT new.streaming
${SEARCH_UPDATE_BODY}
CREATE TRIGGER IF NOT EXISTS messages_search_delete AFTER DELETE ON messages
BEGIN
  DELETE FROM message_search WHERE rowid = (SELECT id FROM message_search_rows WHERE conversation_id = old.conversation_id AND seq = old.seq);
  DELETE FROM message_search_rows WHERE conversation_id = old.conversation_id AND seq = old.seq;
END;
INSERT INTO message_search_rows (conversation_id, seq)
  SELECT conversation_id, seq FROM messages WHERE deleted = 0 AND coalesce(streaming, 0) = 0 ORDER BY created_at, conversation_id, seq;
INSERT INTO message_search (rowid, body, conv)
  SELECT r.id, m.body, hex(m.conversation_id) FROM message_search_rows r JOIN messages m ON m.conversation_id = r.conversation_id AND m.seq = r.seq;
`;

/**
 * Version 6: replies (docs/protocol.md). reply_to is the seq of the message
 * of the same conversation this one replies to, NULL for an ordinary one;
 * the quote is resolved from that row when read, never stored.
 */
const V6 = `
ALTER TABLE messages ADD COLUMN reply_to INTEGER;
`;

/**
 * Version 7: threads (docs/protocol.md). thread_root is the seq of the root
 * a thread reply belongs to (NULL: not a thread reply); a root's
 * thread_replies and thread_last_at are its counters, written by the append
 * of the replies that move them. The partial index pages one thread.
 */
const V7 = `
ALTER TABLE messages ADD COLUMN thread_root INTEGER;
ALTER TABLE messages ADD COLUMN thread_replies INTEGER;
ALTER TABLE messages ADD COLUMN thread_last_at INTEGER;
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (conversation_id, thread_root, seq) WHERE thread_root IS NOT NULL;
`;

/**
 * Version 8: mentions (docs/protocol.md). A JSON array of the mentioned
 * user ids, '@all' or '@here'; NULL for a message that mentions no one.
 * Counted with unread (the same scan of the unread messages), so no index.
 */
const V8 = `
ALTER TABLE messages ADD COLUMN mentions TEXT;
`;

/**
 * Version 9: the search update trigger runs only when the message was or
 * becomes searchable. A streamed message is saved again and again while it
 * grows (streaming 1 before and after, body changed), and a deleted one may
 * be written again; neither has an index entry before or after, so V5's
 * trigger looked up and deleted nothing four times per save.
 */
const V9 = `
DROP TRIGGER IF EXISTS messages_search_update;
CREATE TRIGGER messages_search_update AFTER UPDATE OF body, deleted, streaming ON messages
WHEN (old.body IS NOT new.body OR old.deleted IS NOT new.deleted OR old.streaming IS NOT new.streaming)
  AND ((old.deleted = 0 AND coalesce(old.streaming, 0) = 0) OR (new.deleted = 0 AND coalesce(new.streaming, 0) = 0))
${SEARCH_UPDATE_BODY}
`;

/**
 * Version 10: the messages still streaming (ChatStore.listOpenStreams), so a
 * host that takes over can end the streams whose producer left with their
 * actor. A partial index: it holds only the few rows streaming right now.
 */
const V10 = `
CREATE INDEX IF NOT EXISTS messages_streaming ON messages (conversation_id, seq) WHERE streaming = 1;
`;

/**
 * Version 11: an append writes fewer pages (a commit of a message or two
 * wrote 14 before, most of the writer thread's CPU per message).
 *
 * messages_by_change holds only messages changed at least once: a new
 * message's change_seq is 0, and every index entry it had was a page written
 * for nothing (the changed-messages read asks for change_seq > 0 anyway).
 *
 * New messages reach the search index after their commit, not in
 * it. FTS5 writes a new segment (and its structure record, and now and then a
 * merge) in every transaction that inserts into it: at a few messages per
 * commit that was about 9 of the 14 pages each commit wrote, and half the
 * writer thread's CPU per message. The append now only hands the message its
 * search rowid (message_search_rows, allocated in write order as before);
 * rows above `search_progress.indexed_through` are pending, and the writer
 * thread indexes them in batches of many messages (sqlite-writer-worker.mjs:
 * a moment after the appends, and at once before every search, so a search
 * still finds every message stored before it). The watermark moves in the
 * transaction that indexes, so a crash leaves the rows pending, never lost.
 *
 * A rowid at or below the watermark (SQLite reuses the highest rowid after
 * its row is deleted) is indexed in the writing transaction, as before, and
 * so is any edit of a message already indexed. Deleting an unindexed rowid
 * from the contentless index is a no-op.
 */
const V11 = `
DROP INDEX IF EXISTS messages_by_change;
CREATE INDEX messages_by_change ON messages (conversation_id, change_seq) WHERE change_seq > 0;
CREATE TABLE IF NOT EXISTS search_progress (
  key             INTEGER PRIMARY KEY CHECK (key = 0),
  indexed_through INTEGER NOT NULL
);
INSERT OR IGNORE INTO search_progress (key, indexed_through) SELECT 0, coalesce(max(id), 0) FROM message_search_rows;
DROP TRIGGER IF EXISTS messages_search_insert;
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.deleted = 0 AND coalesce(new.streaming, 0) = 0
BEGIN
  INSERT INTO message_search_rows (conversation_id, seq) VALUES (new.conversation_id, new.seq);
  INSERT INTO message_search (rowid, body, conv)
    SELECT last_insert_rowid(), new.body, hex(new.conversation_id)
    WHERE last_insert_rowid() <= (SELECT indexed_through FROM search_progress WHERE key = 0);
END;
DROP TRIGGER IF EXISTS messages_search_update;
CREATE TRIGGER messages_search_update AFTER UPDATE OF body, deleted, streaming ON messages
WHEN (old.body IS NOT new.body OR old.deleted IS NOT new.deleted OR old.streaming IS NOT new.streaming)
  AND ((old.deleted = 0 AND coalesce(old.streaming, 0) = 0) OR (new.deleted = 0 AND coalesce(new.streaming, 0) = 0))
BEGIN
  DELETE FROM message_search WHERE rowid = (SELECT id FROM message_search_rows WHERE conversation_id = old.conversation_id AND seq = old.seq);
  DELETE FROM message_search_rows WHERE conversation_id = old.conversation_id AND seq = old.seq
    AND (new.deleted != 0 OR coalesce(new.streaming, 0) != 0);
  INSERT OR IGNORE INTO message_search_rows (conversation_id, seq)
    SELECT new.conversation_id, new.seq WHERE new.deleted = 0 AND coalesce(new.streaming, 0) = 0;
  INSERT INTO message_search (rowid, body, conv)
    SELECT id, new.body, hex(new.conversation_id) FROM message_search_rows WHERE conversation_id = new.conversation_id AND seq = new.seq
      AND id <= (SELECT indexed_through FROM search_progress WHERE key = 0);
END;
`;

/** MIGRATIONS[n] takes a database at version n to version n + 1. */
const MIGRATIONS: readonly string[] = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11];

/**
 * Brings the database to SCHEMA_VERSION. Runs in an IMMEDIATE transaction, so
 * several processes opening the same file at once migrate it exactly once.
 * Refuses a file written by a newer schema rather than misreading it.
 */
export function applySchema(db: Database.Database): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new StoreUnavailableError(
        `${db.name} has schema version ${current}; this build understands up to ${SCHEMA_VERSION}`,
      );
    }
    for (let version = current; version < SCHEMA_VERSION; version++) {
      const step = MIGRATIONS[version];
      if (step === undefined) throw new StoreUnavailableError(`no migration from schema version ${version}`);
      db.exec(step);
    }
    // PRAGMA takes no bound parameters; SCHEMA_VERSION is a constant integer.
    if (current !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
