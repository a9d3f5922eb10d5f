/**
 * An extractive summary: the sentences that carry the conversation's most
 * frequent words, in their original order. No model needed, deterministic,
 * and good enough to tell what a long thread was about.
 */

/** One message as the summary reads it. */
export interface Said {
  author: string;
  text: string;
}

const STOPWORDS = new Set(
  `a an and are as at be been but by can could did do does for from had has have he her him his how i if in into is it its
  just me my no not of on or our out she so some than that the their them then there these they this to too up us was we
  were what when where which who why will with would you your yes ok okay also about all any more get got like one only
  really well im dont its thats theres lets let`.split(/\s+/),
);

/** Splits messages into sentences, each remembered with its author and position. */
function sentencesOf(messages: readonly Said[]): { author: string; text: string; index: number }[] {
  const out: { author: string; text: string; index: number }[] = [];
  for (const m of messages) {
    if (m.text.startsWith('/')) continue; // commands, this bot's own trigger included
    for (const raw of m.text.split(/(?<=[.!?])\s+|\n+/)) {
      const text = raw.trim();
      if (text.length >= 3) out.push({ author: m.author, text, index: out.length });
    }
  }
  return out;
}

function words(text: string): string[] {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 1 && !STOPWORDS.has(w));
}

/**
 * The `maxSentences` sentences of `messages` that score highest (the sum of
 * their words' frequencies over the whole conversation, divided by the square
 * root of their length so long sentences do not win by size alone), each
 * prefixed with its author, in conversation order. Empty input: a line saying so.
 */
export function summarize(messages: readonly Said[], maxSentences = 5): string {
  const sentences = sentencesOf(messages);
  if (sentences.length === 0) return 'Nothing to summarize yet.';
  const frequency = new Map<string, number>();
  for (const s of sentences) for (const w of words(s.text)) frequency.set(w, (frequency.get(w) ?? 0) + 1);
  const scored = sentences.map((s) => {
    const ws = words(s.text);
    const score = ws.reduce((sum, w) => sum + (frequency.get(w) ?? 0), 0) / Math.sqrt(Math.max(1, ws.length));
    return { ...s, score };
  });
  const chosen = [...scored]
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, maxSentences)
    .sort((a, b) => a.index - b.index);
  const topics = [...frequency]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([w]) => w);
  return [`Summary of ${messages.length} messages (topics: ${topics.join(', ')}):`, ...chosen.map((s) => `- ${s.author}: ${s.text}`)].join('\n');
}

/** `text` in word-sized pieces (each with its trailing space), as a model would stream it. */
export function* wordChunks(text: string): Generator<string> {
  for (const match of text.matchAll(/\S+\s*/g)) yield match[0];
}
