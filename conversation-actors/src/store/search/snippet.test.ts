import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../errors.js';
import { MAX_SEARCH_TERMS, searchTerms } from './search-terms.js';
import { SNIPPET_CHARS, buildSnippet } from './snippet.js';

const marked = (body: string, query: string) => {
  const s = buildSnippet(body, searchTerms(query));
  return s.highlights.map((r) => s.snippet.slice(r.start, r.end));
};

describe('searchTerms', () => {
  it('splits on whitespace, folds case and diacritics, makes punctuated terms phrases, and the last a prefix unless followed by space', () => {
    expect(searchTerms('Héllo  e-mail')).toEqual([
      { words: ['hello'], prefix: false },
      { words: ['e', 'mail'], prefix: true },
    ]);
    expect(searchTerms('hello ').at(-1)?.prefix).toBe(false);
    expect(searchTerms('"quoted" (x) *')).toEqual([
      { words: ['quoted'], prefix: false },
      { words: ['x'], prefix: true },
    ]);
    expect(searchTerms(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '))).toHaveLength(MAX_SEARCH_TERMS);
    expect(() => searchTerms(' -- ')).toThrow(BadRequestError);
  });
});

describe('buildSnippet', () => {
  it('highlights every match of any term, phrases as one range, a prefix only at word starts', () => {
    expect(marked('Report: the report reports', 'report ')).toEqual(['Report', 'report']);
    expect(marked('Report: the report reports', 'rep')).toEqual(['Report', 'report', 'reports']);
    expect(marked('send an e-mail or an e mail', 'e-mail')).toEqual(['e-mail', 'e mail']);
    expect(marked('unreported', 'report')).toEqual([]);
    expect(marked('Crème brûlée', 'creme brulee')).toEqual(['Crème', 'brûlée']);
  });

  it('counts offsets in UTF-16 code units, emoji included', () => {
    const s = buildSnippet('🎉🎉 party time', searchTerms('party'));
    expect(s.highlights).toEqual([{ start: 5, end: 10 }]);
    expect(s.snippet.slice(5, 10)).toBe('party');
  });

  it('cuts a long body at word boundaries around the first match, and never inside a surrogate pair', () => {
    const body = `${'😀'.repeat(200)} needle ${'😀'.repeat(200)}`;
    const s = buildSnippet(body, searchTerms('needle'));
    expect(s.snippet.length).toBeLessThanOrEqual(SNIPPET_CHARS + 2);
    expect(s.snippet.startsWith('…')).toBe(true);
    expect(s.snippet.endsWith('…')).toBe(true);
    expect(s.snippet.slice(1, -1)).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    expect(s.highlights.map((r) => s.snippet.slice(r.start, r.end))).toEqual(['needle']);
    // A match at the very end of a long body is still shown.
    const tail = buildSnippet(`${'word '.repeat(100)}finale`, searchTerms('finale'));
    expect(tail.snippet.endsWith('finale')).toBe(true);
    expect(tail.highlights.map((r) => tail.snippet.slice(r.start, r.end))).toEqual(['finale']);
  });
});
