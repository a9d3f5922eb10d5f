import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type ChatMessage, type Conversation, type User, shardOf } from '@chat/proto';
import { type Logger, silentLogger } from '@chat/platform';
import { SearchUnsupportedError, StoreUnavailableError } from '../../errors.js';
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
import { decodeCursor, encodeCursor } from '../cursor.js';
import { viewsThatFit } from '../reply-budget.js';
import { checkBatch, checkInteger, checkLimit, checkNewBot } from '../input-checks.js';
import { appendBatch, findByKeys, settleOwedRows } from './scylla-appends.js';
import type { ScyllaOptions } from './scylla-config.js';
import { toStoreError } from './scylla-errors.js';
import { MIGRATION_SCOPE, checkSchemaVersion } from './scylla-migrations.js';
import * as mutations from './scylla-mutations.js';
import { readChanged } from './scylla-queries.js';
import { readThread } from './scylla-threads.js';
import { FAN_OUT, readHead, readHeads, readMemberPage, readMessages, readRange, userConversationIds } from './scylla-reads.js';
import type { HeadRow } from './scylla-rows.js';
import { readBoundedView, readMemberViews } from './scylla-views.js';
import { resolveQuotes } from '../quotes.js';
import { type CqlConnector, ScyllaSession, createScyllaClient, mapLimit } from './scylla-session.js';
import { TailRepair } from './scylla-tail.js';
import * as users from './scylla-users.js';
import * as bots from './scylla-bots.js';

/** Partitions of open_streams (migration 0008): a takeover reads them all at once. */
const OPEN_STREAM_BUCKETS = 16;

/** How the store serves views (beside the cluster's settings, ScyllaOptions). */
export interface ScyllaViewOptions {
  /**
   * Most members the views of getConversationViews and listUserConversations
   * list (ProtocolLimits.viewMembers): a bigger group's come bounded as
   * proto's boundView bounds them, memberCount set, read without the whole
   * members partition. Undefined (the default): every member, as the
   * contract says; whoever sends the views bounds them.
   */
  viewMembers?: number | undefined;
}

/**
 * Connects to the cluster and checks that the keyspace holds exactly the
 * schema this build knows (`chat migrate` creates and upgrades it). Throws
 * StoreUnavailableError if no node answers or the schema is missing, older
 * or newer.
 */
export async function openScyllaStore(
  options: ScyllaOptions,
  connect: CqlConnector = createScyllaClient,
  logger: Logger = silentLogger(),
  views: ScyllaViewOptions = {},
): Promise<ScyllaStore> {
  const session = new ScyllaSession(connect(options, { keyspace: true }));
  try {
    await session.client.connect();
    const result = await session.client.execute('SELECT version FROM schema_migrations WHERE scope = ?', [MIGRATION_SCOPE], { prepare: true });
    checkSchemaVersion(result.rows.map((r) => r['version'] as number));
  } catch (err) {
    await session.shutdown().catch(() => undefined);
    const typed = toStoreError(err, `open ScyllaDB keyspace ${options.keyspace}`);
    // A keyspace or table that does not exist is an invalid request: the schema is missing, not a bug.
    throw typed instanceof StoreUnavailableError ? typed : new StoreUnavailableError(`${typed.message} (has \`chat migrate\` run?)`, { cause: err });
  }
  return new ScyllaStore(session, logger, views);
}

/**
 * The networked ChatStore on ScyllaDB (or Cassandra): the data model, the
 * fencing and the failure handling are in DESIGN.md beside this file. Every
 * driver error leaves as a typed error (scylla-errors.ts); nothing resolves
 * before the cluster acknowledged the write at the configured consistency.
 */
