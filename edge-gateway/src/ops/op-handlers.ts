import {
  type ActorRequest,
  type ImplementedOp,
  type MessageJson,
  type OpArgs,
  type OpResult,
  type User,
  conversationToJson,
  dmConversationId,
  memberToJson,
  messageToJson,
  newGroupId,
  userToJson,
} from '@chat/proto';
import type { Clock, Context } from '@chat/platform';
import type { ActorSuccess, BackendClient } from '../routing/backend-client.js';
import { type RetryPolicy, Lane } from '../routing/lane.js';
import type { AuthenticatedUser } from '../auth/token-authority.js';
import type { PresenceOpHandlers } from '../presence/presence-ops.js';

/** What a handler knows of the request beyond its arguments. */
export interface RequestContext {
  user: AuthenticatedUser;
  sessionId: string;
  /** The session's lanes (see Lane): requests to one conversation stay in order across retries. */
  lanes: Map<string, Lane<ActorSuccess>>;
  /** Receipt time of the frame, ms since the epoch with a sub-ms fraction. */
  receivedAt: number;
  /** The request's span (set only when tracing is on): the parent of its bus requests. */
  trace?: Context | undefined;
}

/** A handler answers exactly its op's result schema (proto/src/replies.ts). */
type Handler<K extends ImplementedOp> = (ctx: RequestContext, args: OpArgs<K>) => Promise<OpResult<K>>;
export type OpHandlers = { [K in ImplementedOp]: Handler<K> };

/**
 * The implemented ops of protocol v1: each turns validated arguments into a
 * bus request and the reply into the protocol's result object. Everything up
 * to the bus publish runs synchronously, so a session's requests reach the
 * actor in the order the session sent them.
 */
