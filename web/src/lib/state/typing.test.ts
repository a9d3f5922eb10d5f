import { describe, expect, it } from 'vitest';
import { TypingThrottle } from './typing.js';

describe('TypingThrottle', () => {
  it('sends active at most once per interval and inactive only after an active', () => {
    let now = 0;
    const sent: boolean[] = [];
    const t = new TypingThrottle((a) => sent.push(a), 3_000, () => now);
    t.stop();
    t.input();
    now = 1_000;
    t.input();
    now = 3_500;
    t.input();
    t.stop();
    t.stop();
    expect(sent).toEqual([true, true, false]);
  });
});
