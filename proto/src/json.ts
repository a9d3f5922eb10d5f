import type { ChatMessage, Conversation, Member, User } from './gen/chat/v1/model.js';
import type { ErrorCode } from './error-codes.js';
import type { z } from 'zod';
import type { EVENT_SCHEMAS, attachmentJsonSchema, conversationJsonSchema, memberJsonSchema, messageJsonSchema, quoteJsonSchema, userJsonSchema } from './replies.js';

/**
 * The protocol's JSON objects (docs/protocol.md, "Objects") and the one place bus
 * objects become them, so every gateway renders identical frames.
 */

// The objects' types come from their schemas (replies.ts): one definition.
export type UserJson = z.output<typeof userJsonSchema>;
export type AttachmentJson = z.output<typeof attachmentJsonSchema>;
export type MessageJson = z.output<typeof messageJsonSchema>;
export type QuoteJson = z.output<typeof quoteJsonSchema>;
export type ConversationJson = z.output<typeof conversationJsonSchema>;
export type MemberJson = z.output<typeof memberJsonSchema>;
/** message.delta (protocol extension): `text` appended at `offset` of a streaming message's body. */
export type MessageDeltaJson = z.output<(typeof EVENT_SCHEMAS)['message.delta']>;

/** A person renders exactly as before; a bot gains `bot: true`. */
export function userToJson(u: User): UserJson {
  return u.bot === true ? { id: u.id, name: u.name, bot: true } : { id: u.id, name: u.name };
}

export function messageToJson(m: ChatMessage): MessageJson {
  const reactions: Record<string, string[]> = {};
  for (const [emoji, users] of Object.entries(m.reactions)) reactions[emoji] = users.ids;
  const json = toJson(m, reactions);
  if (m.streaming !== undefined) {
    json.streaming = m.streaming;
    json.truncated = m.truncated ?? false;
  }
  if (m.replyTo) {
    const q = m.replyTo;
    json.replyTo = { seq: q.seq, senderId: q.senderId, text: q.deleted ? '' : q.text, deleted: q.deleted };
  }
  if (m.threadRoot !== undefined) json.threadRoot = m.threadRoot;
  if (m.mentions && m.mentions.ids.length > 0) json.mentions = m.mentions.ids;
  if (m.threadReplies) {
    json.threadReplies = m.threadReplies;
    json.threadLastAt = m.threadLastAt ?? 0;
  }
  return json;
}

function toJson(m: ChatMessage, reactions: Record<string, string[]>): MessageJson {
  return {
    conversationId: m.conversationId,
    seq: m.seq,
    id: m.id,
    senderId: m.senderId,
    clientMsgId: m.clientMsgId,
    body: m.deleted ? '' : m.body,
    attachments: m.deleted
      ? []
      : m.attachments.map((a) => {
          const out: AttachmentJson = { name: a.name, mediaType: a.mediaType, size: a.size, url: a.url };
          if (a.width !== undefined) out.width = a.width;
          if (a.height !== undefined) out.height = a.height;
          return out;
        }),
    createdAt: m.createdAt,
    editedAt: m.editedAt ?? null,
    deleted: m.deleted,
    reactions,
    changeSeq: m.changeSeq,
  };
}

/** A member as views and conversation.members list them: marks (protocol extension) only where known. */
export function memberToJson(m: Member): MemberJson {
  return m.readSeq === undefined ? { userId: m.userId, role: m.role } : { userId: m.userId, role: m.role, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq ?? m.readSeq };
}

export function conversationToJson(c: Conversation): ConversationJson {
  // A view from before member paging (or one never bounded) lists every member.
  const memberCount = Math.max(c.memberCount ?? 0, c.members.length);
  return {
    id: c.id,
    kind: c.kind === 'dm' ? 'dm' : 'group',
    title: c.title ?? null,
    members: c.members.map(memberToJson),
    // Member paging (protocol extension): how many members there are, listed or not.
    memberCount,
    ...(memberCount > c.members.length ? { membersTruncated: true as const } : {}),
    createdAt: c.createdAt,
    lastSeq: c.lastSeq,
    lastMessage: c.lastMessage ? messageToJson(c.lastMessage) : null,
    readSeq: c.readSeq,
    deliveredSeq: c.deliveredSeq,
    unread: c.unread,
    // Before changeSeq: the gateway's per-member frames (memberViewFrames) rely on this order.
    ...(c.mentions ? { mentions: c.mentions } : {}),
    changeSeq: c.changeSeq,
  };
}

/** A success reply frame, serialized. */
export function okFrame(re: string, result: object): string {
  return JSON.stringify({ re, ok: true, ...result });
}

/** An error reply frame, serialized. `noRetry`: resending cannot help now (only sent when true). */
export function errorFrame(re: string | null, code: ErrorCode, message: string, retryAfterMs?: number, noRetry?: boolean): string {
  const error: { code: ErrorCode; message: string; retryAfterMs?: number; noRetry?: true } = { code, message };
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs;
  if (noRetry) error.noRetry = true;
  return JSON.stringify({ re, ok: false, error });
}

/** An event frame, serialized. */
export function eventFrame(ev: string, payload: object): string {
  return JSON.stringify({ ev, ...payload });
}
