import { ChatMessage } from '@chat/proto';

/**
 * Room a reply leaves, of the bus's message limit, for everything but its
 * messages: the reply's framing, a thread page's root (as big as a message)
 * and the headers. A message is at most a client frame (MAX_FRAME_BYTES),
 * which the roles' start-up check keeps well under the limit.
 */
export const REPLY_OVERHEAD_BYTES = 128 * 1024;

/** The bytes a page's messages may take in a reply over a bus whose limit is `maxPayload` (Infinity: no limit). */
export function pageBudget(maxPayload: number): number {
  return Number.isFinite(maxPayload) ? Math.max(0, maxPayload - REPLY_OVERHEAD_BYTES) : Number.POSITIVE_INFINITY;
}

/**
 * The messages of a page (ascending seq) that fit `budgetBytes` encoded,
 * kept from the page's cursor side: the first ones of a forward page (after
 * a seq), the last ones of a backward page (before a seq, or the newest), so
 * the caller pages on from where this one stops. `trimmed` says some were
 * left out, and the page must then say `hasMore`. At least one message is
 * always kept, so paging always moves.
 */
export function fitPage(messages: ChatMessage[], forward: boolean, budgetBytes: number): { messages: ChatMessage[]; trimmed: boolean } {
  if (!Number.isFinite(budgetBytes) || messages.length <= 1) return { messages, trimmed: false };
  let used = 0;
  let kept = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[forward ? i : messages.length - 1 - i]!;
    // The repeated field's tag and length prefix: at most 1 + 5 bytes.
    used += ChatMessage.encode(m).finish().length + 6;
    if (used > budgetBytes && kept > 0) break;
    kept++;
  }
  if (kept === messages.length) return { messages, trimmed: false };
  return { messages: forward ? messages.slice(0, kept) : messages.slice(messages.length - kept), trimmed: true };
}
