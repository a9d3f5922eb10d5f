/**
 * Message bodies of the load scenarios: the send time (wall-clock ms, see
 * wallNow), which the receiver turns into delivery latency, then words up to
 * `size` characters, as people's messages are. The words matter to what is
 * measured: the store's search index does real work for each of them, where
 * a bare number (the bodies before) cost it next to nothing. k6's scripts
 * pad their bodies with the same words (bench/k6/lib/chat.js, BODY_SIZE).
 */
const WORDS = 'see you at the station at nine then we can talk about the plan for next week and what the team needs ';
const PAD = WORDS.repeat(Math.ceil(4000 / WORDS.length));

/** `${sentAt} ` followed by words: `size` characters in all, one less where a word boundary falls last (the stamp alone when longer). */
export function stampBody(sentAt: number, size: number): string {
  const head = `${sentAt} `;
  return (head + PAD.slice(0, Math.max(0, size - head.length))).trimEnd();
}

/** The send time stampBody put in `body`, or NaN for another body. */
export function bodySentAt(body: string): number {
  const stamp = /^(\d+(?:\.\d+)?)(?: |$)/.exec(body);
  return stamp ? Number(stamp[1]) : NaN;
}
