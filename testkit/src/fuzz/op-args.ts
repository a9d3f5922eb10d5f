import fc from 'fast-check';
import { ALL_OPS, DEFAULT_LIMITS, ID_PATTERN, MAX_MEMBERS_LIMIT, MAX_MENTIONS, MAX_PRESENCE_USER_IDS, MAX_USER_GET_IDS, type ImplementedOp, type ProtocolLimits, USER_ID_PATTERN } from '@chat/proto';

/**
 * Arguments every op of protocol v1 must accept (docs/protocol.md), written
 * from the protocol's rules, not from the zod schemas, so a schema that
 * refuses something the protocol allows is caught. Bounds come from the
 * deployment's limits, and lengths reach them: the edge of a limit is where
 * off-by-one refusals hide.
 */

export type OpArgs = Record<string, unknown>;

/** Any well-formed string up to `max` UTF-16 code units long (lone surrogates are the mutators' business). */
export function stringUpTo(max: number, min = 0): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', minLength: min, maxLength: Math.min(max, 40) }),
    // Long ones, right up to the limit (a pair cut in half at the end becomes 'x': strings stay well-formed).
    fc
      .integer({ min: Math.max(min, max - 2), max })
      .chain((n) => fc.constantFrom('x', 'é', '😀').map((c) => c.repeat(Math.ceil(n / c.length)).slice(0, n).replace(/\p{Cs}$/u, 'x'))),
  ).filter((s) => s.length >= min && s.length <= max);
}

export const userIdArb: fc.Arbitrary<string> = fc.stringMatching(USER_ID_PATTERN);
export const conversationIdArb: fc.Arbitrary<string> = fc.stringMatching(ID_PATTERN);
const seq = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const messageSeq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });

/** A reaction key: real emoji (with joiners, skin tones, flags) or short codes, never a name every object has. */
const emojiArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('👍', '❤️', '😂', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇫🇷', '+1', ':tada:', 'x'.repeat(DEFAULT_LIMITS.maxEmojiChars)),
  fc.stringMatching(/^[a-z0-9:+_]{1,32}$/).filter((e) => !(e in Object.prototype)),
);

/** A concrete media type the limits allow: an exact entry, or a subtype of an allowed `family/*`. */
function mediaTypeArb(allowed: readonly string[]): fc.Arbitrary<string> {
  return fc.constantFrom(...allowed).chain((entry) =>
    entry.endsWith('/*') ? fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,20}$/).map((sub) => `${entry.slice(0, -1)}${sub}`) : fc.constant(entry),
  );
}

function attachmentArb(limits: ProtocolLimits): fc.Arbitrary<OpArgs> {
  return fc.record(
    {
      name: stringUpTo(255, 1),
      mediaType: mediaTypeArb(limits.allowedMediaTypes),
      size: fc.integer({ min: 0, max: limits.maxAttachmentBytes }),
      url: fc.webUrl({ validSchemes: ['http', 'https'] }).filter((u) => u.length <= 2048),
      width: fc.integer({ min: 1, max: 100_000 }),
      height: fc.integer({ min: 1, max: 100_000 }),
    },
    { requiredKeys: ['name', 'mediaType', 'size', 'url'] },
  );
}

/** A title: something besides whitespace, at most maxTitleChars once trimmed. */
function titleArb(limits: ProtocolLimits): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom('', ' ', '\t '), stringUpTo(limits.maxTitleChars, 1), fc.constantFrom('', ' '))
    .map(([a, t, b]) => a + t + b)
    .filter((t) => t.trim().length >= 1 && t.trim().length <= limits.maxTitleChars);
}

