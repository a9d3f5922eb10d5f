import type { ActorRequest } from '@chat/proto';
import type { BackendClient } from '../routing/backend-client.js';
import type { OpHandlers } from '../ops/op-handlers.js';
import type { PresenceClient } from './presence-client.js';
import type { TypingReport } from './session-reporter.js';

/** The handlers of the presence ops; createOpHandlers merges them in. */
export type PresenceOpHandlers = Pick<OpHandlers, 'typing' | 'presence.get'>;

/**
 * The actor request that relays `typing` to the conversation's other members.
 * It goes without a lane (laneSeq 0): typing is ephemeral, so it neither
 * waits behind nor holds up the session's sends, and the typing lease covers
 * any reordering a retry could cause.
 */
export function typingRequest(
  typist: { sessionId: string; user: { id: string; name: string } },
  conversationId: string,
  active: boolean,
  receivedAt: number,
): ActorRequest {
  return {
    caller: { id: typist.user.id, name: typist.user.name },
    conversationId,
    receivedAt,
    sessionId: typist.sessionId,
    laneSeq: 0,
    laneAfter: 0,
    op: { $case: 'typing', value: { active } },
  };
}

/**
 * `typing` and `presence.get`. `typing` is checked (membership) and relayed
 * by the conversation's actor, which has the members in memory; only once it
 * succeeded does the gateway report it to the presence service (`report`),
 * which holds the typing lease and has `active: false` sent when the typist
 * goes quiet or its session goes down, so a non-member never gets a lease and
 * a typist is stopped even if this gateway dies. `presence.get` is answered
 * by the presence service, for the users who share a conversation with the
 * caller only (the query service checks, from the store); anyone else is
 * answered as never seen.
 */
export function createPresenceOps(deps: {
  backend: BackendClient;
  report: (typing: TypingReport, at: number) => void;
  presence: PresenceClient;
}): PresenceOpHandlers {
  const { backend, report, presence } = deps;
  return {
    typing: async (ctx, args) => {
      const r = await backend.actor(typingRequest(ctx, args.conversationId, args.active, ctx.receivedAt), undefined, true);
      if (r.$case !== 'typing') throw new Error(`unexpected reply kind ${r.$case}`);
      report({ conversationId: args.conversationId, userId: ctx.user.id, sessionId: ctx.sessionId, active: args.active }, ctx.receivedAt);
      return {};
    },

    'presence.get': async (ctx, args) => {
      // Presence is private to contacts: users who share no conversation with the
      // caller are answered as never seen, indistinguishable from a real one.
      const r = await backend.query({ caller: { id: ctx.user.id, name: ctx.user.name }, op: { $case: 'contactsAmong', value: { userIds: args.userIds } } });
      if (r.$case !== 'userIds') throw new Error(`unexpected reply kind ${r.$case}`);
      const visible = new Set(r.value.userIds);
      const known = visible.size === 0 ? [] : await presence.get(args.userIds.filter((u) => visible.has(u)));
      const byUser = new Map(known.map((p) => [p.userId, p]));
      return { presence: args.userIds.map((userId) => byUser.get(userId) ?? { userId, online: false, lastSeen: null }) };
    },
  };
}
