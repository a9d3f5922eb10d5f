import { describe, expect, it } from 'vitest';
import { snippetParts } from './snippet-parts.js';

describe('snippetParts', () => {
  it('splits a snippet at its highlights', () => {
    expect(snippetParts('the quarterly report is late', [{ start: 14, end: 20 }])).toEqual([
      { text: 'the quarterly ', hit: false },
      { text: 'report', hit: true },
      { text: ' is late', hit: false },
    ]);
    expect(snippetParts('a b', [{ start: 2, end: 3 }, { start: 0, end: 1 }])).toEqual([
      { text: 'a', hit: true },
      { text: ' ', hit: false },
      { text: 'b', hit: true },
    ]);
    expect(snippetParts('plain', [])).toEqual([{ text: 'plain', hit: false }]);
  });

  it('clamps ranges that overlap or run past the end, and skips empty ones', () => {
    expect(snippetParts('abcdef', [{ start: 1, end: 4 }, { start: 3, end: 99 }, { start: 5, end: 5 }])).toEqual([
      { text: 'a', hit: false },
      { text: 'bcd', hit: true },
      { text: 'ef', hit: true },
    ]);
    expect(snippetParts('<b>x</b>', [{ start: 3, end: 4 }]).map((p) => p.text).join('')).toBe('<b>x</b>');
  });
});
