import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ChatMessage, Conversation, User } from '@chat/proto';
import {
  BadRequestError,
  ChatError,
  ConflictError,
  InternalError,
  NotFoundError,
  SeqConflictError,
  StaleEpochError,
  StoreUnavailableError,
} from '../../errors.js';
import type {
  AppendBatch,
  AppendResult,
  ChatStore,
  ClientMsgKey,
  ConversationKind,
  ConversationPageResult,
  ConversationRecord,
  MemberRecord,
  MemberView,
  MembershipChange,
  MessageQuery,
  MessageUpdate,
  NewConversation,
  ReceiptMark,
  ReceiptMarksRecord,
  Role,
} from '../store.js';
import { applySchema } from './schema.js';
import { SqliteWriter, type WriterOutcome } from './sqlite-writer.js';

/** Options of openSqliteStore. */
export interface SqliteStoreOptions {
  /** Directory of the database file; created if missing. */
  dataDir: string;
  /** File name inside dataDir. Default `chat.db`. */
  fileName?: string;
  /**
   * How long a write waits for another connection's lock before failing with
   * StoreUnavailableError. Default 5000 ms (several processes may share the file).
   */
  busyTimeoutMs?: number;
  /**
   * `full` (default): every commit is fsynced, so an acknowledged write
   * survives power loss. `normal`: commits reach the OS but the WAL is synced
   * at checkpoints, so an acknowledged write survives any process dying, not a
   * power cut or kernel crash; commits cost a fraction of the time.
   */
  synchronous?: SqliteSync;
}

export type SqliteSync = 'full' | 'normal';

/**
 * Opens (creating it and its directory if needed) the SQLite store at
 * `dataDir/fileName`. Throws StoreUnavailableError if the file cannot be opened
 * or was written by a newer schema.
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  try {
    fs.mkdirSync(options.dataDir, { recursive: true });
  } catch (err) {
    throw new StoreUnavailableError(`cannot create data directory ${options.dataDir}`, { cause: err });
  }
  return new SqliteStore(path.join(options.dataDir, options.fileName ?? 'chat.db'), {
    busyTimeoutMs: options.busyTimeoutMs,
    synchronous: options.synchronous,
  });
}

interface UserRow {
  id: string;
  name: string;
}

interface ConversationRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  created_at: number;
  last_seq: number;
  last_activity_at: number;
  epoch: number;
}

/** A conversation joined with one member's receipt marks: the raw stuff of a view. */
interface ViewRow extends ConversationRow {
  read_seq: number;
  delivered_seq: number;
}

interface MemberRow {
  user_id: string;
  role: Role;
  joined_at: number;
  read_seq: number;
  delivered_seq: number;
}

interface MessageRow {
  conversation_id: string;
  seq: number;
  id: string;
  sender_id: string;
  client_msg_id: string;
  body: string;
  attachments: string;
  created_at: number;
  edited_at: number | null;
  deleted: number;
  reactions: string;
}

const CONVERSATION_COLUMNS = 'c.id, c.kind, c.title, c.created_at, c.last_seq, c.last_activity_at, c.epoch';
const VIEW_FROM = `SELECT ${CONVERSATION_COLUMNS}, m.read_seq, m.delivered_seq
  FROM members m JOIN conversations c ON c.id = m.conversation_id`;

