import { Conversation, type Member } from '@chat/proto';
import { type Bus, ConfigError, FRAME_OVERHEAD_BYTES } from '@chat/platform';

/** The encoded size of `viewMembers` members at their largest (64-character ids, the longest role, the largest marks). */
export function largestMemberListBytes(viewMembers: number): number {
  const member = (i: number): Member => ({ userId: String(i).padStart(64, 'x'), role: 'member', readSeq: Number.MAX_SAFE_INTEGER, deliveredSeq: Number.MAX_SAFE_INTEGER });
  const members = Array.from({ length: viewMembers }, (_, i) => member(i));
  const empty = Conversation.encode({ id: '', kind: '', members: [], createdAt: 0, lastSeq: 0, readSeq: 0, deliveredSeq: 0, unread: 0, changeSeq: 0 }).finish().length;
  return Conversation.encode({ id: '', kind: '', members, createdAt: 0, lastSeq: 0, readSeq: 0, deliveredSeq: 0, unread: 0, changeSeq: 0 }).finish().length - empty;
}

/**
 * Refuses to start an actor host whose views cannot fit the bus: every event
 * that carries a view (conversation.updated, a membership change's
 * ConversationViews, a new group) holds up to `viewMembers` members and a
 * last message (about a client frame, `maxFrameBytes`: its reactions are
 * bounded per message and per person, not by the group, so a last message
 * that very many members reacted to can still be bigger), and a bus message
 * over the NATS server's `max_payload` is refused, so with VIEW_MEMBERS too
 * high for it such events of big groups would be lost (logged, counted,
 * never delivered). Throws ConfigError naming both settings; a bus without a
 * limit (in process) always passes.
 */
export function checkViewsFitBus(bus: Bus, viewMembers: number, maxFrameBytes: number): void {
  const limit = bus.maxPayload();
  if (!Number.isFinite(limit)) return;
  const rest = maxFrameBytes + FRAME_OVERHEAD_BYTES;
  const needed = largestMemberListBytes(viewMembers) + rest;
  if (needed <= limit) return;
  const fits = Math.floor((limit - rest) / largestMemberListBytes(1));
  const lower = fits >= 2 ? `set VIEW_MEMBERS to at most ${fits} or raise` : `raise`;
  throw new ConfigError([
    `VIEW_MEMBERS: ${viewMembers} members make a view of up to ${needed} bytes, over the NATS server's max_payload of ${limit} bytes; ${lower} max_payload on every NATS server`,
  ]);
}
