import type { ActorReply } from '@chat/proto';
import type { ConversationRecord } from '../store/store.js';
import type { EventPublisher } from './event-publisher.js';

/**
 * `typing`: publishes `{conversationId, userId, active}` once on the
 * conversation's subject; gateways deliver it to every member but the typist
 * (none of the typist's own sessions). The caller (the actor) has checked
 * that `userId` is a member.
 *
 * Why through the actor: it holds the members in memory, so the membership
 * check costs no store access once the head is loaded, and its events to the
 * conversation stay in one publisher's order with membership changes. Nothing
 * is stored, no seq is taken, and the lane is not used (the gateway sends
 * typing with laneSeq 0), so typing never waits for nor delays a send beyond
 * its turn in the mailbox. Expiry (`active: false` after 6 s of quiet or on
 * disconnect) is the presence service's job: it holds the typing leases the
 * gateways report, and announces each one it ends; a TypingEnder on an actor
 * host then sends this same request, `active: false`, for the typist.
 */
export function relayTyping(record: ConversationRecord, userId: string, active: boolean, events: EventPublisher): ActorReply {
  // A conversation of one (everyone else left) has nobody to tell.
  if (record.members.length > 1) events.typing({ conversationId: record.id, userId, active });
  return TYPING_RELAYED;
}

const TYPING_RELAYED: ActorReply = { result: { $case: 'typing', value: {} } };
