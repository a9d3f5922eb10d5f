import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MAX_RECENT, parseEmoji, recentEmoji, searchEmoji, useEmoji } from './emoji-search.js';

function memory() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

const ALL = parseEmoji(readFileSync(new URL('./emoji-data.txt', import.meta.url), 'utf8'));

describe('emoji search', () => {
  it('holds a few hundred named emoji, each once', () => {
    expect(ALL.length).toBeGreaterThan(300);
    expect(new Set(ALL.map((e) => e.emoji)).size).toBe(ALL.length);
    for (const e of ALL) expect(e.name).toMatch(/^[a-z][a-z0-9 -]*$/);
    expect(ALL.find((e) => e.emoji === '❤️')?.name).toBe('heavy black heart');
  });

  it('matches every word, word starts first, then inside words', () => {
    const names = (q: string) => searchEmoji(ALL, q).map((e) => e.name);
    expect(names('thumbs')).toEqual(expect.arrayContaining(['thumbs up sign', 'thumbs down sign']));
    expect(names('cat face')[0]).toMatch(/cat face/);
    expect(names('CAT')).toContain('cat');
    // "ear" starts a word of "ear of maize" but is only inside "bear face", "heart"…: word starts come first.
    const ear = names('ear');
    expect(ear).toContain('bear face');
    expect(ear.indexOf('ear of maize')).toBeLessThan(ear.indexOf('bear face'));
    expect(ear.indexOf('earth globe americas')).toBeLessThan(ear.indexOf('bear face'));
    expect(names('zzzz-no-such')).toEqual([]);
    expect(searchEmoji(ALL, '  ').length).toBe(ALL.length);
    expect(searchEmoji(ALL, '🔥')[0]?.emoji).toBe('🔥');
  });
});

describe('recently used emoji', () => {
  it('keeps the latest first, each once, at most MAX_RECENT', () => {
    const s = memory();
    expect(recentEmoji(s)).toEqual([]);
    useEmoji('🔥', s);
    useEmoji('😀', s);
    expect(useEmoji('🔥', s)).toEqual(['🔥', '😀']);
    for (const e of ALL.slice(0, 30)) useEmoji(e.emoji, s);
    expect(recentEmoji(s)).toHaveLength(MAX_RECENT);
    expect(recentEmoji(s)[0]).toBe(ALL[29]!.emoji);
  });

  it('ignores garbage in storage', () => {
    const s = memory();
    s.setItem('chat.emoji.recent', '"x"');
    expect(recentEmoji(s)).toEqual([]);
    s.setItem('chat.emoji.recent', 'nope');
    expect(recentEmoji(s)).toEqual([]);
  });
});