/** Every statement the store runs, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  return {
    // One statement for any number of ids: the ids travel as one JSON array.
    getUsers: db.prepare<[string], UserRow>(
      'SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?))',
    ),
    // Range scans on the lowercased columns instead of LIKE: no wildcard
    // escaping, and both halves of the OR use an index.
    searchUsers: db.prepare<[{ lo: string; hi: string; limit: number }], UserRow>(
      `SELECT id, name FROM users
       WHERE (name_lower >= @lo AND name_lower < @hi) OR (id_lower >= @lo AND id_lower < @hi)
       ORDER BY name_lower, name, id LIMIT @limit`,
    ),

    getConversation: db.prepare<[string], ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?`,
    ),
    getMembers: db.prepare<[string], MemberRow>(
      `SELECT user_id, role, joined_at, read_seq, delivered_seq FROM members
       WHERE conversation_id = ? ORDER BY joined_at, user_id`,
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
    // Deleted messages are not unread: nothing of them is left to read, so a
    // message deleted before its readers got to it leaves no badge behind.
    countUnread: db
      .prepare<[string, number, string], number>(
        'SELECT count(*) FROM messages WHERE conversation_id = ? AND seq > ? AND sender_id <> ? AND deleted = 0',
      )
      .pluck(),

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
    heads: db.prepare<[string], { conversationId: string; lastSeq: number }>(
      `SELECT c.id AS conversationId, c.last_seq AS lastSeq
       FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?`,
    ),
    // The user's conversations through members_by_user, then each one's members
    // through the primary key; DISTINCT collapses users met in several.
    contacts: db
      .prepare<[string, string, number], string>(
        `SELECT DISTINCT o.user_id FROM members m JOIN members o ON o.conversation_id = m.conversation_id
         WHERE m.user_id = ? AND o.user_id <> ? LIMIT ?`,
      )
      .pluck(),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The embedded ChatStore: one SQLite file in WAL mode, shared safely by
 * several processes.
 *
 * Durability: `synchronous = FULL` fsyncs the WAL on every commit, so a
 * resolved write survives power loss, not only a killed process (NORMAL would
 * only guarantee the latter). Appends are group commits, so one fsync covers a
 * whole batch.
 *
 * Every write transaction is BEGIN IMMEDIATE: it takes the write lock before
 * reading the head it checks, so two processes cannot both pass the fencing
 * checks, and a waiting writer honours busy_timeout instead of failing at
 * once with SQLITE_BUSY on lock upgrade.
 *
 * better-sqlite3 is synchronous; the methods return Promises because the
 * interface is shared with the networked backend.
 */
export class SqliteStore implements ChatStore {
  private readonly db: Database.Database;
  private readonly s: Statements;
  private closed = false;
  private readonly writer: SqliteWriter;

  /** Opens `filePath` (created if missing) and brings its schema up to date. */
  constructor(filePath: string, options: { busyTimeoutMs?: number | undefined; synchronous?: SqliteSync | undefined } = {}) {
    const synchronous = options.synchronous ?? 'full';
    let db: Database.Database | undefined;
    try {
      db = new Database(filePath, { timeout: options.busyTimeoutMs ?? 5000 });
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new StoreUnavailableError(`${filePath}: cannot use WAL mode (got ${String(mode)})`);
      db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      applySchema(db);
      this.s = prepareStatements(db);
      this.db = db;
      this.writer = new SqliteWriter(filePath, options.busyTimeoutMs ?? 5000, synchronous);
    } catch (err) {
      db?.close();
      throw toStoreError(err, `open ${filePath}`);
    }
  }

