import { describe, expect, it } from 'vitest';
import { MIN_CONTRAST, avatarColor, contrastWithWhite, initials, parseHex } from './avatar.js';

describe('avatar', () => {
  it('takes initials from the first and last words, or two letters of one word', () => {
    expect(initials('Ann Web')).toBe('AW');
    expect(initials('  mary  jane   watson ')).toBe('MW');
    expect(initials('bob')).toBe('BO');
    expect(initials('Émile')).toBe('ÉM');
    expect(initials('😀 Smile')).toBe('😀S');
    expect(initials('   ')).toBe('?');
  });

  it('gives the same colour for the same id, different ones across ids', () => {
    expect(avatarColor('alice')).toBe(avatarColor('alice'));
    expect(avatarColor('alice')).toMatch(/^#[0-9a-f]{6}$/);
    const colours = new Set(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'].map(avatarColor));
    expect(colours.size).toBeGreaterThanOrEqual(6);
  });

  it('keeps white initials readable (WCAG AA) on every colour', () => {
    for (let i = 0; i < 2000; i++) {
      const colour = avatarColor(`user-${i}`);
      expect(contrastWithWhite(parseHex(colour)), colour).toBeGreaterThanOrEqual(MIN_CONTRAST);
    }
    // The measure itself: black on white is 21:1, white on white 1:1.
    expect(contrastWithWhite([0, 0, 0])).toBeCloseTo(21, 5);
    expect(contrastWithWhite([255, 255, 255])).toBeCloseTo(1, 5);
  });
});
