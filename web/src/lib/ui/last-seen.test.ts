import { describe, expect, it } from 'vitest';
import { presenceLabel } from './last-seen.js';

const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);
const off = (agoMs: number) => ({ userId: 'u', online: false, lastSeen: NOW - agoMs });

describe('presenceLabel', () => {
  it('says online, or how long ago the user was last seen', () => {
    expect(presenceLabel({ userId: 'u', online: true, lastSeen: null }, NOW)).toBe('online');
    expect(presenceLabel(off(20_000), NOW)).toBe('last seen just now');
    expect(presenceLabel(off(5 * 60_000), NOW)).toBe('last seen 5 min ago');
    expect(presenceLabel(off(3 * 3_600_000), NOW)).toBe('last seen 3 h ago');
    expect(presenceLabel(off(30 * 3_600_000), NOW)).toBe('last seen yesterday');
    expect(presenceLabel(off(4 * 86_400_000), NOW)).toBe('last seen 4 days ago');
    expect(presenceLabel(off(40 * 86_400_000), NOW)).toMatch(/^last seen /);
  });

  it('says nothing when presence is unknown or the user was never seen', () => {
    expect(presenceLabel(undefined, NOW)).toBe('');
    expect(presenceLabel({ userId: 'u', online: false, lastSeen: null }, NOW)).toBe('');
  });
});