  async upsertUser(user: User): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('upsertUser: the SQLite store is closed');
    const outcome = await this.writer.upsertUser({ id: user.id, name: user.name, nameLower: user.name.toLowerCase(), idLower: user.id.toLowerCase() });
    if (outcome.kind !== 'done') throw writeError('upsertUser', outcome);
  }


  getUsers(ids: readonly string[]): Promise<User[]> {
    return this.run('getUsers', () => (ids.length === 0 ? [] : this.s.getUsers.all(JSON.stringify(ids)).map(toUser)));
  }

  searchUsers(prefix: string, limit: number): Promise<User[]> {
    return this.run('searchUsers', () => {
      checkLimit(limit);
      const lo = prefix.toLowerCase();
      // U+10FFFF sorts after every code point (UTF-8 byte order is code point
      // order), so [lo, hi) holds exactly the strings starting with lo.
      return this.s.searchUsers.all({ lo, hi: `${lo}\u{10FFFF}`, limit }).map(toUser);
    });
  }

  loadConversation(conversationId: string): Promise<ConversationRecord | null> {
    return this.run('loadConversation', () => this.record(conversationId));
  }

  async createConversation(conversation: NewConversation, epoch: number): Promise<{ record: ConversationRecord; created: boolean }> {
    if (this.closed) throw new StoreUnavailableError('createConversation: the SQLite store is closed');
    try {
      checkInteger(epoch, 'epoch');
    } catch (err) {
      throw toStoreError(err, 'createConversation');
    }
    const outcome = await this.writer.create({ conversation, epoch });
    if (outcome.kind !== 'created') throw writeError('createConversation', outcome);
    // Committed by the writer: this connection's next read sees it.
    return this.run('createConversation', () => ({ record: this.mustRecord(conversation.id), created: outcome.created }));
  }


  /**
   * Appends run on the writer thread (SqliteWriter): the commit's fsync never
   * blocks this event loop, and appends arriving while a commit is in flight
   * share the next one, each conversation in its own savepoint so one
   * conversation's refusal (fencing, conflict, duplicates) leaves the others'
   * writes intact. Group commit across conversations, on top of the actors'
   * group commit within one.
   */
  async appendMessages(batch: AppendBatch): Promise<AppendResult> {
    if (this.closed) throw new StoreUnavailableError('appendMessages: the SQLite store is closed');
    try {
      checkBatch(batch);
    } catch (err) {
      throw toStoreError(err, 'appendMessages');
    }
    const id = batch.conversationId;
    const last = batch.messages[batch.messages.length - 1] as ChatMessage; // checkBatch: non-empty
    const outcome = await this.writer.append({
      conversationId: id,
      epoch: batch.epoch,
      expectedLastSeq: batch.expectedLastSeq,
      rows: batch.messages.map(toRow),
      lastSeq: last.seq,
      lastActivityAt: last.createdAt,
    });
    switch (outcome.kind) {
      case 'appended':
        return { kind: 'appended' };
      case 'duplicates':
        return { kind: 'duplicates', existing: (outcome.rows as MessageRow[]).map(toMessage).sort((x, y) => x.seq - y.seq) };
      case 'not_found':
        throw new NotFoundError(`conversation ${id} does not exist`);
      case 'stale_epoch':
        throw new StaleEpochError(id, batch.epoch, outcome.recorded);
      case 'seq_conflict':
        throw new SeqConflictError(id, batch.expectedLastSeq, outcome.actual);
      default:
        throw writeError('appendMessages', outcome);
    }
  }

  /** Runs on the writer thread, in the same group commits as appends. */
  async updateMessage(update: MessageUpdate): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('updateMessage: the SQLite store is closed');
    const { message, epoch } = update;
    try {
      checkInteger(epoch, 'epoch');
      checkInteger(message.seq, 'seq');
    } catch (err) {
      throw toStoreError(err, 'updateMessage');
    }
    const outcome = await this.writer.update({ conversationId: message.conversationId, epoch, row: toRow(message) });
    switch (outcome.kind) {
      case 'updated':
        return;
      case 'not_found':
        throw new NotFoundError(`no message ${message.seq} in conversation ${message.conversationId}`);
      case 'stale_epoch':
        throw new StaleEpochError(message.conversationId, epoch, outcome.recorded);
      case 'undelete_refused':
        throw new ConflictError(`message ${message.seq} in ${message.conversationId} is deleted`);
      default:
        throw writeError('updateMessage', outcome);
    }
  }

  /** Runs on the writer thread, in the same group commits as appends. */
  async applyMembershipChange(change: MembershipChange): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('applyMembershipChange: the SQLite store is closed');
    try {
      checkInteger(change.epoch, 'epoch');
      for (const m of change.add) {
        checkInteger(m.joinedAt, 'joinedAt');
        checkInteger(m.readSeq, 'readSeq');
        checkInteger(m.deliveredSeq, 'deliveredSeq');
      }
    } catch (err) {
      throw toStoreError(err, 'applyMembershipChange');
    }
    const outcome = await this.writer.membership({
      conversationId: change.conversationId,
      epoch: change.epoch,
      add: change.add.map((m) => ({ userId: m.userId, role: m.role, joinedAt: m.joinedAt, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq })),
      remove: change.remove,
      roles: change.roles,
      title: change.title,
    });
    switch (outcome.kind) {
      case 'done':
        return;
      case 'not_found':
        throw new NotFoundError(`conversation ${change.conversationId} does not exist`);
      case 'stale_epoch':
        throw new StaleEpochError(change.conversationId, change.epoch, outcome.recorded);
      default:
        throw writeError('applyMembershipChange', outcome);
    }
  }

  /** Runs on the writer thread, in the same group commits as appends: one point read of the head and one UPDATE. */
  async markReceipt(mark: ReceiptMark): Promise<ReceiptMarksRecord> {
    if (this.closed) throw new StoreUnavailableError('markReceipt: the SQLite store is closed');
    // 0 leaves a mark as it is: stored marks are never negative.
    const deliveredSeq = mark.deliveredSeq ?? 0;
    const readSeq = mark.readSeq ?? 0;
    try {
      checkInteger(mark.epoch, 'epoch');
      checkInteger(deliveredSeq, 'deliveredSeq');
      checkInteger(readSeq, 'readSeq');
    } catch (err) {
      throw toStoreError(err, 'markReceipt');
    }
    const outcome = await this.writer.receipt({ conversationId: mark.conversationId, userId: mark.userId, epoch: mark.epoch, deliveredSeq, readSeq });
    switch (outcome.kind) {
      case 'marked':
        return { deliveredSeq: outcome.deliveredSeq, readSeq: outcome.readSeq };
      case 'not_found':
        throw new NotFoundError(`${mark.userId} is not a member of conversation ${mark.conversationId}`);
      case 'stale_epoch':
        throw new StaleEpochError(mark.conversationId, mark.epoch, outcome.recorded);
      default:
        throw writeError('markReceipt', outcome);
    }
  }

  findByClientMsgIds(conversationId: string, keys: readonly ClientMsgKey[]): Promise<ChatMessage[]> {
    return this.run('findByClientMsgIds', () => this.findKeys(conversationId, keys));
  }

  readMessages(conversationId: string, query: MessageQuery): Promise<ChatMessage[]> {
    return this.run('readMessages', () => {
      checkLimit(query.limit);
      if (query.after !== undefined) checkInteger(query.after, 'after');
      if (query.before !== undefined) checkInteger(query.before, 'before');
      const after = query.after ?? Number.MIN_SAFE_INTEGER;
      const before = query.before ?? Number.MAX_SAFE_INTEGER;
      if (query.direction === 'forward') {
        return this.s.readForward.all(conversationId, after, before, query.limit).map(toMessage);
      }
      return this.s.readBackward.all(conversationId, after, before, query.limit).reverse().map(toMessage);
    });
  }

  listUserConversations(
    userId: string,
    page: { limit: number; before?: string | undefined },
  ): Promise<ConversationPageResult> {
    return this.run('listUserConversations', () => {
      checkLimit(page.limit);
      const cursor = page.before === undefined ? undefined : decodeCursor(page.before);
      // One read transaction: the page and its views come from one snapshot.
      return this.db.transaction((): ConversationPageResult => {
        // One row more than asked tells whether another page exists.
        const limit = page.limit + 1;
        const rows = cursor
          ? this.s.nextPage.all({ userId, activity: cursor.activity, id: cursor.id, limit })
          : this.s.firstPage.all({ userId, limit });
        const pageRows = rows.slice(0, page.limit);
        const last = pageRows[pageRows.length - 1];
        return {
          conversations: pageRows.map((row) => this.view(row, userId)),
          next: rows.length > page.limit && last ? encodeCursor(last.last_activity_at, last.id) : null,
        };
      })();
    });
  }

  userConversationHeads(userId: string): Promise<{ conversationId: string; lastSeq: number }[]> {
    return this.run('userConversationHeads', () => this.s.heads.all(userId));
  }

  userContacts(userId: string, limit: number): Promise<string[]> {
    return this.run('userContacts', () => {
      checkLimit(limit);
      return this.s.contacts.all(userId, userId, limit);
    });
  }

  getConversationViews(userId: string, conversationIds: readonly string[]): Promise<Conversation[]> {
    return this.run('getConversationViews', () =>
      this.db.transaction(() => {
        const views: Conversation[] = [];
        for (const id of new Set(conversationIds)) {
          const row = this.s.viewOf.get(userId, id);
          if (row) views.push(this.view(row, userId));
        }
        return views;
      })(),
    );
  }

  /** One snapshot; the members and the last message are read once for every user. */
  getMemberViews(conversationId: string, userIds: readonly string[]): Promise<MemberView[]> {
    return this.run('getMemberViews', () =>
      this.db.transaction((): MemberView[] => {
        const row = this.s.getConversation.get(conversationId);
        if (!row) return [];
        const rows = this.s.getMembers.all(conversationId);
        const byUser = new Map(rows.map((m) => [m.user_id, m]));
        const lastRow = row.last_seq > 0 ? this.s.getMessage.get(row.id, row.last_seq) : undefined;
        const lastMessage = lastRow ? toMessage(lastRow) : undefined;
        // Shared by every view: they are only encoded, never changed.
        const members = rows.map((m) => ({ userId: m.user_id, role: m.role }));
        const views: MemberView[] = [];
        for (const userId of new Set(userIds)) {
          const member = byUser.get(userId);
          if (!member) continue;
          const view: Conversation = {
            id: row.id,
            kind: row.kind,
            title: row.title ?? undefined,
            members,
            createdAt: row.created_at,
            lastSeq: row.last_seq,
            lastMessage,
            readSeq: member.read_seq,
            deliveredSeq: member.delivered_seq,
            unread: this.s.countUnread.get(row.id, member.read_seq, userId) ?? 0,
          };
          views.push({ userId, view });
        }
        return views;
      })(),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Appends already accepted are written before the file closes.
    await this.writer.close();
    try {
      this.db.close();
    } catch (err) {
      throw toStoreError(err, 'close');
    }
  }

  /** Runs a synchronous operation as a Promise, with driver errors translated. */
  private run<T>(what: string, op: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(`${what}: the SQLite store is closed`));
    try {
      return Promise.resolve(op());
    } catch (err) {
      return Promise.reject(toStoreError(err, what));
    }
  }

  private record(conversationId: string): ConversationRecord | null {
    const row = this.s.getConversation.get(conversationId);
    if (!row) return null;
    return {
      id: row.id,
      kind: row.kind,
      title: row.title,
      createdAt: row.created_at,
      lastSeq: row.last_seq,
      lastActivityAt: row.last_activity_at,
      epoch: row.epoch,
      members: this.s.getMembers.all(conversationId).map(toMemberRecord),
    };
  }

  private mustRecord(conversationId: string): ConversationRecord {
    const record = this.record(conversationId);
    if (!record) throw new InternalError(`conversation ${conversationId} vanished inside its own transaction`);
    return record;
  }

  /** Stored messages matching the keys, each once, in seq order. */
  private findKeys(conversationId: string, keys: readonly ClientMsgKey[]): ChatMessage[] {
    // Point lookups on the unique index; a batch holds at most a few hundred keys.
    const found = new Map<number, MessageRow>();
    for (const key of keys) {
      const row = this.s.getByClientKey.get(conversationId, key.senderId, key.clientMsgId);
      if (row) found.set(row.seq, row);
    }
    return [...found.values()].sort((a, b) => a.seq - b.seq).map(toMessage);
  }

  private view(row: ViewRow, userId: string): Conversation {
    const last = row.last_seq > 0 ? this.s.getMessage.get(row.id, row.last_seq) : undefined;
    return {
      id: row.id,
      kind: row.kind,
      title: row.title ?? undefined,
      members: this.s.getMembers.all(row.id).map((m) => ({ userId: m.user_id, role: m.role })),
      createdAt: row.created_at,
      lastSeq: row.last_seq,
      lastMessage: last ? toMessage(last) : undefined,
      readSeq: row.read_seq,
      deliveredSeq: row.delivered_seq,
      unread: this.s.countUnread.get(row.id, row.read_seq, userId) ?? 0,
    };
  }
}

