/** Protocol limits (docs/protocol.md, "Limits"); every one is configurable per deployment. */
export interface ProtocolLimits {
  /** Largest accepted WebSocket frame, in bytes. */
  maxFrameBytes: number;
  /** Longest message body, in characters (UTF-16 code units). */
  maxBodyChars: number;
  maxAttachments: number;
  /** Largest declared `size` of one attachment, in bytes (the bytes live elsewhere; this bounds what a message may point at). */
  maxAttachmentBytes: number;
  maxTitleChars: number;
  maxGroupMembers: number;
  /**
   * Most members a conversation view carries in `members` (docs/protocol.md,
   * "Member paging"); a larger group's view is bounded (view-members.ts) and
   * says so with memberCount, and the rest are read with conversation.members.
   */
  viewMembers: number;
  /** Largest `limit` accepted by `message.history`. */
  maxHistoryLimit: number;
  /** Largest `limit` accepted by `sync` (messages per conversation). */
  maxSyncLimit: number;
  /** Allowed attachment media types; `type/*` allows a whole family. */
  allowedMediaTypes: readonly string[];
  /** Longest reaction emoji, in UTF-16 code units (room for ZWJ sequences and skin tones). */
  maxEmojiChars: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = {
  maxFrameBytes: 64 * 1024,
  maxBodyChars: 4000,
  maxAttachments: 10,
  maxAttachmentBytes: 100 * 1024 * 1024,
  maxTitleChars: 100,
  maxGroupMembers: 1000,
  viewMembers: 100,
  maxHistoryLimit: 200,
  maxSyncLimit: 500,
  allowedMediaTypes: ['image/*', 'video/*', 'audio/*', 'application/pdf', 'text/plain'],
  maxEmojiChars: 32,
};

/**
 * Characters a reaction emoji may not hold: whitespace, control characters and
 * lone surrogates (these last would not survive UTF-8 encoding on the bus, so
 * one user's reaction could turn into another key). Format characters such as
 * the zero-width joiner stay allowed: emoji sequences are built from them.
 */
const EMOJI_FORBIDDEN = /[\s\p{Cc}\p{Cs}]/u;

/**
 * Whether `emoji` is an acceptable reaction key: 1 to `maxChars` UTF-16 code
 * units, nothing forbidden, and not a name every JavaScript object has
 * (`__proto__`, `constructor`, `toString`, ...): reactions are a map keyed by
 * what clients send, and `__proto__` as a key would be swallowed silently.
 */
export function isValidEmoji(emoji: string, maxChars: number): boolean {
  return emoji.length > 0 && emoji.length <= maxChars && !EMOJI_FORBIDDEN.test(emoji) && !(emoji in Object.prototype);
}

/** RFC 6838 type and subtype names (restricted-name), lowercased. */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Whether `mediaType` is allowed by a list of exact types and `family/*` entries. */
export function isMediaTypeAllowed(mediaType: string, allowed: readonly string[]): boolean {
  const lower = mediaType.toLowerCase();
  // A concrete type/subtype (RFC 6838 names, no parameters): `image/*` is a
  // pattern of the allow list, never an attachment's type.
  if (!MEDIA_TYPE.test(lower)) return false;
  const slash = lower.indexOf('/');
  const family = `${lower.slice(0, slash)}/*`;
  return allowed.some((a) => a === lower || a === family);
}
