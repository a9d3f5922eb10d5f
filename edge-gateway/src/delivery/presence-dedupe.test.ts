import { describe, expect, it } from 'vitest';
import { PRESENCE_DEDUPE_MS, PresenceDedupe } from './presence-dedupe.js';

describe('PresenceDedupe', () => {
  it('lets each recipient have a change once, tells transitions apart, and forgets after a while', () => {
    let now = 0;
    const seen = new PresenceDedupe(() => now);
    const offline = { userId: 'quinn', online: false, lastSeen: 1000 };
    expect(seen.first(offline, 'pia')).toBe(true);
    expect(seen.first(offline, 'pia')).toBe(false); // the same change through a second shared conversation
    expect(seen.first(offline, 'rob')).toBe(true);
    expect(seen.first({ userId: 'quinn', online: true }, 'pia')).toBe(true);
    expect(seen.first({ userId: 'quinn', online: false, lastSeen: 2000 }, 'pia')).toBe(true);
    now += PRESENCE_DEDUPE_MS + 1;
    expect(seen.first(offline, 'pia')).toBe(true);
  });
});
