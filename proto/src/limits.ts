/** Protocol limits (PROTOCOL.md, "Limits"); every one is configurable per deployment. */
export interface ProtocolLimits {
  /** Largest accepted WebSocket frame, in bytes. */
  maxFrameBytes: number;
  /** Longest message body, in characters (UTF-16 code units). */
  maxBodyChars: number;
  maxAttachments: number;
  maxTitleChars: number;
  maxGroupMembers: number;
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
  maxTitleChars: 100,
  maxGroupMembers: 1000,
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

/** Whether `emoji` is an acceptable reaction key: 1 to `maxChars` UTF-16 code units, nothing forbidden. */
export function isValidEmoji(emoji: string, maxChars: number): boolean {
  return emoji.length > 0 && emoji.length <= maxChars && !EMOJI_FORBIDDEN.test(emoji);
}

/** Whether `mediaType` is allowed by a list of exact types and `family/*` entries. */
export function isMediaTypeAllowed(mediaType: string, allowed: readonly string[]): boolean {
  const lower = mediaType.toLowerCase();
  const slash = lower.indexOf('/');
  if (slash <= 0 || slash === lower.length - 1) return false;
  const family = `${lower.slice(0, slash)}/*`;
  return allowed.some((a) => a === lower || a === family);
}
