import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ChatMessage, Conversation, User } from '@chat/proto';
import { ConflictError, InternalError, NotFoundError, SeqConflictError, StaleEpochError, StoreCannotWriteError, StoreUnavailableError } from '../../errors.js';
import type {
  AppendBatch,
  AppendResult,
  BotRecord,
  ChangedMessagesQuery,
  ChatStore,
  ClientMsgKey,
  ConversationHead,
  ConversationPageQuery,
  ConversationPageResult,
  ConversationRecord,
  MemberPageQuery,
  MemberRecord,
  MemberView,
  MembershipChange,
  MessageQuery,
  MessageSearchPage,
  MessageSearchQuery,
  MessageUpdate,
  NewBot,
  NewConversation,
  OpenStream,
  ReceiptMark,
  ReceiptMarksRecord,
} from '../store.js';
import { applySchema } from './schema.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { viewsThatFit } from '../reply-budget.js';
import { checkBatch, checkInteger, checkLimit } from '../input-checks.js';
import { toStoreError, writeError } from './sqlite-errors.js';
import { type MessageRow, toMemberRecord, toMessage, toRow, toUser } from './sqlite-rows.js';
import { type Statements, prepareStatements } from './sqlite-statements.js';
import { readMemberViews, readOne, readRecord, readView } from './sqlite-views.js';
import { resolveQuotesSync } from '../quotes.js';
import { SqliteWriter } from './sqlite-writer.js';
import { SqliteBots } from './sqlite-bots.js';
import { SqliteSearch } from './sqlite-search.js';

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
  /**
   * Most members the views of getConversationViews and listUserConversations
   * list (ProtocolLimits.viewMembers): a bigger group's come bounded as
   * proto's boundView bounds them, memberCount set, read without loading
   * every member row. Undefined (the default): every member, as the
   * contract says; whoever sends the views bounds them.
   */
  viewMembers?: number;
}

export type SqliteSync = 'full' | 'normal';

/**
 * What probeWrite writes (and syncs, then removes) beside the database: about
 * what a burst of commits adds to the WAL, so a disk with room for it has
 * room for the next writes.
 */
const PROBE_BYTES = 64 * 1024;

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
    viewMembers: options.viewMembers,
  });
}

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
 * Three connections, three threads: reads on the caller's thread, writes on
 * a writer thread (sqlite-writer.ts), and WAL checkpoints on a thread of their
 * own (sqlite-checkpoint-worker.mjs), so neither a commit's fsync nor copying
 * the WAL back into the database ever holds the event loop or a commit.
 *
 * better-sqlite3 is synchronous; the methods return Promises because the
 * interface is shared with the networked backend.
 */
export class SqliteStore implements ChatStore {
  private readonly db: Database.Database;
  private readonly s: Statements;
  private closed = false;
  private readonly writer: SqliteWriter;
  private readonly bots: SqliteBots;
  private readonly searcher: SqliteSearch;

  private readonly viewMembers: number | undefined;

