import { type SearchTerm, wordsOf } from './search-terms.js';

/**
 * Whether `body` matches every term as the indexes match them: each term a
 * run of consecutive folded words, the last word of a prefix term as a
 * prefix. For a search served from an index that may lag the store: a hit
 * whose current body no longer matches (an edit not indexed yet) is dropped.
 */
export function matchesTerms(body: string, terms: readonly SearchTerm[]): boolean {
  const words = wordsOf(body).map((w) => w.word);
  return terms.every((term) => {
    const n = term.words.length;
    for (let i = 0; i + n <= words.length; i++) {
      let ok = true;
      for (let k = 0; k < n && ok; k++) {
        const want = term.words[k]!;
        ok = term.prefix && k === n - 1 ? words[i + k]!.startsWith(want) : words[i + k] === want;
      }
      if (ok) return true;
    }
    return false;
  });
}