/**
 * Our typed errors pass through; the driver's become ours: a broken constraint
 * is the request's fault (BadRequestError), any other SQLite failure (busy,
 * I/O, full disk, corruption) is StoreUnavailableError; anything else is a bug.
 */
/** The typed error for a writer outcome that is not the expected one. */
function writeError(what: string, outcome: WriterOutcome): ChatError {
  if (outcome.kind === 'error') {
    return outcome.code?.startsWith('SQLITE_CONSTRAINT')
      ? new BadRequestError(`${what}: ${outcome.message}`)
      : new StoreUnavailableError(`${what}: ${outcome.message}`);
  }
  return new InternalError(`${what}: unexpected writer outcome ${outcome.kind}`);
}

function toStoreError(err: unknown, what: string): ChatError {
  if (err instanceof ChatError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Database.SqliteError) {
    if (err.code.startsWith('SQLITE_CONSTRAINT')) return new BadRequestError(`${what}: ${message}`, { cause: err });
    return new StoreUnavailableError(`${what}: ${message}`, { cause: err });
  }
  return new InternalError(`${what}: ${message}`, { cause: err });
}

function checkInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new BadRequestError(`${what} must be an integer, got ${value}`);
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new BadRequestError(`limit must be a positive integer, got ${limit}`);
}

