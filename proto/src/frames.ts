import { z } from 'zod';
import { ID_PATTERN } from './subjects.js';
import { type ProtocolLimits, DEFAULT_LIMITS, isMediaTypeAllowed, isValidEmoji } from './limits.js';
import { DEFAULT_MEMBERS_LIMIT, MAX_MEMBERS_LIMIT, USER_ID_PATTERN, MAX_MENTIONS, MAX_PRESENCE_USER_IDS, MAX_SEARCH_LIMIT, MAX_SEARCH_QUERY_CHARS, MAX_USER_GET_IDS } from './request-limits.js';

/**
 * The client → server request frames of docs/protocol.md as zod schemas. The
 * gateway validates every frame with these before anything reaches the bus.
 */


export const userIdSchema = z.string().regex(USER_ID_PATTERN, 'must match ^[A-Za-z0-9_-]{1,64}$');
export const conversationIdSchema = z.string().regex(ID_PATTERN, 'must match ^[A-Za-z0-9_-]{1,128}$');
/**
 * A string of at most `max` UTF-16 code units, the unit of every length in
 * the protocol (docs/protocol.md, "Limits") and the one the actors check.
 * zod's own max() counts code points, which lets a string of emoji (two units
 * each) reach twice a limit, and made an id of 33 to 64 emoji valid to the
 * envelope but not to the frame handler's reply to a bad frame.
 */
function stringOfUnits(max: number, message = `must be at most ${max} characters`) {
  return z.string().refine((s) => s.length <= max, { message });
}

/** A lone surrogate: a UTF-16 code unit that is half of a pair, alone (it has no UTF-8 encoding). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Text that is stored and shown (a body, a title, a file name, a clientMsgId):
 * at most `max` UTF-16 code units and well-formed, without a lone surrogate.
 * A lone surrogate has no UTF-8 encoding, so it cannot be stored as sent: the
 * message was acknowledged with it and read back with replacement characters.
 */
export function textOfUnits(max: number, message?: string) {
  return stringOfUnits(max, message).refine((s) => !LONE_SURROGATE.test(s), { message: 'must be well-formed Unicode (a lone surrogate has no UTF-8 form)' });
}

export const requestIdSchema = stringOfUnits(64).min(1);
const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A message's seq: messages start at 1. */
const messageSeqSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** Every op of protocol v1, implemented or not. */
export const ALL_OPS = [
  'ping',
  'user.search',
  'user.get',
  'conversation.open_dm',
  'conversation.create_group',
  'conversation.list',
  'conversation.get',
  'conversation.add_members',
  'conversation.remove_member',
  'conversation.set_role',
  'conversation.rename',
  'conversation.members',
  'message.send',
  'message.edit',
  'message.delete',
  'message.react',
  'message.history',
  'message.stream',
  'message.thread',
  'message.search',
  'sync',
  'receipt.mark',
  'typing',
  'presence.get',
] as const;
export type Op = (typeof ALL_OPS)[number];

/** The envelope every request shares; checked before the op's own schema. */
export const envelopeSchema = z.object({
  id: requestIdSchema.optional(),
  op: stringOfUnits(64).min(1),
});

