import { describe, expect, it } from 'vitest';
import { bodySentAt, stampBody } from './message-body.js';

describe('message bodies of the load scenarios', () => {
  it('carry their send time, then words, up to the size asked', () => {
    const sentAt = 1_765_000_000_123.456;
    for (const size of [1, 20, 100, 4000]) {
      const body = stampBody(sentAt, size);
      expect(bodySentAt(body)).toBe(sentAt);
      const stamp = String(sentAt);
      if (size <= stamp.length + 1) expect(body).toBe(stamp);
      else expect([size - 1, size]).toContain(body.length);
    }
    expect(stampBody(sentAt, 100)).toMatch(/^1765000000123\.456 see you at the station/);
    expect(stampBody(sentAt, 100).length).toBeGreaterThanOrEqual(99);
  });

  it('reads no time from another body', () => {
    expect(bodySentAt('hello there')).toBeNaN();
    expect(bodySentAt('')).toBeNaN();
    expect(bodySentAt('12abc')).toBeNaN();
  });
});
