import {
  DEFAULT_LIMITS,
  MAX_SEARCH_LIMIT,
  MAX_USER_GET_IDS,
  type ChatMessage,
  type Conversation,
  type MessageList,
  QUERY_OP_LABELS,
  QUERY_QUEUE,
  QUERY_SUBJECT,
  QueryReply,
  QueryRequest,
  type SyncResult,
  type User,
  type Sync,
  boundView,
} from '@chat/proto';
import { type Bus, type BusMessage, type Logger, type Span, type Subscription, SpanKind, contextFromHeaders, decodeBody, encoded, endSpan, isBotTokenHash, startSpan } from '@chat/platform';
import type { ChatStore } from '../store/store.js';
import type { ActorMetrics } from '../metrics.js';
import { BadRequestError, errorCodeOf, isNoRetry } from '../errors.js';
import { needsSync, readUpdatedMessages } from './sync-changes.js';
import { pageBudget } from '../store/reply-budget.js';

export interface QueryServiceOptions {
  bus: Bus;
  store: ChatStore;
  logger: Logger;
  metrics: ActorMetrics;
  /** Most messages one sync reply carries over all conversations; the rest are marked truncated. */
  maxSyncMessages: number;
  /** Most members a view lists (ProtocolLimits.viewMembers; default DEFAULT_LIMITS'): list and sync bound theirs. */
  viewMembers?: number;
}

/** Default cap on messages in one sync reply, so a reply stays well under bus message limits. */
export const DEFAULT_MAX_SYNC_MESSAGES = 2000;

/**
 * User-scoped reads that span conversations (the directory, the conversation
 * list, sync, message search), answered from the store by any actor host in a queue group.
 * They read only what actors have already persisted, so they never see an
 * unacknowledged message.
 */
export class QueryService {
  #sub: Subscription | undefined;
  #inFlight = 0;
  #idle: (() => void) | undefined;

  constructor(private readonly options: QueryServiceOptions) {}

  start(): void {
    this.#sub = this.options.bus.subscribe(QUERY_SUBJECT, (msg) => this.#onRequest(msg), { queue: QUERY_QUEUE });
  }

