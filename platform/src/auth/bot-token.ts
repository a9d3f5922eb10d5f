import { createHash, randomBytes } from 'node:crypto';

/**
 * Bot tokens: what `chat bot create` hands out and what the gateway accepts
 * from bots. Here, in the platform, because both sides must agree on the
 * format and the hash, and the roles never import one another.
 *
 * A token is BOT_TOKEN_PREFIX followed by 32 random bytes in base64url (43
 * characters): 256 bits, so it cannot be guessed, and nothing else in the
 * store needs to be secret. The prefix makes a token recognizable at a glance
 * (and to secret scanners) and lets the gateway tell it from a JWT without
 * trying to parse it. Only its SHA-256 is stored: a leaked database does not
 * leak working tokens, and a plain (unsalted, fast) hash is enough for a
 * random 256-bit secret, where salting and stretching only protect guessable ones.
 */
export const BOT_TOKEN_PREFIX = 'chatbot_';

const TOKEN_BYTES = 32;
/** The exact shape of a token: the prefix and 43 base64url characters. */
const TOKEN_PATTERN = /^chatbot_[A-Za-z0-9_-]{43}$/;

/** A new random bot token. Show it once; store only botTokenHash(token). */
export function newBotToken(): string {
  return BOT_TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Whether `token` carries the bot prefix (and so is no JWT), whatever follows it. */
export function looksLikeBotToken(token: string): boolean {
  return token.startsWith(BOT_TOKEN_PREFIX);
}

/** Whether `token` has exactly the shape newBotToken makes. */
export function isWellFormedBotToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** The SHA-256 of the whole token (prefix included), lowercase hex: what the store keeps and looks up. */
export function botTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `hash` is shaped like botTokenHash's output (64 lowercase hex digits). */
export function isBotTokenHash(hash: string): boolean {
  return /^[0-9a-f]{64}$/.test(hash);
}
