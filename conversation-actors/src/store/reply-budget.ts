import { ChatMessage, Conversation } from '@chat/proto';

// What fits in one reply over the bus: a page of messages (history, thread)
// or of views (conversation.list) holds no more than the bus carries, and
// says there is more, so a reply over the NATS server's max_payload (lost,
// and its request timed out) is never sent.

/**
 * Room a reply leaves, of the bus's message limit, for everything but its
 * page: the reply's framing, a thread page's root (as big as a message) and
 * the headers. A message is at most a client frame (MAX_FRAME_BYTES), which
 * the roles' start-up check keeps well under the limit.
 */
export const REPLY_OVERHEAD_BYTES = 128 * 1024;

/** A repeated field's tag and length prefix: at most 1 + 5 bytes an item. */
const FIELD_PREFIX_BYTES = 6;

/** The bytes a page may take in a reply over a bus whose limit is `maxPayload` (Infinity: no limit). */
export function pageBudget(maxPayload: number): number {
  return Number.isFinite(maxPayload) ? Math.max(0, maxPayload - REPLY_OVERHEAD_BYTES) : Number.POSITIVE_INFINITY;
}

/**
 * How many of `items`, taken in order, fit `maxBytes` as `bytesOf` sizes
 * them: at least one whenever there is one, so paging always moves; all of
 * them when `maxBytes` is absent or infinite (nothing is measured then).
 */
export function countThatFit<T>(items: readonly T[], bytesOf: (item: T) => number, maxBytes: number | undefined): number {
  if (maxBytes === undefined || !Number.isFinite(maxBytes)) return items.length;
  let used = 0;
  for (let i = 0; i < items.length; i++) {
    used += bytesOf(items[i]!) + FIELD_PREFIX_BYTES;
    if (used > maxBytes && i > 0) return i;
  }
  return items.length;
}

/** How many of `views` (in page order) fit `maxBytes` encoded. A store lists that many and sets `next` after the last one it kept. */
export function viewsThatFit(views: readonly Conversation[], maxBytes: number | undefined): number {
  return countThatFit(views, (v) => Conversation.encode(v).finish().length, maxBytes);
}

/**
 * The messages of a page (ascending seq) that fit `budgetBytes` encoded,
 * kept from the page's cursor side: the first ones of a forward page (after
 * a seq), the last ones of a backward page (before a seq, or the newest), so
 * the caller pages on from where this one stops. `trimmed` says some were
 * left out, and the page must then say `hasMore`. At least one message is
 * always kept.
 */
export function fitPage(messages: ChatMessage[], forward: boolean, budgetBytes: number): { messages: ChatMessage[]; trimmed: boolean } {
  const fromCursor = forward ? messages : [...messages].reverse();
  const kept = countThatFit(fromCursor, (m) => ChatMessage.encode(m).finish().length, budgetBytes);
  if (kept === messages.length) return { messages, trimmed: false };
  return { messages: forward ? messages.slice(0, kept) : messages.slice(messages.length - kept), trimmed: true };
}
