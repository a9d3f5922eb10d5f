import type { SearchTerm } from '../../store/search/search-terms.js';
import { wordsOf } from '../../store/search/search-terms.js';

/**
 * The tsvector and tsquery literals of the PostgreSQL index, built here from
 * the shared query language's words (wordsOf, searchTerms) rather than by
 * PostgreSQL's text search parser, so the index matches exactly what the
 * SQLite FTS5 index matches (unicode61 words, folded case and diacritics, no
 * stemming, no stop words). Both are sent as query parameters and cast
 * (`::tsvector`, `::tsquery`): a cast reads the literal as it is, nothing is
 * normalized again.
 */

/** PostgreSQL refuses a lexeme of 2 KiB or more; such a "word" cannot be searched and is left out. */
const MAX_LEXEME_BYTES = 2046;
/** Positions above this are stored as this (tsvector's limit). */
const MAX_POSITION = 16_383;

/** A lexeme quoted as tsvector and tsquery input want it: in single quotes, `'` and `\` doubled. */
function quoteLexeme(word: string): string {
  return `'${word.replace(/['\\]/g, (c) => c + c)}'`;
}

/**
 * The tsvector literal of a body: each folded word with the 1-based
 * positions it occurs at (`'hello':1,4 'world':2`), so phrases match runs of
 * consecutive words. Empty string for a body with no word.
 */
export function tsvectorLiteral(body: string): string {
  const positions = new Map<string, number[]>();
  wordsOf(body).forEach(({ word }, i) => {
    if (Buffer.byteLength(word, 'utf8') > MAX_LEXEME_BYTES) return;
    const list = positions.get(word);
    const position = Math.min(i + 1, MAX_POSITION);
    if (list) list.push(position);
    else positions.set(word, [position]);
  });
  return [...positions].map(([word, at]) => `${quoteLexeme(word)}:${at.join(',')}`).join(' ');
}

/**
 * The tsquery literal of the terms: a term's words joined by `<->` (followed
 * by), the last word of a prefix term with `:*`, the terms joined by `&`.
 * Words are letters, digits and marks only, and quoted besides, so nothing
 * the user typed is read as tsquery syntax.
 */
export function tsqueryLiteral(terms: readonly SearchTerm[]): string {
  return terms
    .map((term) => {
      const words = term.words.map((w, i) => quoteLexeme(w) + (term.prefix && i === term.words.length - 1 ? ':*' : ''));
      return words.length > 1 ? `(${words.join(' <-> ')})` : (words[0] ?? '');
    })
    .join(' & ');
}