export class ScyllaStore implements ChatStore {
  private closed = false;
  /** Seals and owed rows per conversation (scylla-tail.ts). */
  private readonly tail: TailRepair;
  /** This instance's partition of write_probes: the host name, for whoever reads the table, and a random suffix, so no two stores share a cell. */
  private readonly probeId = `${hostname()}/${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly s: ScyllaSession,
    private readonly logger: Logger = silentLogger(),
    private readonly views: ScyllaViewOptions = {},
  ) {
    this.tail = new TailRepair(logger);
  }

  upsertUser(user: User): Promise<void> {
    return this.run('upsertUser', () => users.upsertUser(this.s, user));
  }

  getUsers(ids: readonly string[]): Promise<User[]> {
    return this.run('getUsers', async () => bots.markBots(this.s, await users.getUsers(this.s, ids)));
  }

  searchUsers(prefix: string, limit: number): Promise<User[]> {
    return this.run('searchUsers', async () => {
      checkLimit(limit);
      return bots.markBots(this.s, await users.searchUsers(this.s, prefix, limit));
    });
  }

  createBot(bot: NewBot): Promise<void> {
    return this.run('createBot', () => {
      checkNewBot(bot);
      return bots.createBot(this.s, bot);
    });
  }

  listBots(): Promise<BotRecord[]> {
    return this.run('listBots', () => bots.listBots(this.s));
  }

  revokeBot(userId: string, revokedAt: number): Promise<BotRecord | null> {
    return this.run('revokeBot', () => {
      checkInteger(revokedAt, 'revokedAt');
      return bots.revokeBot(this.s, userId, revokedAt);
    });
  }

  botByTokenHash(tokenHash: string): Promise<User | null> {
    return this.run('botByTokenHash', () => bots.botByTokenHash(this.s, tokenHash));
  }

  loadConversation(conversationId: string): Promise<ConversationRecord | null> {
    return this.run('loadConversation', () => mutations.loadConversation(this.s, conversationId));
  }

  createConversation(conversation: NewConversation, epoch: number): Promise<{ record: ConversationRecord; created: boolean }> {
    return this.run('createConversation', () => {
      checkInteger(epoch, 'epoch');
      return mutations.createConversation(this.s, conversation, epoch);
    });
  }

  appendMessages(batch: AppendBatch): Promise<AppendResult> {
    return this.run('appendMessages', async () => {
      checkBatch(batch);
      // Listed before the rows are written, and the append fails if it cannot
      // be: a streaming message that is stored is always listed. A host that
      // dies in between, or an append then fenced off or found a duplicate,
      // leaves an entry for a message not stored by it, which only wakes its
      // conversation for nothing until the entry expires (a day).
      const streaming = batch.messages.filter((m) => m.streaming === true);
      if (streaming.length > 0) await this.listOpen(batch.conversationId, streaming);
      const r = await appendBatch(this.s, this.tail, batch);
      if (r.kind === 'duplicates') return { kind: 'duplicates' as const, existing: await this.quoted(batch.conversationId, r.existing) };
      return r;
    });
  }

  settleWrites(conversationId: string, epoch: number): Promise<void> {
    return this.run('settleWrites', () => {
      checkInteger(epoch, 'epoch');
      return settleOwedRows(this.s, this.tail, conversationId, epoch);
    });
  }

  updateMessage(update: MessageUpdate): Promise<void> {
    return this.run('updateMessage', async () => {
      checkInteger(update.epoch, 'epoch');
      checkInteger(update.message.seq, 'seq');
      checkInteger(update.message.changeSeq, 'changeSeq');
      await mutations.updateMessage(this.s, update);
      if (update.endsStream) await this.unlistOpen(update.message.conversationId, update.message);
    });
  }

  /**
   * At most `limit` messages still streaming, from open_streams (16 small
   * partitions read at once): written before a streaming message's append
   * and removed after it finishes, so every stored stream is listed, and an
   * entry may name a message that finished meanwhile or was never stored
   * (its conversation is woken for nothing).
   */
  listOpenStreams(limit: number): Promise<OpenStream[]> {
    return this.run('listOpenStreams', async () => {
      checkLimit(limit);
      const buckets = await Promise.all(Array.from({ length: OPEN_STREAM_BUCKETS }, (_, b) => this.s.rows('openStreams', [b, limit])));
      return buckets
        .flat()
        .slice(0, limit)
        .map((r) => ({ conversationId: r['conversation_id'] as string, seq: Number(r['seq']), senderId: r['sender_id'] as string }));
    });
  }

  /** Lists streaming messages (open_streams); throws when it cannot, so their append is not made. */
  private async listOpen(conversationId: string, messages: readonly ChatMessage[]): Promise<void> {
    const bucket = shardOf(conversationId, OPEN_STREAM_BUCKETS);
    await Promise.all(messages.map((m) => this.s.write('putOpenStream', [bucket, conversationId, m.seq, m.senderId])));
  }

  /** Best effort (the message row, finished, is the truth; a stale entry expires): a failure is logged, never the write's. */
  private async unlistOpen(conversationId: string, message: ChatMessage): Promise<void> {
    try {
      await this.s.write('deleteOpenStream', [shardOf(conversationId, OPEN_STREAM_BUCKETS), conversationId, message.seq]);
    } catch (err) {
      this.logger.warn({ err, conversationId, seq: message.seq }, 'could not unlist a finished stream; a takeover may wake its conversation for nothing until the entry expires');
    }
  }

  applyMembershipChange(change: MembershipChange): Promise<void> {
    return this.run('applyMembershipChange', () => {
      checkInteger(change.epoch, 'epoch');
      checkInteger(change.changeSeq, 'changeSeq');
      for (const m of change.add) {
        checkInteger(m.joinedAt, 'joinedAt');
        checkInteger(m.readSeq, 'readSeq');
        checkInteger(m.deliveredSeq, 'deliveredSeq');
      }
      return mutations.applyMembershipChange(this.s, change);
    });
  }

  markReceipt(mark: ReceiptMark): Promise<ReceiptMarksRecord> {
    return this.run('markReceipt', () => {
      checkInteger(mark.epoch, 'epoch');
      checkInteger(mark.deliveredSeq ?? 0, 'deliveredSeq');
      checkInteger(mark.readSeq ?? 0, 'readSeq');
      return mutations.markReceipt(this.s, mark);
    });
  }

  findByClientMsgIds(conversationId: string, keys: readonly ClientMsgKey[]): Promise<ChatMessage[]> {
    return this.run('findByClientMsgIds', async () => this.quoted(conversationId, await findByKeys(this.s, conversationId, keys)));
  }

  /** The head bounds the range (no bucket above last_seq is read); then one or two partitions. */
  readMessages(conversationId: string, query: MessageQuery): Promise<ChatMessage[]> {
    return this.run('readMessages', async () => {
      checkLimit(query.limit);
      if (query.after !== undefined) checkInteger(query.after, 'after');
      if (query.before !== undefined) checkInteger(query.before, 'before');
      const head = await readHead(this.s, conversationId);
      if (!head) return [];
      const from = Math.max(1, (query.after ?? 0) + 1);
      const to = Math.min(head.lastSeq, (query.before ?? Number.MAX_SAFE_INTEGER) - 1);
      return this.quoted(conversationId, await readRange(this.s, conversationId, { from, to, limit: query.limit, backward: query.direction === 'backward' }));
    });
  }

  readChangedMessages(conversationId: string, query: ChangedMessagesQuery): Promise<ChatMessage[]> {
    return this.run('readChangedMessages', () => {
      checkLimit(query.limit);
      checkInteger(query.afterChangeSeq, 'afterChangeSeq');
      checkInteger(query.maxSeq, 'maxSeq');
      return readChanged(this.s, conversationId, query).then((ms) => this.quoted(conversationId, ms));
    });
  }

  readThread(conversationId: string, root: number, query: MessageQuery): Promise<ChatMessage[]> {
    return this.run('readThread', async () => {
      checkLimit(query.limit);
      checkInteger(root, 'root');
      if (query.after !== undefined) checkInteger(query.after, 'after');
      if (query.before !== undefined) checkInteger(query.before, 'before');
      return this.quoted(conversationId, await readThread(this.s, conversationId, root, query));
    });
  }

  /**
   * The user's conversation ids (one partition), their heads (one point read
   * each), sorted by (last activity, id) descending in memory; views for the
   * page only. Costs O(the user's conversations) per page: see DESIGN.md,
   * "Listing by activity", for why not an activity-clustered table.
   */
  listUserConversations(userId: string, page: ConversationPageQuery): Promise<ConversationPageResult> {
    return this.run('listUserConversations', async () => {
      checkLimit(page.limit);
      const cursor = page.before === undefined ? undefined : decodeCursor(page.before);
      const heads = await readHeads(this.s, await userConversationIds(this.s, userId));
      heads.sort((a, b) => b.lastActivityAt - a.lastActivityAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      const after = cursor
        ? heads.filter((h) => h.lastActivityAt < cursor.activity || (h.lastActivityAt === cursor.activity && h.id < cursor.id))
        : heads;
      const pageHeads = after.slice(0, page.limit);
      const views = await mapLimit(pageHeads, FAN_OUT, (head) => this.viewOf(userId, head.id, head));
      const listed = pageHeads.flatMap((head, i) => (views[i] ? [{ head, view: views[i] }] : []));
      // As many as fit page.maxBytes: then the next page starts after the last one kept.
      const fit = viewsThatFit(listed.map((l) => l.view), page.maxBytes);
      const last = fit < listed.length ? listed[fit - 1]!.head : pageHeads[pageHeads.length - 1];
      const more = fit < listed.length || after.length > page.limit;
      return { conversations: listed.slice(0, fit).map((l) => l.view), next: more && last ? encodeCursor(last.lastActivityAt, last.id) : null };
    });
  }

  /** The user's `user_conversations` partition only. */
  userConversationIds(userId: string): Promise<string[]> {
    return this.run('userConversationIds', () => userConversationIds(this.s, userId));
  }

  /** A token range scan of `conversations`, `limit` partitions at a time. */
  listConversationIds(after: string | undefined, limit: number): Promise<string[]> {
    return this.run('listConversationIds', async () => {
      checkLimit(limit);
      const rows = after === undefined ? await this.s.rows('firstConversationIds', [limit]) : await this.s.rows('conversationIdsAfter', [after, limit]);
      return rows.map((r) => r['id'] as string);
    });
  }

  userConversationHeads(userId: string): Promise<ConversationHead[]> {
    return this.run('userConversationHeads', async () => {
      const heads = await readHeads(this.s, await userConversationIds(this.s, userId));
      return heads.map((h) => ({ conversationId: h.id, lastSeq: h.lastSeq, changeSeq: h.changeSeq }));
    });
  }

  /** The user's conversation index (one partition), then each candidate's (one partition each, FAN_OUT at a time). */
  sharingAConversation(userId: string, userIds: readonly string[]): Promise<string[]> {
    return this.run('sharingAConversation', async () => {
      const others = [...new Set(userIds)].filter((u) => u !== userId);
      const mine = new Set(others.length === 0 ? [] : await userConversationIds(this.s, userId));
      const shared = await mapLimit(others, FAN_OUT, async (u) => (mine.size > 0 && (await userConversationIds(this.s, u)).some((c) => mine.has(c)) ? u : undefined));
      const found = shared.filter((u): u is string => u !== undefined);
      return userIds.includes(userId) ? [userId, ...found] : found;
    });
  }

  getConversationViews(userId: string, conversationIds: readonly string[]): Promise<Conversation[]> {
    return this.run('getConversationViews', async () => {
      const views = await mapLimit([...new Set(conversationIds)], FAN_OUT, (id) => this.viewOf(userId, id));
      return views.filter((v): v is Conversation => v !== undefined);
    });
  }

  getMemberViews(conversationId: string, userIds: readonly string[]): Promise<MemberView[]> {
    return this.run('getMemberViews', () => readMemberViews(this.s, conversationId, userIds));
  }

  listMembers(conversationId: string, page: MemberPageQuery): Promise<MemberRecord[]> {
    return this.run('listMembers', () => {
      checkLimit(page.limit);
      return readMemberPage(this.s, conversationId, page.after, page.limit);
    });
  }

  /**
   * Not indexed here: Cassandra has no full-text index, so this store refuses
   * every search with SearchUnsupportedError (protocol `bad_request`).
   * Search at that scale is to come from an external index (docs/protocol.md,
   * message.search), never from this store.
   */
  searchMessages(_userId: string, _query: MessageSearchQuery): Promise<MessageSearchPage> {
    return Promise.reject(new SearchUnsupportedError());
  }

  /**
   * One small write at the store's consistency to write_probes, a table of
   * its own (no chat data; migration 0007): it resolves once the replicas of
   * this store's probe partition take writes again. Errors map as every
   * write's (StoreCannotWriteError on a write failure, StoreUnavailableError
   * when no node answers), so WriteHealthStore reacts as to a real write.
   */
  probeWrite(): Promise<void> {
    return this.run('probeWrite', () => this.s.write('putWriteProbe', [this.probeId, Date.now()]));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // shutdown() waits for requests in flight: what was being written is answered first.
    try {
      await this.s.shutdown();
    } catch (err) {
      throw toStoreError(err, 'close');
    }
  }

  /** One user's view: bounded (readBoundedView) when the store was opened with viewMembers, else listing every member. */
  private async viewOf(userId: string, conversationId: string, head?: HeadRow): Promise<Conversation | undefined> {
    const limit = this.views.viewMembers;
    if (limit !== undefined) return readBoundedView(this.s, conversationId, userId, limit, head);
    return (await readMemberViews(this.s, conversationId, [userId], head))[0]?.view;
  }

  /** Messages of one conversation with their reply quotes resolved from the originals as stored now (point reads). */
  private quoted(conversationId: string, messages: ChatMessage[]): Promise<ChatMessage[]> {
    return resolveQuotes(messages, (seqs) => readMessages(this.s, conversationId, seqs));
  }

  /** Runs an operation with the driver's errors translated; refused once closed. */
  private async run<T>(what: string, op: () => T | Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(`${what}: the Scylla store is closed`);
    try {
      return await op();
    } catch (err) {
      throw toStoreError(err, what);
    }
  }
}
