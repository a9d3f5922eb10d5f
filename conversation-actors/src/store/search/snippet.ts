import { type SearchTerm, wordsOf } from './search-terms.js';

/** A snippet and its highlighted ranges (MessageSearchHit). */
export interface Snippet {
  snippet: string;
  highlights: { start: number; end: number }[];
}

/** Longest snippet, in UTF-16 code units, not counting the ellipses. */
export const SNIPPET_CHARS = 160;
/** How much of the text before the first match a cut snippet keeps. */
const LEAD_CHARS = 40;

/**
 * The part of `body` to show for a search hit: all of it when short,
 * otherwise about SNIPPET_CHARS around the first match, cut at word
 * boundaries, with `…` where text was cut. Highlights are the ranges of the
 * snippet where a term matched (the same matching as the index: folded
 * words, a prefix for the last term); offsets count UTF-16 code units, the
 * unit of JavaScript strings.
 */
export function buildSnippet(body: string, terms: readonly SearchTerm[]): Snippet {
  const words = wordsOf(body);
  const ranges: { start: number; end: number }[] = [];
  for (let i = 0; i < words.length; i++) {
    for (const term of terms) {
      const n = term.words.length;
      if (i + n > words.length) continue;
      let ok = true;
      for (let k = 0; k < n && ok; k++) {
        const word = words[i + k]!.word;
        const want = term.words[k]!;
        ok = term.prefix && k === n - 1 ? word.startsWith(want) : word === want;
      }
      if (ok) {
        ranges.push({ start: words[i]!.start, end: words[i + n - 1]!.end });
        break;
      }
    }
  }
  const merged = mergeRanges(ranges);
  if (body.length <= SNIPPET_CHARS) return { snippet: body, highlights: merged };

  const first = merged[0]?.start ?? 0;
  let start = Math.max(0, first - LEAD_CHARS);
  if (start > 0) start = snapForward(body, start, first);
  let end = Math.min(body.length, start + SNIPPET_CHARS);
  if (end < body.length) end = snapBack(body, end, start);
  const lead = start > 0 ? '…' : '';
  const text = lead + body.slice(start, end).trim() + (end < body.length ? '…' : '');
  const shift = lead.length - start - (body.slice(start, end).length - body.slice(start, end).trimStart().length);
  const highlights = merged
    .filter((r) => r.start >= start && r.end <= end)
    .map((r) => ({ start: r.start + shift, end: r.end + shift }));
  return { snippet: text, highlights };
}

function mergeRanges(ranges: { start: number; end: number }[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const r of ranges.sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** The first word start at or after `at` (not past `limit`): a snippet does not begin mid-word. */
function snapForward(body: string, at: number, limit: number): number {
  const space = body.slice(at, limit).search(/\s/u);
  return space < 0 ? at : at + space + 1;
}

/** The last whitespace before `at` (not before `floor`): a snippet does not end mid-word. */
function snapBack(body: string, at: number, floor: number): number {
  const cut = body.slice(floor, at).search(/\s\S*$/u);
  // Never cut mid-surrogate-pair either.
  if (cut <= 0) return /[\uD800-\uDBFF]/.test(body[at - 1] ?? '') ? at - 1 : at;
  return floor + cut;
}
