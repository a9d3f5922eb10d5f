import type { ActorRequest } from '@chat/proto';
import type { Clock, Logger } from '@chat/platform';
import type { BackendClient } from '../routing/backend-client.js';
import type { OpHandlers } from '../ops/op-handlers.js';
import type { PresenceClient } from './presence-client.js';
import type { Typist, TypingTracker } from './typing-tracker.js';

/** The handlers of the presence ops; createOpHandlers merges them in. */
export type PresenceOpHandlers = Pick<OpHandlers, 'typing' | 'presence.get'>;

/**
 * The actor request that relays `typing` to the conversation's other members.
 * It goes without a lane (laneSeq 0): typing is ephemeral, so it neither
 * waits behind nor holds up the session's sends, and an expiry timer covers
 * any reordering a retry could cause.
 */
export function typingRequest(typist: Typist, conversationId: string, active: boolean, receivedAt: number): ActorRequest {
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
 * What the gateway does when a typist goes quiet or its session closes:
 * `typing active: false` on its behalf, through the actor like the client's
 * own. Best effort: a failure is logged at debug level and forgotten (the
 * other members' clients stop showing it on their own eventually).
 */
export function typingStopper(backend: BackendClient, clock: Clock, logger: Logger): (typist: Typist, conversationId: string) => void {
  return (typist, conversationId) => {
    backend.actor(typingRequest(typist, conversationId, false, clock.now()), undefined, true).catch((err: unknown) => {
      logger.debug({ err, conversationId, userId: typist.user.id }, 'cannot stop a typist');
    });
  };
}

/**
 * `typing` and `presence.get`. `typing` is checked (membership) and relayed
 * by the conversation's actor, which has the members in memory; only once it
 * succeeded does the gateway arm (active) or cancel (inactive) the session's
 * expiry timer, so a non-member never gets one. `presence.get` is answered by
 * the presence service.
 */
export function createPresenceOps(deps: { backend: BackendClient; typing: TypingTracker; presence: PresenceClient }): PresenceOpHandlers {
  const { backend, typing, presence } = deps;
  return {
    typing: async (ctx, args) => {
      const typist: Typist = { sessionId: ctx.sessionId, user: { id: ctx.user.id, name: ctx.user.name } };
      const r = await backend.actor(typingRequest(typist, args.conversationId, args.active, ctx.receivedAt), undefined, true);
      if (r.$case !== 'typing') throw new Error(`unexpected reply kind ${r.$case}`);
      if (args.active) typing.active(typist, args.conversationId);
      else typing.inactive(ctx.sessionId, args.conversationId);
      return {};
    },

    'presence.get': async (_ctx, args) => ({ presence: await presence.get(args.userIds) }),
  };
}
