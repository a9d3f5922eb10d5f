import type { ChatMessage, Quote } from '@chat/proto';

/**
 * Reply quotes (docs/protocol.md, "Replies"). A store keeps only the seq a
 * message replies to and resolves the quote from the original's current row
 * on every read, so an edit or delete of the original shows in every reply
 * read after it, with no write to the replies. The price is one point read
 * per distinct original on a read path, none on the send path.
 */

/** A quote carries at most this many characters (code points) of the original's body. */
export const QUOTE_CHARS = 200;

/** The quote of `original` (seq `seq`) as it is now; a missing original quotes as deleted. */
export function quoteOf(seq: number, original: ChatMessage | undefined): Quote {
  if (!original || original.deleted) return { seq, senderId: original?.senderId ?? '', text: '', deleted: true };
  return { seq, senderId: original.senderId, text: firstChars(original.body, QUOTE_CHARS), deleted: false };
}

/** The first `n` code points of `text` (never half a surrogate pair). */
export function firstChars(text: string, n: number): string {
  if (text.length <= n) return text;
  let out = '';
  let count = 0;
  for (const ch of text) {
    if (count++ === n) break;
    out += ch;
  }
  return out;
}

/** The seqs of the originals `messages` quote that are not among `messages` themselves. */
export function quoteTargets(messages: readonly ChatMessage[]): number[] {
  const present = new Set(messages.map((m) => m.seq));
  const wanted = new Set<number>();
  for (const m of messages) if (m.replyTo && !present.has(m.replyTo.seq)) wanted.add(m.replyTo.seq);
  return [...wanted];
}

/**
 * `messages` with their quotes resolved from `originals` (and from each other):
 * `messages` must be of one conversation. Messages that reply to nothing are
 * returned as they are.
 */
export function withQuotes(messages: ChatMessage[], originals: ReadonlyMap<number, ChatMessage>): ChatMessage[] {
  if (!messages.some((m) => m.replyTo)) return messages;
  const bySeq = new Map(messages.map((m) => [m.seq, m]));
  return messages.map((m) => {
    if (!m.replyTo) return m;
    const seq = m.replyTo.seq;
    return { ...m, replyTo: quoteOf(seq, bySeq.get(seq) ?? originals.get(seq)) };
  });
}

/** withQuotes, reading the originals not in `messages` with `read` (one conversation's point reads). */
export function resolveQuotesSync(messages: ChatMessage[], read: (seq: number) => ChatMessage | undefined): ChatMessage[] {
  const targets = quoteTargets(messages);
  const originals = new Map<number, ChatMessage>();
  for (const seq of targets) {
    const m = read(seq);
    if (m) originals.set(seq, m);
  }
  return withQuotes(messages, originals);
}

/**
 * resolveQuotesSync for a networked store: `readMany` reads the originals
 * (in the order of the seqs given, undefined where there is none), so the
 * store decides how many point reads run at once.
 */
export async function resolveQuotes(messages: ChatMessage[], readMany: (seqs: number[]) => Promise<(ChatMessage | undefined)[]>): Promise<ChatMessage[]> {
  const targets = quoteTargets(messages);
  if (targets.length === 0) return withQuotes(messages, new Map());
  const found = await readMany(targets);
  const originals = new Map<number, ChatMessage>();
  targets.forEach((seq, i) => {
    const m = found[i];
    if (m) originals.set(seq, m);
  });
  return withQuotes(messages, originals);
}