  /** Opens `filePath` (created if missing) and brings its schema up to date. */
  constructor(
    private readonly filePath: string,
    options: { busyTimeoutMs?: number | undefined; synchronous?: SqliteSync | undefined; viewMembers?: number | undefined } = {},
  ) {
    this.viewMembers = options.viewMembers;
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
      this.bots = new SqliteBots(db, this.writer);
      this.searcher = new SqliteSearch(db);
    } catch (err) {
      db?.close();
      throw toStoreError(err, `open ${filePath}`);
    }
  }

  async createBot(bot: NewBot): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('createBot: the SQLite store is closed');
    await this.bots.create(bot);
  }

  listBots(): Promise<BotRecord[]> {
    return this.run('listBots', () => this.bots.list());
  }

  async revokeBot(userId: string, revokedAt: number): Promise<BotRecord | null> {
    if (this.closed) throw new StoreUnavailableError('revokeBot: the SQLite store is closed');
    checkInteger(revokedAt, 'revokedAt');
    return this.bots.revoke(userId, revokedAt);
  }

  botByTokenHash(tokenHash: string): Promise<User | null> {
    return this.run('botByTokenHash', () => this.bots.byTokenHash(tokenHash));
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
    return this.run('loadConversation', () => readRecord(this.s, conversationId));
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
      threads: batch.threads,
      changeSeq: batch.changeSeq,
      lastSeq: last.seq,
      lastActivityAt: last.createdAt,
    });
    switch (outcome.kind) {
      case 'appended':
        return { kind: 'appended' };
      case 'duplicates':
        return { kind: 'duplicates', existing: this.quoted(id, (outcome.rows as MessageRow[]).map(toMessage).sort((x, y) => x.seq - y.seq)) };
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
      checkInteger(message.changeSeq, 'changeSeq');
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
      checkInteger(change.changeSeq, 'changeSeq');
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
      changeSeq: change.changeSeq,
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
        return this.quoted(conversationId, this.s.readForward.all(conversationId, after, before, query.limit).map(toMessage));
      }
      return this.quoted(conversationId, this.s.readBackward.all(conversationId, after, before, query.limit).reverse().map(toMessage));
    });
  }

  readChangedMessages(conversationId: string, query: ChangedMessagesQuery): Promise<ChatMessage[]> {
    return this.run('readChangedMessages', () => {
      checkLimit(query.limit);
      checkInteger(query.afterChangeSeq, 'afterChangeSeq');
      checkInteger(query.maxSeq, 'maxSeq');
      return this.quoted(conversationId, this.s.readChanged.all({ conversationId, ...query }).reverse().map(toMessage));
    });
  }

  readThread(conversationId: string, root: number, query: MessageQuery): Promise<ChatMessage[]> {
    return this.run('readThread', () => {
      checkLimit(query.limit);
      checkInteger(root, 'root');
      if (query.after !== undefined) checkInteger(query.after, 'after');
      if (query.before !== undefined) checkInteger(query.before, 'before');
      const range = { conversationId, root, after: query.after ?? Number.MIN_SAFE_INTEGER, before: query.before ?? Number.MAX_SAFE_INTEGER, limit: query.limit };
      if (query.direction === 'forward') return this.quoted(conversationId, this.s.threadForward.all(range).map(toMessage));
      return this.quoted(conversationId, this.s.threadBackward.all(range).reverse().map(toMessage));
    });
  }

  listUserConversations(userId: string, page: ConversationPageQuery): Promise<ConversationPageResult> {
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
        const views = pageRows.map((row) => readView(this.s, row, userId, this.viewMembers));
        // As many as fit page.maxBytes: then the next page starts after the last one kept.
        const fit = viewsThatFit(views, page.maxBytes);
        const last = pageRows[fit - 1];
        const more = fit < pageRows.length || rows.length > page.limit;
        return {
          conversations: views.slice(0, fit),
          next: more && last ? encodeCursor(last.last_activity_at, last.id) : null,
        };
      })();
    });
  }

  userConversationHeads(userId: string): Promise<ConversationHead[]> {
    return this.run('userConversationHeads', () => this.s.heads.all(userId));
  }

  userConversationIds(userId: string): Promise<string[]> {
    return this.run('userConversationIds', () => this.s.conversationIds.all(userId));
  }

  listConversationIds(after: string | undefined, limit: number): Promise<string[]> {
    return this.run('listConversationIds', () => {
      checkLimit(limit);
      // '' sorts before every id (ids are never empty).
      return this.s.allConversationIds.all(after ?? '', limit);
    });
  }

  listOpenStreams(limit: number): Promise<OpenStream[]> {
    return this.run('listOpenStreams', () => {
      checkLimit(limit);
      return this.s.openStreams.all(limit).map((r) => ({ conversationId: r.conversation_id, seq: r.seq, senderId: r.sender_id }));
    });
  }

  sharingAConversation(userId: string, userIds: readonly string[]): Promise<string[]> {
    return this.run('sharingAConversation', () => {
      const others = [...new Set(userIds)].filter((u) => u !== userId);
      const found = others.length === 0 ? [] : this.s.sharing.all(userId, JSON.stringify(others));
      return userIds.includes(userId) ? [userId, ...found] : found;
    });
  }

  getConversationViews(userId: string, conversationIds: readonly string[]): Promise<Conversation[]> {
    return this.run('getConversationViews', () =>
      this.db.transaction(() => {
        const views: Conversation[] = [];
        for (const id of new Set(conversationIds)) {
          const row = this.s.viewOf.get(userId, id);
          if (row) views.push(readView(this.s, row, userId, this.viewMembers));
        }
        return views;
      })(),
    );
  }

  listMembers(conversationId: string, page: MemberPageQuery): Promise<MemberRecord[]> {
    return this.run('listMembers', () => {
      checkLimit(page.limit);
      return this.s.memberPage.all(conversationId, page.after ?? '', page.limit).map(toMemberRecord);
    });
  }

  /** One snapshot; the members and the last message are read once for every user. */
  getMemberViews(conversationId: string, userIds: readonly string[]): Promise<MemberView[]> {
    return this.run('getMemberViews', () => this.db.transaction(() => readMemberViews(this.s, conversationId, userIds))());
  }

  /**
   * Finds every message committed before the call: new messages reach the
   * index a moment after their commit (schema V11), so the writer indexes
   * what is still pending first. If it cannot (the disk refuses writes), the
   * search still answers, without the messages of the last moment.
   */
  async searchMessages(userId: string, query: MessageSearchQuery): Promise<MessageSearchPage> {
    if (!this.closed && this.searcher.hasPending()) await this.writer.indexSearch().catch(() => undefined);
    return this.run('searchMessages', () => {
      checkLimit(query.limit);
      return this.searcher.search(userId, query);
    });
  }

  /**
   * Writes PROBE_BYTES to a file beside the database, syncs and removes it:
   * the file system takes writes again (space freed, remounted read-write)
   * when this resolves. Through the thread pool, never holding the event loop.
   */
  async probeWrite(): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('probeWrite: the SQLite store is closed');
    const probe = `${this.filePath}-write-probe`;
    let handle: fs.promises.FileHandle | undefined;
    try {
      handle = await fs.promises.open(probe, 'w');
      await handle.write(Buffer.alloc(PROBE_BYTES));
      await handle.sync();
    } catch (err) {
      throw new StoreCannotWriteError(`cannot write beside ${this.filePath}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      await handle?.close().catch(() => {});
      await fs.promises.rm(probe, { force: true }).catch(() => {});
    }
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

  private mustRecord(conversationId: string): ConversationRecord {
    const record = readRecord(this.s, conversationId);
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
    return this.quoted(conversationId, [...found.values()].sort((a, b) => a.seq - b.seq).map(toMessage));
  }

  /** Messages of one conversation with their reply quotes resolved from the originals as stored now. */
  private quoted(conversationId: string, messages: ChatMessage[]): ChatMessage[] {
    return resolveQuotesSync(messages, (seq) => readOne(this.s, conversationId, seq));
  }
}
