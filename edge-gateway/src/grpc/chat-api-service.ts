import { randomUUID } from 'node:crypto';
import { type ServerWritableStream, type handleUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import {
  type ChatApiServer,
  type ConversationJson,
  type ImplementedOp,
  type MessageJson,
  type OpResult,
  type OpSchemas,
  type WatchEventsRequest,
  type WatchEventsResponse,
  describeZodError,
} from '@chat/proto';
import { type Logger, SpanKind, contextOf, endSpan, startRootSpan, tracingEnabled } from '@chat/platform';
import type { AuthenticatedUser } from '../auth/token-authority.js';
import type { UserRegistrar } from '../auth/user-registrar.js';
import { DrainingError, InvalidRequestError, RateLimitedError } from '../errors.js';
import { opCost } from '../rate-limit/op-cost.js';
import type { GatewayMetrics } from '../metrics.js';
import type { OpHandlers, RequestContext } from '../ops/op-handlers.js';
import type { Lane } from '../routing/lane.js';
import type { ActorSuccess } from '../routing/backend-client.js';
import type { AuthenticatedCall, CallAuthenticator } from './call-authenticator.js';
import { conversationFromJson, memberFromJson, messageFromJson } from './proto-objects.js';
import { toServiceError } from './status-codes.js';
import { serveStreamMessage } from './stream-message-call.js';
import { WatchStream, type WatchStreamDeps } from './watch-stream.js';

export interface ChatApiDeps {
  handlers: OpHandlers;
  schemas: OpSchemas;
  authenticator: CallAuthenticator;
  registrar: Pick<UserRegistrar, 'knows' | 'ensure'>;
  metrics: GatewayMetrics;
  logger: Logger;
  watch: Omit<WatchStreamDeps, 'handlers' | 'logger'>;
  /**
   * Takes `cost` tokens from the user's rate budget on this gateway, the one
   * their WebSocket sessions share: 0, or the ms until they are there.
   */
  take(userId: string, cost: number): number;
  /** Whether the gateway is shutting down (new calls are refused UNAVAILABLE). */
  draining(): boolean;
  /** Called when a unary call starts and when it is answered, for a clean drain. */
  inFlight(delta: 1 | -1): void;
}

type MessageResult = { message: MessageJson; duplicate?: boolean };
type ConversationResult = { conversation: ConversationJson };

/**
 * The ChatApi service: each unary RPC authenticates the caller, validates its
 * arguments with the WebSocket op's schema and runs the same op handler a
 * WebSocket frame would, with a context of the caller's own: one lanes map
 * per caller on this gateway (like a session's), so a caller's requests to a
 * conversation keep their order across retries and shard moves, and
 * SendMessage is idempotent on client_msg_id exactly as message.send is.
 */
export class ChatApiService {
  /** Per caller: their lanes by conversation, dropped when all are idle. */
  readonly #lanes = new Map<string, Map<string, Lane<ActorSuccess>>>();
  readonly #streams = new Set<WatchStream>();
  /** Tells this gateway's gRPC callers apart from its sessions, and from other gateways' callers, in the actors' lane bookkeeping. */
  readonly #sessionPrefix = `grpc-${randomUUID()}-`;

  constructor(private readonly d: ChatApiDeps) {}

  /** The implementation to add to a grpc-js server. */
  implementation(): ChatApiServer {
    const message = (r: object) => ({ message: messageFromJson((r as MessageResult).message), duplicate: (r as MessageResult).duplicate ?? false });
    const conversation = (r: object) => ({ conversation: conversationFromJson((r as ConversationResult).conversation) });
    return {
      sendMessage: this.#unary('message.send', (q) => ({
        conversationId: q.conversationId,
        clientMsgId: q.clientMsgId,
        body: q.body,
        attachments: q.attachments.map((a) => ({ name: a.name, mediaType: a.mediaType, size: a.size, url: a.url, width: a.width, height: a.height })),
        replyTo: q.replyTo,
        threadRoot: q.threadRoot,
        mentions: q.mentions?.ids,
      }), message),
      streamMessage: (call, callback) =>
        serveStreamMessage(call, callback, {
          handlers: this.d.handlers,
          schemas: this.d.schemas,
          logger: this.d.logger,
          metrics: this.d.metrics,
          authenticate: (metadata) => this.#authenticated(metadata),
          take: (userId, cost) => this.d.take(userId, cost),
          context: (user, receivedAt) => this.#context(user, receivedAt),
          draining: () => this.d.draining(),
          inFlight: (delta) => this.d.inFlight(delta),
        }),
      editMessage: this.#unary('message.edit', (q) => ({ conversationId: q.conversationId, seq: q.seq, body: q.body }), message),
      deleteMessage: this.#unary('message.delete', (q) => ({ conversationId: q.conversationId, seq: q.seq }), message),
      react: this.#unary('message.react', (q) => ({ conversationId: q.conversationId, seq: q.seq, emoji: q.emoji, add: q.add }), message),
      markRead: this.#unary('receipt.mark', (q) => ({ conversationId: q.conversationId, deliveredSeq: q.deliveredSeq, readSeq: q.readSeq }), (r) => r as { deliveredSeq: number; readSeq: number }),
      openDm: this.#unary('conversation.open_dm', (q) => ({ userId: q.userId }), conversation),
      createGroup: this.#unary('conversation.create_group', (q) => ({ title: q.title, members: q.memberIds }), conversation),
      addMembers: this.#unary('conversation.add_members', (q) => ({ conversationId: q.conversationId, userIds: q.userIds }), conversation),
      removeMember: this.#unary('conversation.remove_member', (q) => ({ conversationId: q.conversationId, userId: q.userId }), () => ({})),
      getConversation: this.#unary('conversation.get', (q) => ({ conversationId: q.conversationId }), conversation),
      listConversations: this.#unary('conversation.list', (q) => ({ limit: q.limit, before: q.before }), (r) => {
        const page = r as { conversations: ConversationJson[]; next: string | null };
        return { conversations: page.conversations.map(conversationFromJson), next: page.next ?? undefined };
      }),
      // Protocol extension (docs/protocol.md, "Users by id").
      getUsers: this.#unary('user.get', (q) => ({ userIds: q.userIds }), (r) => ({
        users: (r as OpResult<'user.get'>).users.map((u) => ({ id: u.id, name: u.name, bot: u.bot })),
      })),
      // Protocol extension (docs/protocol.md, "Member paging").
      listMembers: this.#unary('conversation.members', (q) => ({ conversationId: q.conversationId, after: q.after, limit: q.limit }), (r) => {
        const page = r as OpResult<'conversation.members'>;
        return { members: page.members.map(memberFromJson), next: page.next ?? undefined };
      }),
      history: this.#unary('message.history', (q) => ({ conversationId: q.conversationId, before: q.before, after: q.after, limit: q.limit }), (r) => {
        const page = r as { messages: MessageJson[]; hasMore: boolean };
        return { messages: page.messages.map(messageFromJson), hasMore: page.hasMore };
      }),
      thread: this.#unary('message.thread', (q) => ({ conversationId: q.conversationId, root: q.root, before: q.before, after: q.after, limit: q.limit }), (r) => {
        const page = r as OpResult<'message.thread'>;
        return { root: messageFromJson(page.root), messages: page.messages.map(messageFromJson), hasMore: page.hasMore };
      }),
      search: this.#unary('message.search', (q) => ({ query: q.query, conversationId: q.conversationId, before: q.before, limit: q.limit }), (r) => {
        const page = r as OpResult<'message.search'>;
        return { hits: page.hits.map((h) => ({ ...h, message: messageFromJson(h.message) })), next: page.next ?? undefined };
      }),
      watchEvents: (call) => void this.#watch(call),
    };
  }

  /** Ends every WatchEvents stream (gateway shutdown): clients resume elsewhere with their watermarks. */
  stopStreams(): void {
    for (const stream of [...this.#streams]) stream.shutdown();
  }

  /**
   * A unary RPC as a WebSocket op: `toArgs` turns the request into the op's
   * frame arguments (validated by the op's schema), `toReply` the op's
   * result into the RPC's reply.
   */
  #unary<Req, Res>(op: ImplementedOp, toArgs: (request: Req) => object, toReply: (result: object) => Res): handleUnaryCall<Req, Res> {
    return (call, callback: sendUnaryData<Res>) => {
      const receivedAt = performance.timeOrigin + performance.now();
      if (this.d.draining()) {
        callback(toServiceError(new DrainingError(), this.d.logger, op));
        return;
      }
      this.d.inFlight(1);
      let userId: string | undefined;
      const span = tracingEnabled() ? startRootSpan(`chat ${op}`, { kind: SpanKind.SERVER, startTime: receivedAt, attributes: { 'chat.op': op, 'chat.transport': 'grpc', 'rpc.system': 'grpc' } }) : undefined;
      const run = async () => {
        const { user } = await this.#authenticated(call.metadata);
        userId = user.id;
        const parsed = this.d.schemas[op].safeParse(toArgs(call.request));
        if (!parsed.success) throw new InvalidRequestError(`invalid ${op}: ${describeZodError(parsed.error)}`);
        this.#charge(user.id, op, opCost(op, parsed.data as never));
        const handler = this.d.handlers[op] as (ctx: RequestContext, args: unknown) => Promise<object>;
        const ctx = this.#context(user, receivedAt);
        if (span) ctx.trace = contextOf(span);
        return toReply(await handler(ctx, parsed.data));
      };
      run()
        .then(
          (reply) => {
            this.d.metrics.requests.inc({ op, outcome: 'ok' });
            callback(null, reply);
            if (span) endSpan(span);
          },
          (err: unknown) => {
            const error = toServiceError(err, this.d.logger, op);
            this.d.metrics.requests.inc({ op, outcome: String(error.metadata?.get('chat-error-code')[0] ?? 'internal') });
            callback(error);
            if (span) endSpan(span, err);
          },
        )
        .finally(() => {
          if (userId !== undefined && this.#lanes.get(userId)?.size === 0) this.#lanes.delete(userId);
          this.d.inFlight(-1);
        });
    };
  }

  async #watch(call: ServerWritableStream<WatchEventsRequest, WatchEventsResponse>): Promise<void> {
    call.on('error', () => {}); // a client gone mid-write; the stream sees 'cancelled'
    const receivedAt = performance.timeOrigin + performance.now();
    let stream: WatchStream;
    let caller: AuthenticatedCall;
    try {
      if (this.d.draining()) throw new DrainingError();
      caller = await this.#authenticated(call.metadata);
      const user = caller.user;
      const parsed = this.d.schemas.sync.safeParse({ since: call.request.since, changesSince: call.request.changesSince });
      if (!parsed.success) throw new InvalidRequestError(`invalid WatchEvents: ${describeZodError(parsed.error)}`);
      this.#charge(user.id, 'WatchEvents', opCost('sync', parsed.data));
      // A lanes map of the stream's own: its replay reads history, which must not wait behind the caller's sends.
      const ctx: RequestContext = { user, sessionId: `${this.#sessionPrefix}${randomUUID()}`, lanes: new Map(), receivedAt };
      stream = new WatchStream(call, ctx, parsed.data, { ...this.d.watch, handlers: this.d.handlers, logger: this.d.logger });
    } catch (err) {
      call.emit('error', toServiceError(err, this.d.logger, 'WatchEvents'));
      return;
    }
    this.#streams.add(stream);
    // A revoked bot token or an expired JWT ends the stream UNAUTHENTICATED.
    const watching = caller.watch((err) => stream.revoke(err.message));
    stream.whenClosed(() => {
      watching.stop();
      this.#streams.delete(stream);
    });
    await stream.run();
  }

  /** Charges a call to the caller's rate budget, or refuses it rate_limited (RESOURCE_EXHAUSTED with retry-after-ms). */
  #charge(userId: string, op: string, cost: number): void {
    const wait = this.d.take(userId, cost);
    if (wait > 0) throw new RateLimitedError(wait, cost > 1 ? { op, cost } : undefined);
  }

  /** The caller, known to the user directory (registered on their first call here, as on a WebSocket connect). */
  async #authenticated(metadata: Parameters<CallAuthenticator['authenticate']>[0]): Promise<AuthenticatedCall> {
    const caller = await this.d.authenticator.authenticate(metadata);
    if (!this.d.registrar.knows(caller.user)) await this.d.registrar.ensure(caller.user);
    return caller;
  }

  #context(user: AuthenticatedUser, receivedAt: number): RequestContext {
    let lanes = this.#lanes.get(user.id);
    if (!lanes) this.#lanes.set(user.id, (lanes = new Map()));
    return { user, sessionId: `${this.#sessionPrefix}${user.id}`, lanes, receivedAt };
  }
}
