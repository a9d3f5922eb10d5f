import { z } from 'zod';
import type { ImplementedOp } from './frames.js';

/**
 * What the server sends: the protocol's objects, the `ok: true` result of
 * every op and every event, as zod schemas next to the request schemas of
 * frames.ts. The gateway's handlers are typed by them (so the server cannot
 * drift from them unnoticed), clients take their types from them (type-only
 * imports: no zod in the browser bundle), and the test client checks every
 * reply and event against them at run time.
 */

export const userJsonSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** Protocol extension (docs/protocol.md): present, and true, for bot accounts only. */
  bot: z.literal(true).optional(),
});

export const attachmentJsonSchema = z.object({
  name: z.string(),
  mediaType: z.string(),
  size: z.number(),
  url: z.string(),
  width: z.number().optional(),
  height: z.number().optional(),
});

/** Protocol extension: a compact quote of a replied-to message, as it is when read. */
export const quoteJsonSchema = z.object({
  seq: z.number(),
  senderId: z.string(),
  /** The original's first 200 characters; empty once it is deleted. */
  text: z.string(),
  deleted: z.boolean(),
});

export const messageJsonSchema = z.object({
  conversationId: z.string(),
  seq: z.number(),
  id: z.string(),
  senderId: z.string(),
  clientMsgId: z.string(),
  body: z.string(),
  attachments: z.array(attachmentJsonSchema),
  createdAt: z.number(),
  editedAt: z.number().nullable(),
  deleted: z.boolean(),
  reactions: z.record(z.string(), z.array(z.string())),
  /** Protocol extension: the conversation's changeSeq at this message's latest edit, delete or reaction change; 0 if never changed. */
  changeSeq: z.number(),
  /** Protocol extension, present only on a streamed message: true while its body grows by message.delta events, false once finished. */
  streaming: z.boolean().optional(),
  /** With `streaming`: the stream broke or went idle and the message was finished with what had arrived. */
  truncated: z.boolean().optional(),
  /** Protocol extension: the message this one replies to, quoted as it is now (absent: not a reply). */
  replyTo: quoteJsonSchema.optional(),
  /** Protocol extension: on a thread reply, the seq of its root. */
  threadRoot: z.number().optional(),
  /** Protocol extension: on a thread root, how many replies its thread has had (deleted ones included)… */
  threadReplies: z.number().optional(),
  /** …and when the latest arrived. */
  threadLastAt: z.number().optional(),
  /** Protocol extension: the mentioned members' user ids, '@all' or '@here'; absent: none. */
  mentions: z.array(z.string()).optional(),
});

/** A member as views and conversation.members list them; the marks are a protocol extension. */
export const memberJsonSchema = z.object({ userId: z.string(), role: z.string(), readSeq: z.number().optional(), deliveredSeq: z.number().optional() });

export const conversationJsonSchema = z.object({
  id: z.string(),
  kind: z.enum(['dm', 'group']),
  title: z.string().nullable(),
  /**
   * Protocol extension: each member's receipt marks ride along on conversation views.
   * At most the deployment's viewMembers entries ("Member paging"): the whole list when
   * memberCount is no larger, else the viewer, the owner, the admins, then others by user id.
   */
  members: z.array(memberJsonSchema),
  /** Protocol extension: how many members the conversation has, whether or not `members` lists them all. */
  memberCount: z.number(),
  /** Protocol extension: present, and true, only when `members` lists fewer than memberCount. */
  membersTruncated: z.literal(true).optional(),
  createdAt: z.number(),
  lastSeq: z.number(),
  lastMessage: messageJsonSchema.nullable(),
  readSeq: z.number(),
  deliveredSeq: z.number(),
  unread: z.number(),
  /** Protocol extension: unread messages that mention the user (by id, '@all' or '@here'); absent: none. */
  mentions: z.number().optional(),
  /** Protocol extension: counts edits, deletes, reactions, membership and title changes. */
  changeSeq: z.number(),
});

/** Protocol extension: one message.search hit; highlights are ranges of `snippet` in UTF-16 code units, `end` exclusive. */
export const searchHitJsonSchema = z.object({
  message: messageJsonSchema,
  snippet: z.string(),
  highlights: z.array(z.object({ start: z.number(), end: z.number() })),
});

export const presenceJsonSchema = z.object({ userId: z.string(), online: z.boolean(), lastSeen: z.number().nullable() });

