import { BadRequestError } from '../../errors.js';

/**
 * The query language of message search, shared by every backend: the user's
 * text split on whitespace into terms; a term matches a run of words in a
 * message (a term like `don't` or `e-mail` is the phrase of its words); all
 * terms must match; the last term also matches words it begins (typing
 * `hel` finds `hello`). Matching ignores case and diacritics. Nothing the
 * user types is syntax: no operators, no column filters, no quotes.
 */
export interface SearchTerm {
  /** The term's words, folded (foldWord). */
  words: string[];
  /** The last word matches as a prefix. */
  prefix: boolean;
}

/** Most terms one query keeps; the rest are ignored (a search box, not a document). */
export const MAX_SEARCH_TERMS = 16;

// Letters, digits and combining marks: what SQLite's unicode61 tokenizer keeps together.
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** Lower case without diacritics, as unicode61 with remove_diacritics folds a word. */
export function foldWord(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The words of `text` with where each starts and ends (UTF-16 offsets). */
export function wordsOf(text: string): { word: string; start: number; end: number }[] {
  const words: { word: string; start: number; end: number }[] = [];
  for (const m of text.matchAll(WORD)) {
    const folded = foldWord(m[0]);
    if (folded.length > 0) words.push({ word: folded, start: m.index, end: m.index + m[0].length });
  }
  return words;
}

/** Parses a query; refuses one with no word at all with BadRequestError. */
export function searchTerms(text: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  for (const piece of text.split(/\s+/u)) {
    const words = wordsOf(piece).map((w) => w.word);
    if (words.length > 0) terms.push({ words, prefix: false });
    if (terms.length === MAX_SEARCH_TERMS) break;
  }
  const last = terms[terms.length - 1];
  if (!last) throw new BadRequestError('a search query needs at least one letter or digit');
  // Only when the user's text ends inside the word: "hello " means the whole word.
  last.prefix = !/\s$/u.test(text);
  return terms;
}