/** The store, not only the actor, refuses a batch that would leave a gap or mix conversations. */
function checkBatch(batch: AppendBatch): void {
  checkInteger(batch.epoch, 'epoch');
  checkInteger(batch.expectedLastSeq, 'expectedLastSeq');
  if (batch.messages.length === 0) throw new BadRequestError('appendMessages: empty batch');
  const keys = new Set<string>();
  batch.messages.forEach((message, i) => {
    if (message.conversationId !== batch.conversationId) {
      throw new BadRequestError(`appendMessages: message for ${message.conversationId} in a batch for ${batch.conversationId}`);
    }
    if (message.seq !== batch.expectedLastSeq + 1 + i) {
      throw new BadRequestError(`appendMessages: message ${i} has seq ${message.seq}, expected ${batch.expectedLastSeq + 1 + i}`);
    }
    const key = JSON.stringify([message.senderId, message.clientMsgId]);
    if (keys.has(key)) throw new BadRequestError(`appendMessages: clientMsgId ${message.clientMsgId} twice in one batch`);
    keys.add(key);
  });
}

interface Cursor {
  activity: number;
  id: string;
}

/** base64url of JSON [lastActivityAt, id]: the sort key of the last row served. */
function encodeCursor(activity: number, id: string): string {
  return Buffer.from(JSON.stringify([activity, id])).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 2) {
    const [activity, id] = parsed as unknown[];
    // Re-encoding must give the cursor back: Node's base64url decoder skips
    // junk characters, and a cursor we did not write is refused.
    if (Number.isSafeInteger(activity) && typeof id === 'string' && encodeCursor(activity as number, id) === cursor) {
      return { activity: activity as number, id };
    }
  }
  throw new BadRequestError('malformed conversation cursor');
}