const conversationResult = z.object({ conversation: conversationJsonSchema });
const messageResult = z.object({ message: messageJsonSchema });
const empty = z.object({});

/** The `ok: true` reply of each op, without `re` and `ok`. */
export const OP_RESULT_SCHEMAS = {
  ping: z.object({ serverTime: z.number() }),
  'user.search': z.object({ users: z.array(userJsonSchema) }),
  'user.get': z.object({ users: z.array(userJsonSchema) }),
  'conversation.open_dm': conversationResult,
  'conversation.create_group': conversationResult,
  'conversation.list': z.object({ conversations: z.array(conversationJsonSchema), next: z.string().nullable() }),
  'conversation.get': conversationResult,
  'conversation.add_members': conversationResult,
  'conversation.remove_member': empty,
  'conversation.set_role': conversationResult,
  'conversation.rename': conversationResult,
  /** Protocol extension: ascending user id; `next` is the cursor of the next page, null on the last. */
  'conversation.members': z.object({ members: z.array(memberJsonSchema), next: z.string().nullable() }),
  'message.send': z.object({ message: messageJsonSchema, duplicate: z.boolean() }),
  'message.edit': messageResult,
  'message.delete': messageResult,
  'message.react': messageResult,
  'message.history': z.object({ messages: z.array(messageJsonSchema), hasMore: z.boolean() }),
  /** Protocol extension: the root as it is now and a page of its thread's replies, ascending seq. */
  'message.thread': z.object({ root: messageJsonSchema, messages: z.array(messageJsonSchema), hasMore: z.boolean() }),
  /** Protocol extension: the body's length now, and the final message once the stream ended. */
  'message.stream': z.object({ length: z.number(), message: messageJsonSchema.nullable() }),
  /** Protocol extension: newest first; `next` is the cursor of the next (older) page, null on the last. */
  'message.search': z.object({ hits: z.array(searchHitJsonSchema), next: z.string().nullable() }),
  sync: z.object({
    conversations: z.array(conversationJsonSchema),
    messages: z.record(z.string(), z.array(messageJsonSchema)),
    truncated: z.array(z.string()),
    /** Protocol extension: changed messages at or before `since`. */
    updated: z.record(z.string(), z.array(messageJsonSchema)).optional(),
  }),
  'receipt.mark': z.object({ deliveredSeq: z.number(), readSeq: z.number() }),
  typing: empty,
  'presence.get': z.object({ presence: z.array(presenceJsonSchema) }),
} as const satisfies { [K in ImplementedOp]: z.ZodType };

export type OpResultSchemas = typeof OP_RESULT_SCHEMAS;
/** The `ok: true` result of `op`, without `re` and `ok`. */
export type OpResult<K extends ImplementedOp> = z.output<OpResultSchemas[K]>;

/** Every event the server sends, by `ev`. */
export const EVENT_SCHEMAS = {
  hello: z.object({ user: userJsonSchema, sessionId: z.string(), heartbeatMs: z.number(), serverTime: z.number() }),
  'message.new': messageResult,
  'message.updated': messageResult,
  /** Protocol extension: `text` appended at `offset` of a streaming message's body. */
  'message.delta': z.object({ conversationId: z.string(), seq: z.number(), offset: z.number(), text: z.string() }),
  /** Protocol extension: a thread root's counters after new replies. */
  'thread.updated': z.object({ conversationId: z.string(), root: z.number(), threadReplies: z.number(), threadLastAt: z.number() }),
  receipt: z.object({ conversationId: z.string(), userId: z.string(), deliveredSeq: z.number(), readSeq: z.number() }),
  typing: z.object({ conversationId: z.string(), userId: z.string(), active: z.boolean() }),
  presence: presenceJsonSchema,
  'conversation.updated': conversationResult,
  'conversation.removed': z.object({ conversationId: z.string() }),
} as const;

export type EventName = keyof typeof EVENT_SCHEMAS;
/** One event frame: its `ev` and its payload. */
export type ServerEventJson = { [E in EventName]: { ev: E } & z.output<(typeof EVENT_SCHEMAS)[E]> }[EventName];

/** The error of an `ok: false` reply. */
export const errorJsonSchema = z.object({ code: z.string(), message: z.string(), retryAfterMs: z.number().optional(), noRetry: z.boolean().optional() });
