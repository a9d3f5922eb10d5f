import type { ChatMessage, Quote } from '@chat/proto';
import type { ChatStore } from '../store/store.js';
import { quoteOf } from '../store/quotes.js';
import { readMessageAt } from '../store/read-message.js';

/**
 * The send path's side of replies (docs/protocol.md, "Replies"). A reply's
 * target needs no read to be validated: seqs are gapless, so every seq from 1
 * to the head's lastSeq is a message of this conversation. The quote the
 * sender's answer and the message.new event carry is read once per distinct
 * target, concurrently with the batch's append, so a reply adds no round trip
 * to the send's latency and an ordinary send adds nothing at all.
 */

/**
 * Why the message `seq` named by `field` (replyTo, threadRoot) is not one of
 * this conversation's, whose head is `lastSeq`, or undefined when it is.
 */
export function missingMessageProblem(field: string, seq: number | undefined, lastSeq: number): string | undefined {
  if (seq === undefined) return undefined;
  return seq >= 1 && seq <= lastSeq ? undefined : `${field}: no message ${seq} in this conversation`;
}

/** The seq-only quote a message carries until its quote is resolved. */
export function unresolvedQuote(seq: number): Quote {
  return { seq, senderId: '', text: '', deleted: false };
}

/**
 * The quotes of `seqs` as stored now: one indexed point read each, all at
 * once. A failed read leaves its quote out (the caller keeps the seq-only
 * quote: the message is stored either way, and any later read resolves it).
 */
export async function readQuotes(store: ChatStore, conversationId: string, seqs: readonly number[]): Promise<Map<number, Quote>> {
  const quotes = new Map<number, Quote>();
  await Promise.all(
    [...new Set(seqs)].map(async (seq) => {
      try {
        const original = await readMessageAt(store, conversationId, seq);
        quotes.set(seq, quoteOf(seq, original));
      } catch {
        // Left out: see above.
      }
    }),
  );
  return quotes;
}

/** `message` with its quote from `quotes` when there is one. */
export function withQuote(message: ChatMessage, quotes: ReadonlyMap<number, Quote> | undefined): ChatMessage {
  const quote = message.replyTo && quotes?.get(message.replyTo.seq);
  return quote ? { ...message, replyTo: quote } : message;
}
