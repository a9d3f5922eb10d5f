import { describe, expect, it } from 'vitest';
import { complete, matchCandidates, mentionAt, mentionedIds } from './mentions.js';

describe('composer mentions', () => {
  const members = [
    { id: 'ann', label: 'Ann Lee' },
    { id: 'bob', label: 'Bob' },
    { id: 'bobby', label: 'Bobby' },
  ];

  it('finds the @query at the caret, only at a word start', () => {
    expect(mentionAt('hi @bo', 6)).toEqual({ start: 3, query: 'bo' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('mail a@bo', 9)).toBeUndefined();
    expect(mentionAt('hi @bo there', 12)).toBeUndefined();
  });

  it('completes against labels and ids, and writes @label with a space after', () => {
    expect(matchCandidates(members, 'bo').map((c) => c.id)).toEqual(['bob', 'bobby']);
    expect(matchCandidates(members, 'ANN').map((c) => c.id)).toEqual(['ann']);
    expect(complete('hi @bo!', { start: 3, query: 'bo' }, 'Bob')).toEqual({ text: 'hi @Bob !', caret: 8 });
  });

  it('mentions the picked members still named in the body, and @all / @here only where allowed', () => {
    expect(mentionedIds('@Ann Lee and @Bob', members, false)).toEqual(['ann', 'bob']);
    // '@Bobby' is not '@Bob'.
    expect(mentionedIds('ask @Bobby', [members[1]!], false)).toEqual([]);
    expect(mentionedIds('@all look, @here too', [], true)).toEqual(['@all', '@here']);
    expect(mentionedIds('@all look', [], false)).toEqual([]);
  });
});
