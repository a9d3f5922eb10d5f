import { describe, expect, it } from 'vitest';
import { effectiveTheme, storedTheme, toggleTheme } from './theme.js';

function memory(): Storage {
  const m = new Map<string, string>();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k), clear: () => m.clear(), key: () => null, length: 0 };
}

describe('theme', () => {
  it('follows the system until a choice is stored', () => {
    const s = memory();
    expect(storedTheme(s)).toBeUndefined();
    expect(effectiveTheme(storedTheme(s), true)).toBe('dark');
    expect(effectiveTheme(storedTheme(s), false)).toBe('light');
  });

  it('stores a choice that differs from the system, and forgets one that matches it', () => {
    const s = memory();
    expect(toggleTheme('light', false, s)).toBe('dark');
    expect(storedTheme(s)).toBe('dark');
    expect(effectiveTheme(storedTheme(s), false)).toBe('dark');
    expect(toggleTheme('dark', false, s)).toBeUndefined();
    expect(storedTheme(s)).toBeUndefined();
  });

  it('ignores a stored value it does not know, and survives storage that throws', () => {
    const s = memory();
    s.setItem('chat.theme', 'sepia');
    expect(storedTheme(s)).toBeUndefined();
    const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('denied'); }, removeItem: () => { throw new Error('denied'); } };
    expect(storedTheme(broken)).toBeUndefined();
    expect(toggleTheme('light', false, broken)).toBe('dark');
  });
});
