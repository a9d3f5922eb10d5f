import type { BackendClient } from '../routing/backend-client.js';
import { NotAMemberError } from '../errors.js';
import type { OpHandlers } from '../ops/op-handlers.js';
import type { PresenceClient } from './presence-client.js';
import type { TypingReport } from './session-reporter.js';

/** The handlers of the presence ops; createOpHandlers merges them in. */
export type PresenceOpHandlers = Pick<OpHandlers, 'typing' | 'presence.get'>;

/**
 * `typing` and `presence.get`. `typing` is checked against the conversations
 * this gateway follows for the typist (`isMember`: loaded from the store at
 * connect, kept current by their membership events), then reported to the
 * presence service (`report`), which holds the typing lease, relays the
 * event to the members and sends `active: false` when the typist goes quiet
 * or their session goes down, so a non-member never gets a lease and a typist
 * is stopped even if this gateway dies. No actor is involved. `presence.get` is answered
 * by the presence service, for the users who share a conversation with the
 * caller only (the query service checks, from the store); anyone else is
 * answered as never seen.
 */
export function createPresenceOps(deps: {
  backend: BackendClient;
  isMember: (userId: string, conversationId: string) => boolean;
  report: (typing: TypingReport, at: number) => void;
  presence: PresenceClient;
}): PresenceOpHandlers {
  const { backend, isMember, report, presence } = deps;
  return {
    typing: async (ctx, args) => {
      if (!isMember(ctx.user.id, args.conversationId)) throw new NotAMemberError(args.conversationId);
      report({ conversationId: args.conversationId, userId: ctx.user.id, sessionId: ctx.sessionId, active: args.active }, ctx.receivedAt);
      return {};
    },

    'presence.get': async (ctx, args) => {
      // Presence is private to contacts: users who share no conversation with the
      // caller are answered as never seen, indistinguishable from a real one.
      const r = await backend.query({ caller: { id: ctx.user.id, name: ctx.user.name }, op: { $case: 'contactsAmong', value: { userIds: args.userIds } } }, { trace: ctx.trace });
      if (r.$case !== 'userIds') throw new Error(`unexpected reply kind ${r.$case}`);
      const visible = new Set(r.value.userIds);
      const known = visible.size === 0 ? [] : await presence.get(args.userIds.filter((u) => visible.has(u)), ctx.trace);
      const byUser = new Map(known.map((p) => [p.userId, p]));
      return { presence: args.userIds.map((userId) => byUser.get(userId) ?? { userId, online: false, lastSeen: null }) };
    },
  };
}