/** Per op, the arguments (no `id`, no `op`) the protocol says it accepts. */
export function validOpArgs(limits: ProtocolLimits = DEFAULT_LIMITS): { [K in ImplementedOp]: fc.Arbitrary<OpArgs> } {
  const conversationId = conversationIdArb;
  const body = stringUpTo(limits.maxBodyChars);
  const attachments = fc.array(attachmentArb(limits), { maxLength: limits.maxAttachments });
  return {
    ping: fc.constant({}),
    'user.search': fc.record({ prefix: stringUpTo(64), limit: fc.integer({ min: 1, max: 100 }) }, { requiredKeys: ['prefix'] }),
    'user.get': fc.record({ userIds: fc.array(userIdArb, { minLength: 1, maxLength: MAX_USER_GET_IDS }) }),
    'conversation.open_dm': fc.record({ userId: userIdArb }),
    'conversation.create_group': fc.record({ title: titleArb(limits), members: fc.array(userIdArb, { maxLength: 5 }) }),
    'conversation.list': fc.record({ limit: fc.integer({ min: 1, max: 200 }), before: stringUpTo(512, 1) }, { requiredKeys: [] }),
    'conversation.get': fc.record({ conversationId }),
    'conversation.add_members': fc.record({ conversationId, userIds: fc.array(userIdArb, { minLength: 1, maxLength: 5 }) }),
    'conversation.remove_member': fc.record({ conversationId, userId: userIdArb }),
    'conversation.set_role': fc.record({ conversationId, userId: userIdArb, role: fc.constantFrom('owner', 'admin', 'member') }),
    'conversation.rename': fc.record({ conversationId, title: titleArb(limits) }),
    'conversation.members': fc.record(
      { conversationId, after: stringUpTo(128, 1), limit: fc.integer({ min: 1, max: MAX_MEMBERS_LIMIT }) },
      { requiredKeys: ['conversationId'] },
    ),
    'message.send': fc
      .record(
        {
          conversationId,
          clientMsgId: stringUpTo(64, 1),
          body,
          attachments,
          streaming: fc.boolean(),
          // Protocol extensions: replies, threads, mentions (repeats allowed: the schema drops them).
          replyTo: messageSeq,
          threadRoot: messageSeq,
          mentions: fc.array(fc.oneof(userIdArb, fc.constantFrom('@all', '@here')), { maxLength: MAX_MENTIONS }),
        },
        { requiredKeys: ['conversationId', 'clientMsgId', 'body'] },
      )
      // A message needs a body or an attachment, unless it starts a stream.
      .filter((m) => m.streaming === true || m.body.trim().length > 0 || (m.attachments?.length ?? 0) > 0),
    'message.stream': fc.record(
      { conversationId, seq: messageSeq, offset: fc.integer({ min: 0, max: limits.maxBodyChars }), text: body, end: fc.boolean(), truncated: fc.boolean() },
      { requiredKeys: ['conversationId', 'seq', 'offset', 'text'] },
    ),
    'message.edit': fc.record({ conversationId, seq: messageSeq, body }),
    'message.delete': fc.record({ conversationId, seq: messageSeq }),
    'message.react': fc.record({ conversationId, seq: messageSeq, emoji: emojiArb, add: fc.boolean() }),
    'message.history': fc.record(
      { conversationId, before: seq, after: seq, limit: fc.integer({ min: 1, max: limits.maxHistoryLimit }) },
      { requiredKeys: ['conversationId'] },
    ),
    'message.thread': fc.record(
      { conversationId, root: messageSeq, before: seq, after: seq, limit: fc.integer({ min: 1, max: limits.maxHistoryLimit }) },
      { requiredKeys: ['conversationId', 'root'] },
    ),
    // Any text with something besides whitespace; one with no letter or digit passes the schema and is refused by the store.
    'message.search': fc.record(
      {
        query: stringUpTo(256, 1).filter((q) => q.trim().length > 0),
        conversationId,
        before: stringUpTo(512, 1),
        limit: fc.integer({ min: 1, max: 50 }),
      },
      { requiredKeys: ['query'] },
    ),
    'receipt.mark': fc
      .record({ conversationId, deliveredSeq: seq, readSeq: seq }, { requiredKeys: ['conversationId'] })
      .filter((m) => m.deliveredSeq !== undefined || m.readSeq !== undefined),
    sync: fc.record(
      {
        since: fc.dictionary(conversationId, seq, { maxKeys: 5, noNullPrototype: true }),
        limit: fc.integer({ min: 1, max: limits.maxSyncLimit }),
        changesSince: fc.dictionary(conversationId, seq, { maxKeys: 5, noNullPrototype: true }),
      },
      { requiredKeys: [] },
    ),
    typing: fc.record({ conversationId, active: fc.boolean() }),
    'presence.get': fc.record({ userIds: fc.array(userIdArb, { maxLength: MAX_PRESENCE_USER_IDS }) }),
  };
}

/** Every op of protocol v1, for generators that pick one. */
export const opArb: fc.Arbitrary<ImplementedOp> = fc.constantFrom(...(ALL_OPS as readonly ImplementedOp[]));

/** A valid request id: 1 to 64 characters, any of them. */
export const requestIdArb: fc.Arbitrary<string> = stringUpTo(64, 1);

/** A full request frame (id, op and valid arguments) for any op. */
export function validFrameArb(limits: ProtocolLimits = DEFAULT_LIMITS): fc.Arbitrary<{ op: ImplementedOp; frame: OpArgs & { id: string; op: string } }> {
  const args = validOpArgs(limits);
  return opArb.chain((op) => fc.tuple(requestIdArb, args[op]).map(([id, a]) => ({ op, frame: { ...a, id, op } })));
}
