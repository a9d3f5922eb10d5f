import type Database from 'better-sqlite3';
import type { ConversationRow, MemberRow, MessageRow, UserRow, ViewRow } from './sqlite-rows.js';

// The reads of the store's own connection, typed by their rows (sqlite-rows.ts).
// Writes run on the writer thread (sqlite-writer-worker.mjs) with statements of its own.

const CONVERSATION_COLUMNS = 'c.id, c.kind, c.title, c.created_at, c.last_seq, c.last_activity_at, c.epoch, c.change_seq';
const MEMBER_COLUMNS = 'user_id, role, joined_at, read_seq, delivered_seq';
const VIEW_FROM = `SELECT ${CONVERSATION_COLUMNS}, m.read_seq, m.delivered_seq
  FROM members m JOIN conversations c ON c.id = m.conversation_id`;

interface ThreadRange {
  conversationId: string;
  root: number;
  after: number;
  before: number;
  limit: number;
}

/** Every statement the store runs, prepared once per connection. */
export function prepareStatements(db: Database.Database) {
  return {
    // One statement for any number of ids: the ids travel as one JSON array.
    getUsers: db.prepare<[string], UserRow>(
      `SELECT u.id, u.name, b.id IS NOT NULL AS bot FROM users u LEFT JOIN bots b ON b.id = u.id
       WHERE u.id IN (SELECT value FROM json_each(?))`,
    ),
    // Range scans on the lowercased columns instead of LIKE: no wildcard
    // escaping, and both halves of the OR use an index.
    searchUsers: db.prepare<[{ lo: string; hi: string; limit: number }], UserRow>(
      `SELECT u.id, u.name, b.id IS NOT NULL AS bot FROM users u LEFT JOIN bots b ON b.id = u.id
       WHERE (u.name_lower >= @lo AND u.name_lower < @hi) OR (u.id_lower >= @lo AND u.id_lower < @hi)
       ORDER BY u.name_lower, u.name, u.id LIMIT @limit`,
    ),

    getConversation: db.prepare<[string], ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?`,
    ),
    getMembers: db.prepare<[string], MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM members
       WHERE conversation_id = ? ORDER BY joined_at, user_id`,
    ),

    /** Bounded views (sqlite-views.ts, readView): how many members, read from the primary key alone. */
    countMembers: db.prepare<[string], number>('SELECT COUNT(*) FROM members WHERE conversation_id = ?').pluck(),
    /** The first owner and admins in view order (proto's view-members.ts): the owner, then admins by user id. */
    privilegedMembers: db.prepare<[string, number], MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM members
       WHERE conversation_id = ? AND role IN ('owner', 'admin') ORDER BY role = 'owner' DESC, user_id LIMIT ?`,
    ),
    /** The first plain members by user id: the primary key's order, so the scan stops at the limit. */
    plainMembers: db.prepare<[string, number], MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM members
       WHERE conversation_id = ? AND role = 'member' ORDER BY user_id LIMIT ?`,
    ),
    memberRow: db.prepare<[string, string], MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM members WHERE conversation_id = ? AND user_id = ?`),
    /** listMembers: the primary key's range from the cursor ('' sorts before every user id). */
    memberPage: db.prepare<[string, string, number], MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM members
       WHERE conversation_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`,
    ),

    getMessage: db.prepare<[string, number], MessageRow>(
      'SELECT * FROM messages WHERE conversation_id = ? AND seq = ?',
    ),
    getByClientKey: db.prepare<[string, string, string], MessageRow>(
      'SELECT * FROM messages WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?',
    ),
    readForward: db.prepare<[string, number, number, number], MessageRow>(
      'SELECT * FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?',
    ),
    readBackward: db.prepare<[string, number, number, number], MessageRow>(
      'SELECT * FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    // One thread's range of messages_by_thread, then the rows by primary key.
    threadForward: db.prepare<[ThreadRange], MessageRow>(
      `SELECT * FROM messages INDEXED BY messages_by_thread
       WHERE conversation_id = @conversationId AND thread_root = @root AND seq > @after AND seq < @before ORDER BY seq ASC LIMIT @limit`,
    ),
    threadBackward: db.prepare<[ThreadRange], MessageRow>(
      `SELECT * FROM messages INDEXED BY messages_by_thread
       WHERE conversation_id = @conversationId AND thread_root = @root AND seq > @after AND seq < @before ORDER BY seq DESC LIMIT @limit`,
    ),
    // A range of messages_by_change (few rows: only what changed since the
    // client's mark), then sorted by seq, newest first. The index holds only
    // changed messages (change_seq > 0, schema V11): the query says so too,
    // or SQLite could not use it.
    readChanged: db.prepare<[{ conversationId: string; afterChangeSeq: number; maxSeq: number; limit: number }], MessageRow>(
      `SELECT * FROM messages INDEXED BY messages_by_change
       WHERE conversation_id = @conversationId AND change_seq > 0 AND change_seq > @afterChangeSeq AND seq <= @maxSeq
       ORDER BY seq DESC LIMIT @limit`,
    ),
    // Deleted messages are not unread: nothing of them is left to read, so a
    // message deleted before its readers got to it leaves no badge behind.
    // One scan of the unread range counts both the unread messages and those
    // mentioning the user by id, '@all' or '@here' (only rows with mentions
    // are parsed).
    countUnread: db.prepare<[{ conversationId: string; readSeq: number; userId: string }], { unread: number; mentions: number }>(
      `SELECT count(*) AS unread,
              count(*) FILTER (WHERE mentions IS NOT NULL
                AND EXISTS (SELECT 1 FROM json_each(mentions) WHERE value IN (@userId, '@all', '@here'))) AS mentions
       FROM messages WHERE conversation_id = @conversationId AND seq > @readSeq AND sender_id <> @userId AND deleted = 0`,
    ),
    /** countUnread's rows for many members at once (sqlite-unread.ts): the messages after `afterSeq` that count. */
    unreadRows: db
      .prepare<[string, number], [number, string, string | null]>(
        'SELECT seq, sender_id, mentions FROM messages WHERE conversation_id = ? AND seq > ? AND deleted = 0 ORDER BY seq',
      )
      .raw(),
    viewOf: db.prepare<[string, string], ViewRow>(`${VIEW_FROM} WHERE m.user_id = ? AND m.conversation_id = ?`),
    // Keyset pages: the row value comparison matches the ORDER BY exactly, so
    // pages neither repeat nor skip ties on last_activity_at.
    firstPage: db.prepare<[{ userId: string; limit: number }], ViewRow>(
      `${VIEW_FROM} WHERE m.user_id = @userId
       ORDER BY c.last_activity_at DESC, c.id DESC LIMIT @limit`,
    ),
    nextPage: db.prepare<[{ userId: string; activity: number; id: string; limit: number }], ViewRow>(
      `${VIEW_FROM} WHERE m.user_id = @userId AND (c.last_activity_at, c.id) < (@activity, @id)
       ORDER BY c.last_activity_at DESC, c.id DESC LIMIT @limit`,
    ),
    // The messages_streaming partial index alone (a handful of rows).
    openStreams: db.prepare<[number], { conversation_id: string; seq: number; sender_id: string }>(
      'SELECT conversation_id, seq, sender_id FROM messages INDEXED BY messages_streaming WHERE streaming = 1 LIMIT ?',
    ),
    /** The members_by_user index alone. */
    conversationIds: db.prepare<[string], string>(`SELECT conversation_id FROM members WHERE user_id = ?`).pluck(),
    /** Every conversation, by id (the primary key), a page at a time. */
    allConversationIds: db.prepare<[string, number], string>(`SELECT id FROM conversations WHERE id > ? ORDER BY id LIMIT ?`).pluck(),
    heads: db.prepare<[string], { conversationId: string; lastSeq: number; changeSeq: number }>(
      `SELECT c.id AS conversationId, c.last_seq AS lastSeq, c.change_seq AS changeSeq
       FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?`,
    ),
    /** Which of a JSON array of user ids share a conversation with the user (the index on members.user_id, then each shared conversation's key). */
    sharing: db
      .prepare<[string, string], string>(
        `SELECT DISTINCT o.user_id FROM members m JOIN members o ON o.conversation_id = m.conversation_id
         WHERE m.user_id = ? AND o.user_id IN (SELECT value FROM json_each(?))`,
      )
      .pluck(),
  };
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