  /** Stops taking queries and waits for those in flight. */
  async stop(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  #onRequest(msg: BusMessage): void {
    this.#inFlight++;
    let op = 'undecodable';
    let span: Span | undefined;
    const done = (reply: QueryReply) => {
      const outcome = reply.result?.$case === 'failure' ? reply.result.value.code : 'ok';
      this.options.metrics.requests.inc({ op, outcome });
      msg.respond(encoded(QueryReply, reply));
      if (span) endSpan(span, outcome === 'ok' ? undefined : outcome);
      if (--this.#inFlight === 0 && this.#idle) this.#idle();
    };
    let req: QueryRequest;
    try {
      req = decodeBody(msg, QueryRequest);
    } catch (err) {
      this.options.logger.warn({ err }, 'undecodable query');
      done(fail('bad_request', 'undecodable query'));
      return;
    }
    op = req.op ? QUERY_OP_LABELS[req.op.$case] : 'none';
    // Tracing on and the request traced: a server span under the gateway's request span.
    const parent = contextFromHeaders(msg.headers);
    if (parent) span = startSpan(`query ${req.op?.$case ?? 'none'}`, { kind: SpanKind.SERVER, parent, attributes: { 'chat.op': op } });
    this.#handle(req).then(done, (err: unknown) => {
      const code = errorCodeOf(err);
      if (code === 'internal') this.options.logger.error({ err, op }, 'query failed');
      done(fail(code, code === 'internal' ? 'internal error' : err instanceof Error ? err.message : String(err), isNoRetry(err)));
    });
  }

  async #handle(req: QueryRequest): Promise<QueryReply> {
    const { store } = this.options;
    const op = req.op;
    // Before the caller check: this is how a gateway learns who the caller is.
    if (op?.$case === 'verifyBotToken') return verifyBotToken(store, op.value.tokenHash);
    const caller = req.caller;
    if (!caller?.id) throw new BadRequestError('query without caller');
    switch (op?.$case) {
      case 'register': {
        const user = op.value.user;
        if (!user || user.id !== caller.id) throw new BadRequestError('users register themselves only');
        await store.upsertUser(user);
        return { result: { $case: 'done', value: {} } };
      }
      case 'search':
        return { result: { $case: 'users', value: { users: await store.searchUsers(op.value.prefix, op.value.limit) } } };
      case 'getUsers': {
        // The gateway allows MAX_USER_GET_IDS; this bound only keeps another bus client from asking for everyone.
        if (op.value.userIds.length > MAX_USER_GET_IDS) throw new BadRequestError(`getUsers takes at most ${MAX_USER_GET_IDS} user ids`);
        return { result: { $case: 'users', value: { users: await store.getUsers([...new Set(op.value.userIds)]) } } };
      }
      case 'list': {
        // No more views than a reply over the bus can carry: the page is shorter and `next` goes on from there.
        const maxBytes = pageBudget(this.options.bus.maxPayload());
        const page = await store.listUserConversations(caller.id, { limit: op.value.limit, before: op.value.before, maxBytes });
        return { result: { $case: 'page', value: { conversations: this.#bounded(page.conversations, caller.id), next: page.next ?? undefined } } };
      }
      case 'sync':
        return { result: { $case: 'sync', value: await this.#sync(caller, op.value) } };
      case 'contactsAmong': {
        // presence.get asks at most MAX_PRESENCE_IDS; this bound only keeps a buggy caller from asking for everyone.
        if (op.value.userIds.length > 1000) throw new BadRequestError('contactsAmong takes at most 1000 user ids');
        return { result: { $case: 'userIds', value: { userIds: await store.sharingAConversation(caller.id, op.value.userIds) } } };
      }
      case 'rooms': {
        // What the caller's gateway follows: one partition read, however many conversations.
        return { result: { $case: 'rooms', value: { conversationIds: await store.userConversationIds(caller.id) } } };
      }
      case 'searchMessages': {
        // Membership is read by the store in the search's own snapshot: a removed member finds nothing there.
        const { query, conversationId, before, limit } = op.value;
        if (limit < 1 || limit > MAX_SEARCH_LIMIT) throw new BadRequestError(`search limit must be 1 to ${MAX_SEARCH_LIMIT}`);
        const page = await store.searchMessages(caller.id, { text: query, conversationId, before, limit });
        return { result: { $case: 'searchPage', value: { hits: page.hits, next: page.next ?? undefined } } };
      }
      default:
        throw new BadRequestError('query without a known op');
    }
  }

  /**
   * Every conversation of the caller that changed since the client's marks (or
   * that the client does not know), with the newest messages after each mark.
   * A conversation with more than `limit` new messages, or past the reply's
   * message budget, is listed in `truncated`: its newest messages are included
   * (when the budget allows) and the client fills the gap with message.history.
   * With changesSince (sync-changes.ts), conversations changed after their
   * mark are listed too, and `updated` holds their changed older messages.
   */
  async #sync(caller: User, args: Sync): Promise<SyncResult> {
    const { store, maxSyncMessages } = this.options;
    const heads = await store.userConversationHeads(caller.id);
    const changed = heads.filter((h) => needsSync(h, args));
    const conversations = await store.getConversationViews(
      caller.id,
      changed.map((h) => h.conversationId),
    );
    const messages: Record<string, MessageList> = {};
    const truncated: string[] = [];
    let budget = maxSyncMessages;
    for (const head of changed) {
      const after = args.since[head.conversationId] ?? 0;
      const missing = head.lastSeq - after;
      if (missing <= 0) continue;
      const take = Math.min(args.limit, missing, budget);
      if (take < missing) truncated.push(head.conversationId);
      if (take <= 0) continue;
      const rows: ChatMessage[] = await store.readMessages(head.conversationId, {
        after,
        before: head.lastSeq + 1,
        limit: take,
        direction: 'backward',
      });
      budget -= rows.length;
      messages[head.conversationId] = { messages: rows };
    }
    // After the views: every change their changeSeq counts is committed before these reads.
    const changes = await readUpdatedMessages(store, changed, args, budget);
    for (const id of changes.truncated) if (!truncated.includes(id)) truncated.push(id);
    return { conversations: this.#bounded(conversations, caller.id), messages, truncated, updated: changes.updated };
  }

  /** Views as the caller receives them: members bounded (docs/protocol.md, "Member paging"), so a list of big groups stays small. */
  #bounded(views: readonly Conversation[], userId: string): Conversation[] {
    const limit = this.options.viewMembers ?? DEFAULT_LIMITS.viewMembers;
    return views.map((v) => boundView(v, userId, limit));
  }
}

/**
 * The bot whose live token has this hash, or `unauthorized`. The reply says
 * neither whether the bot exists nor whether it was revoked: a caller
 * guessing tokens learns nothing. Never cached here: a revocation committed
 * to the store refuses the very next verification.
 */
async function verifyBotToken(store: ChatStore, tokenHash: string): Promise<QueryReply> {
  if (!isBotTokenHash(tokenHash)) throw new BadRequestError('verifyBotToken: tokenHash must be a SHA-256 in lowercase hex');
  const bot = await store.botByTokenHash(tokenHash);
  if (!bot) return fail('unauthorized', 'unknown or revoked bot token');
  return { result: { $case: 'bot', value: bot } };
}

function fail(code: string, message: string, noRetry?: boolean): QueryReply {
  return { result: { $case: 'failure', value: { code, message, retryAfterMs: undefined, noRetry: noRetry || undefined } } };
}