function toUser(row: UserRow): User {
  return { id: row.id, name: row.name };
}

function toMemberRecord(row: MemberRow): MemberRecord {
  return {
    userId: row.user_id,
    role: row.role,
    joinedAt: row.joined_at,
    readSeq: row.read_seq,
    deliveredSeq: row.delivered_seq,
  };
}

/** A deleted message is stored without its body, attachments and reactions. */
function toRow(message: ChatMessage): MessageRow {
  const reactions: Record<string, string[]> = {};
  if (!message.deleted) for (const [emoji, users] of Object.entries(message.reactions)) reactions[emoji] = users.ids;
  return {
    conversation_id: message.conversationId,
    seq: message.seq,
    id: message.id,
    sender_id: message.senderId,
    client_msg_id: message.clientMsgId,
    body: message.deleted ? '' : message.body,
    attachments: JSON.stringify(message.deleted ? [] : message.attachments),
    created_at: message.createdAt,
    edited_at: message.editedAt ?? null,
    deleted: message.deleted ? 1 : 0,
    reactions: JSON.stringify(reactions),
  };
}

/** A deleted message comes back with an empty body, no attachments and no reactions, whatever the row holds. */
function toMessage(row: MessageRow): ChatMessage {
  const deleted = row.deleted !== 0;
  const reactions: ChatMessage['reactions'] = {};
  if (!deleted) {
    for (const [emoji, ids] of Object.entries(JSON.parse(row.reactions) as Record<string, string[]>)) reactions[emoji] = { ids };
  }
  return {
    conversationId: row.conversation_id,
    seq: row.seq,
    id: row.id,
    senderId: row.sender_id,
    clientMsgId: row.client_msg_id,
    body: deleted ? '' : row.body,
    attachments: deleted ? [] : (JSON.parse(row.attachments) as ChatMessage['attachments']),
    createdAt: row.created_at,
    editedAt: row.edited_at ?? undefined,
    deleted,
    reactions,
  };
}