/** The group-wide mentions of message.send's `mentions` (docs/protocol.md, "Mentions"). */
export const GROUP_MENTIONS = ['@all', '@here'] as const;
/** Builds the per-op argument schemas for a deployment's limits. */
export function createOpSchemas(limits: ProtocolLimits = DEFAULT_LIMITS) {
  const attachment = z.object({
    name: textOfUnits(255).min(1),
    mediaType: stringOfUnits(255).refine((t) => isMediaTypeAllowed(t, limits.allowedMediaTypes), { message: 'media type not allowed' }),
    size: z.number().int().min(0).max(limits.maxAttachmentBytes, `an attachment is at most ${limits.maxAttachmentBytes} bytes`),
    // http(s) only: clients render the url as a link or an image source, and
    // javascript:, data: or file: urls there would be an injection vector.
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).refine((u) => u.length <= 2048, { message: 'must be at most 2048 characters' }),
    width: z.number().int().min(1).max(100_000).optional(),
    height: z.number().int().min(1).max(100_000).optional(),
  });
  const body = textOfUnits(limits.maxBodyChars, `body longer than ${limits.maxBodyChars} characters`);
  const title = z
    .string()
    .trim()
    .min(1)
    .refine((t) => t.length <= limits.maxTitleChars, { message: `title longer than ${limits.maxTitleChars} characters` })
    .refine((t) => !LONE_SURROGATE.test(t), { message: 'must be well-formed Unicode (a lone surrogate has no UTF-8 form)' });
  return {
    ping: z.object({}),
    'user.search': z.object({ prefix: stringOfUnits(64), limit: z.number().int().min(1).max(100).default(20) }),
    // Protocol extension (docs/protocol.md, "Users by id").
    'user.get': z.object({ userIds: z.array(userIdSchema).min(1).max(MAX_USER_GET_IDS, `at most ${MAX_USER_GET_IDS} user ids`) }),
    'conversation.open_dm': z.object({ userId: userIdSchema }),
    'conversation.create_group': z.object({
      title,
      members: z.array(userIdSchema).max(limits.maxGroupMembers, `a group holds at most ${limits.maxGroupMembers} members`),
    }),
    'conversation.list': z.object({
      limit: z.number().int().min(1).max(200).default(50),
      before: stringOfUnits(512).min(1).optional(),
    }),
    'conversation.get': z.object({ conversationId: conversationIdSchema }),
    'conversation.add_members': z.object({
      conversationId: conversationIdSchema,
      userIds: z.array(userIdSchema).min(1).max(limits.maxGroupMembers, `a group holds at most ${limits.maxGroupMembers} members`),
    }),
    'conversation.remove_member': z.object({ conversationId: conversationIdSchema, userId: userIdSchema }),
    'conversation.set_role': z.object({ conversationId: conversationIdSchema, userId: userIdSchema, role: z.enum(['owner', 'admin', 'member']) }),
    'conversation.rename': z.object({ conversationId: conversationIdSchema, title }),
    // Protocol extension (docs/protocol.md, "Member paging"): a page of the members, by user id.
    // `after` is a previous page's `next` (opaque to clients; any string is a valid bound).
    'conversation.members': z.object({
      conversationId: conversationIdSchema,
      after: stringOfUnits(128).min(1).optional(),
      limit: z.number().int().min(1).max(MAX_MEMBERS_LIMIT).default(DEFAULT_MEMBERS_LIMIT),
    }),
    'message.send': z
      .object({
        conversationId: conversationIdSchema,
        clientMsgId: textOfUnits(64).min(1),
        body,
        attachments: z.array(attachment).max(limits.maxAttachments, `at most ${limits.maxAttachments} attachments`).default([]),
        // Protocol extension (docs/protocol.md): starts a streamed message, whose body may start empty.
        streaming: z.boolean().optional(),
        // Protocol extension: the seq of the message of this conversation this one replies to.
        replyTo: messageSeqSchema.optional(),
        // Protocol extension: the seq of the thread root this message replies in.
        threadRoot: messageSeqSchema.optional(),
        // Protocol extension: mentioned members' user ids, '@all' or '@here'; repeats are dropped.
        mentions: z
          .array(z.union([userIdSchema, z.enum(GROUP_MENTIONS)]))
          .max(MAX_MENTIONS, `at most ${MAX_MENTIONS} mentions`)
          .transform((ids) => [...new Set(ids)])
          .optional(),
      })
      .refine((m) => m.streaming || m.body.trim().length > 0 || m.attachments.length > 0, { message: 'a message needs a body or an attachment' }),
    // Protocol extension: grows the caller's streaming message by `text` at
    // `offset` (the body's length as the caller knows it), and/or ends it.
    'message.stream': z.object({
      conversationId: conversationIdSchema,
      seq: messageSeqSchema,
      offset: z.number().int().min(0).max(limits.maxBodyChars),
      text: body,
      end: z.boolean().default(false),
      truncated: z.boolean().default(false),
    }),
    // An edit may empty the body of a message with attachments; whether the
    // message has any only the actor knows, so it checks that part.
    'message.edit': z.object({ conversationId: conversationIdSchema, seq: messageSeqSchema, body }),
    'message.delete': z.object({ conversationId: conversationIdSchema, seq: messageSeqSchema }),
    'message.react': z.object({
      conversationId: conversationIdSchema,
      seq: messageSeqSchema,
      emoji: z.string().refine((e) => isValidEmoji(e, limits.maxEmojiChars), {
        message: `emoji must be 1 to ${limits.maxEmojiChars} characters without whitespace or control characters`,
      }),
      add: z.boolean(),
    }),
    'message.history': z.object({
      conversationId: conversationIdSchema,
      before: seqSchema.optional(),
      after: seqSchema.optional(),
      limit: z.number().int().min(1).max(limits.maxHistoryLimit).default(50),
    }),
    // Protocol extension: a page of one thread's replies, as message.history pages the conversation.
    'message.thread': z.object({
      conversationId: conversationIdSchema,
      root: messageSeqSchema,
      before: seqSchema.optional(),
      after: seqSchema.optional(),
      limit: z.number().int().min(1).max(limits.maxHistoryLimit).default(50),
    }),
    // Protocol extension (docs/protocol.md): full-text search over the caller's conversations.
    // The query is not trimmed: a trailing space ends its last word (no prefix match).
    'message.search': z.object({
      query: textOfUnits(MAX_SEARCH_QUERY_CHARS, `query longer than ${MAX_SEARCH_QUERY_CHARS} characters`).refine((q) => q.trim().length > 0, {
        message: 'query must not be empty',
      }),
      conversationId: conversationIdSchema.optional(),
      before: stringOfUnits(512).min(1).optional(),
      limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).default(20),
    }),
    // Marks are seqs (0: nothing yet); at least one must be given.
    'receipt.mark': z
      .object({ conversationId: conversationIdSchema, deliveredSeq: seqSchema.optional(), readSeq: seqSchema.optional() })
      .refine((m) => m.deliveredSeq !== undefined || m.readSeq !== undefined, { message: 'give deliveredSeq, readSeq or both' }),
    sync: z.object({
      since: z.record(conversationIdSchema, seqSchema).default({}),
      limit: z.number().int().min(1).max(limits.maxSyncLimit).default(200),
      // Protocol extension (docs/protocol.md): per conversation, the changeSeq the client has caught up to.
      changesSince: z.record(conversationIdSchema, seqSchema).optional(),
    }),
    typing: z.object({ conversationId: conversationIdSchema, active: z.boolean() }),
    'presence.get': z.object({
      userIds: z.array(userIdSchema).max(MAX_PRESENCE_USER_IDS, `at most ${MAX_PRESENCE_USER_IDS} userIds`),
    }),
  } as const;
}

export type OpSchemas = ReturnType<typeof createOpSchemas>;
/** Ops this build implements; the rest of ALL_OPS answer `bad_request`. */
export type ImplementedOp = keyof OpSchemas;
export type OpArgs<K extends ImplementedOp> = z.output<OpSchemas[K]>;

/** Turns a zod error into one readable line naming the offending fields. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}