export function createOpHandlers(backend: BackendClient, clock: Clock, retry: RetryPolicy, presenceOps: PresenceOpHandlers): OpHandlers {
  const caller = (ctx: RequestContext): User => ({ id: ctx.user.id, name: ctx.user.name });
  const laneOf = (ctx: RequestContext, conversationId: string) => {
    let lane = ctx.lanes.get(conversationId);
    if (!lane) {
      const created: Lane<ActorSuccess> = new Lane<ActorSuccess>(retry, () => {
        if (ctx.lanes.get(conversationId) === created) ctx.lanes.delete(conversationId);
      });
      ctx.lanes.set(conversationId, (lane = created));
    }
    return lane;
  };
  /** `idempotent`: resending after a timeout is harmless (everything but create_group). */
  const actor = (ctx: RequestContext, conversationId: string, op: ActorRequest['op'], idempotent = true) =>
    backend.actor(
      { caller: caller(ctx), conversationId, receivedAt: ctx.receivedAt, sessionId: ctx.sessionId, laneSeq: 0, laneAfter: 0, op },
      laneOf(ctx, conversationId),
      idempotent,
      undefined,
      ctx.trace,
    );
  /** edit, delete and react share the session's lane with sends, so they apply in the order the session sent them. */
  const messageResult = async (pending: ReturnType<typeof actor>) => {
    const r = await pending;
    if (r.$case !== 'message' || !r.value.message) throw unexpected(r.$case);
    return { message: messageToJson(r.value.message) };
  };
  const conversationResult = async (pending: ReturnType<typeof actor>) => {
    const r = await pending;
    if (r.$case !== 'conversation' || !r.value.conversation) throw unexpected(r.$case);
    return { conversation: conversationToJson(r.value.conversation) };
  };

  return {
    // typing and presence.get (../presence/presence-ops.ts).
    ...presenceOps,

    ping: async () => ({ serverTime: clock.now() }),

    'user.search': async (ctx, args) => {
      const r = await backend.query({ caller: caller(ctx), op: { $case: 'search', value: { prefix: args.prefix, limit: args.limit } } }, { trace: ctx.trace });
      if (r.$case !== 'users') throw unexpected(r.$case);
      return { users: r.value.users.map(userToJson) };
    },

    // Protocol extension (docs/protocol.md, "Users by id").
    'user.get': async (ctx, args) => {
      const r = await backend.query({ caller: caller(ctx), op: { $case: 'getUsers', value: { userIds: args.userIds } } }, { trace: ctx.trace });
      if (r.$case !== 'users') throw unexpected(r.$case);
      return { users: r.value.users.map(userToJson) };
    },

    'conversation.open_dm': (ctx, args) =>
      conversationResult(actor(ctx, dmConversationId(ctx.user.id, args.userId), { $case: 'openDm', value: { peer: { id: args.userId, name: '' } } })),

    'conversation.create_group': (ctx, args) =>
      conversationResult(actor(ctx, newGroupId(), { $case: 'createGroup', value: { title: args.title, memberIds: args.members } }, false)),

    'conversation.get': (ctx, args) => conversationResult(actor(ctx, args.conversationId, { $case: 'get', value: {} })),

    // Membership ops run in the conversation's actor, on the session's lane, so
    // they apply in order with the session's sends. All idempotent: a retry of
    // an applied change is a no-op.
    'conversation.add_members': (ctx, args) =>
      conversationResult(actor(ctx, args.conversationId, { $case: 'addMembers', value: { userIds: args.userIds } })),

    'conversation.remove_member': async (ctx, args) => {
      const r = await actor(ctx, args.conversationId, { $case: 'removeMember', value: { userId: args.userId } });
      if (r.$case !== 'memberRemoved') throw unexpected(r.$case);
      return {};
    },

    'conversation.set_role': (ctx, args) =>
      conversationResult(actor(ctx, args.conversationId, { $case: 'setRole', value: { userId: args.userId, role: args.role } })),

    'conversation.rename': (ctx, args) =>
      conversationResult(actor(ctx, args.conversationId, { $case: 'rename', value: { title: args.title } })),

    // Protocol extension (docs/protocol.md, "Member paging"): served by the conversation's actor, like history.
    'conversation.members': async (ctx, args) => {
      const r = await actor(ctx, args.conversationId, { $case: 'members', value: { after: args.after, limit: args.limit } });
      if (r.$case !== 'memberPage') throw unexpected(r.$case);
      return { members: r.value.members.map(memberToJson), next: r.value.next ?? null };
    },

    'conversation.list': async (ctx, args) => {
      const r = await backend.query({ caller: caller(ctx), op: { $case: 'list', value: { limit: args.limit, before: args.before } } }, { trace: ctx.trace });
      if (r.$case !== 'page') throw unexpected(r.$case);
      return { conversations: r.value.conversations.map(conversationToJson), next: r.value.next ?? null };
    },

    'message.send': async (ctx, args) => {
      const r = await actor(ctx, args.conversationId, {
        $case: 'send',
        value: { clientMsgId: args.clientMsgId, body: args.body, attachments: args.attachments, streaming: args.streaming || undefined, replyTo: args.replyTo, threadRoot: args.threadRoot,
          mentions: args.mentions && args.mentions.length > 0 ? { ids: args.mentions } : undefined },
      });
      if (r.$case !== 'send' || !r.value.message) throw unexpected(r.$case);
      return { message: messageToJson(r.value.message), duplicate: r.value.duplicate };
    },

    // All three are idempotent: a retry of an applied change is a no-op that answers the current message.
    'message.edit': (ctx, args) =>
      messageResult(actor(ctx, args.conversationId, { $case: 'edit', value: { seq: args.seq, body: args.body } })),

    'message.delete': (ctx, args) => messageResult(actor(ctx, args.conversationId, { $case: 'delete', value: { seq: args.seq } })),

    'message.react': (ctx, args) =>
      messageResult(actor(ctx, args.conversationId, { $case: 'react', value: { seq: args.seq, emoji: args.emoji, add: args.add } })),

    // Protocol extension: grows a streaming message (idempotent: an overlap appends only what is new);
    // `length` is the body's length now, so a caller that sees it short of what it sent resends from there.
    'message.stream': async (ctx, args) => {
      const { seq, offset, text, end, truncated } = args;
      const r = await actor(ctx, args.conversationId, { $case: 'streamAppend', value: { seq, offset, text, end, truncated } });
      if (r.$case !== 'stream') throw unexpected(r.$case);
      return { length: r.value.length, message: r.value.message ? messageToJson(r.value.message) : null };
    },

    'message.history': async (ctx, args) => {
      const r = await actor(ctx, args.conversationId, {
        $case: 'history',
        value: { before: args.before, after: args.after, limit: args.limit },
      });
      if (r.$case !== 'history') throw unexpected(r.$case);
      return { messages: r.value.messages.map(messageToJson), hasMore: r.value.hasMore };
    },

    // Protocol extension: a page of one thread (served by the conversation's actor, like history).
    'message.thread': async (ctx, args) => {
      const r = await actor(ctx, args.conversationId, {
        $case: 'thread',
        value: { root: args.root, before: args.before, after: args.after, limit: args.limit },
      });
      if (r.$case !== 'history' || !r.value.root) throw unexpected(r.$case);
      return { root: messageToJson(r.value.root), messages: r.value.messages.map(messageToJson), hasMore: r.value.hasMore };
    },

    // Protocol extension: any actor host answers from the store, which checks membership at query time.
    'message.search': async (ctx, args) => {
      const value = { query: args.query, conversationId: args.conversationId, before: args.before, limit: args.limit };
      const r = await backend.query({ caller: caller(ctx), op: { $case: 'searchMessages', value } }, { trace: ctx.trace });
      if (r.$case !== 'searchPage') throw unexpected(r.$case);
      const hits = r.value.hits.flatMap((h) => (h.message ? [{ message: messageToJson(h.message), snippet: h.snippet, highlights: h.highlights }] : []));
      return { hits, next: r.value.next ?? null };
    },

    // Idempotent (marks only move forward), and on the session's lane: marks follow the sends before them.
    'receipt.mark': async (ctx, args) => {
      const r = await actor(ctx, args.conversationId, { $case: 'markReceipt', value: { deliveredSeq: args.deliveredSeq, readSeq: args.readSeq } });
      if (r.$case !== 'receipt') throw unexpected(r.$case);
      return { deliveredSeq: r.value.deliveredSeq, readSeq: r.value.readSeq };
    },

    sync: async (ctx, args) => {
      const value = { since: args.since, limit: args.limit, changesSince: args.changesSince ?? {} };
      const r = await backend.query({ caller: caller(ctx), op: { $case: 'sync', value } }, { trace: ctx.trace });
      if (r.$case !== 'sync') throw unexpected(r.$case);
      const messages: Record<string, MessageJson[]> = {};
      for (const [id, list] of Object.entries(r.value.messages)) messages[id] = list.messages.map(messageToJson);
      // Protocol extension (docs/protocol.md): changed messages at or before `since`.
      const updated: Record<string, MessageJson[]> = {};
      for (const [id, list] of Object.entries(r.value.updated)) updated[id] = list.messages.map(messageToJson);
      return { conversations: r.value.conversations.map(conversationToJson), messages, truncated: r.value.truncated, updated };
    },
  };
}

function unexpected(kind: string): Error {
  return new Error(`unexpected reply kind ${kind}`);
}
