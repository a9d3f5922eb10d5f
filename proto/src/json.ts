import type { ChatMessage, Conversation, User } from './gen/chat/v1/model.js';
import type { ErrorCode } from './error-codes.js';

/**
 * The protocol's JSON objects (PROTOCOL.md, "Objects") and the one place bus
 * objects become them, so every gateway renders identical frames.
 */

export interface UserJson {
  id: string;
  name: string;
  /** Protocol extension (docs/protocol-extensions.md): present, and true, for bot accounts only. */
  bot?: true;
}

export interface AttachmentJson {
  name: string;
  mediaType: string;
  size: number;
  url: string;
  width?: number;
  height?: number;
}

export interface MessageJson {
  conversationId: string;
  seq: number;
  id: string;
  senderId: string;
  clientMsgId: string;
  body: string;
  attachments: AttachmentJson[];
  createdAt: number;
  editedAt: number | null;
  deleted: boolean;
  reactions: Record<string, string[]>;
  /** Protocol extension (docs/protocol-extensions.md): the conversation's changeSeq at this message's latest edit, delete or reaction change; 0 if never changed. */
  changeSeq: number;
  /**
   * Protocol extension (docs/protocol-extensions.md), present only on a
   * streamed message: true while its body grows by message.delta events,
   * false once finished.
   */
  streaming?: boolean;
  /** With `streaming`: the stream broke or went idle and the message was finished with what had arrived. */
  truncated?: boolean;
}

/** message.delta (protocol extension): `text` appended at `offset` of a streaming message's body. */
export interface MessageDeltaJson {
  conversationId: string;
  seq: number;
  offset: number;
  text: string;
}

export interface ConversationJson {
  id: string;
  kind: 'dm' | 'group';
  title: string | null;
  members: { userId: string; role: string }[];
  createdAt: number;
  lastSeq: number;
  lastMessage: MessageJson | null;
  readSeq: number;
  deliveredSeq: number;
  unread: number;
  /** Protocol extension (docs/protocol-extensions.md): counts edits, deletes, reactions, membership and title changes. */
  changeSeq: number;
}

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

export function conversationToJson(c: Conversation): ConversationJson {
  return {
    id: c.id,
    kind: c.kind === 'dm' ? 'dm' : 'group',
    title: c.title ?? null,
    members: c.members.map((m) => ({ userId: m.userId, role: m.role })),
    createdAt: c.createdAt,
    lastSeq: c.lastSeq,
    lastMessage: c.lastMessage ? messageToJson(c.lastMessage) : null,
    readSeq: c.readSeq,
    deliveredSeq: c.deliveredSeq,
    unread: c.unread,
    changeSeq: c.changeSeq,
  };
}

/** A success reply frame, serialized. */
export function okFrame(re: string, result: object): string {
  return JSON.stringify({ re, ok: true, ...result });
}

/** An error reply frame, serialized. */
export function errorFrame(re: string, code: ErrorCode, message: string, retryAfterMs?: number): string {
  const error: { code: ErrorCode; message: string; retryAfterMs?: number } = { code, message };
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs;
  return JSON.stringify({ re, ok: false, error });
}

/** An event frame, serialized. */
export function eventFrame(ev: string, payload: object): string {
  return JSON.stringify({ ev, ...payload });
}
