import type { ActorReply } from '@chat/proto';
import type { ConversationRecord } from '../store/store.js';
import type { EventPublisher } from './event-publisher.js';

/**
 * `typing`: sends `{conversationId, userId, active}` to every member of the
 * conversation but the typist (all their sessions, through their user
 * subjects; none of the typist's own sessions). The caller (the actor) has
 * checked that `userId` is a member.
 *
 * Why through the actor: it already holds the members in memory, so the
 * membership check and the recipient list cost no store access once the head
 * is loaded, and membership changes (add, remove) apply to typing at once.
 * Nothing is stored, no seq is taken, and the lane is not used (the gateway
 * sends typing with laneSeq 0), so typing never waits for nor delays a send
 * beyond its turn in the mailbox. Expiry (`active: false` after 6 s of quiet
 * or on disconnect) is the presence service's job: it holds the typing leases
 * the gateways report, and announces each one it ends; a TypingEnder on an
 * actor host then sends this same request, `active: false`, for the typist.
 */
export function relayTyping(record: ConversationRecord, userId: string, active: boolean, events: EventPublisher): ActorReply {
  const recipients: string[] = [];
  for (const m of record.members) if (m.userId !== userId) recipients.push(m.userId);
  if (recipients.length > 0) events.typing(recipients, { conversationId: record.id, userId, active });
  return TYPING_RELAYED;
}

const TYPING_RELAYED: ActorReply = { result: { $case: 'typing', value: {} } };
