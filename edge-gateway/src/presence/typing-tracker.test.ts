import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Typist, TypingTracker } from './typing-tracker.js';

const alice: Typist = { sessionId: 's-alice', user: { id: 'alice', name: 'Alice' } };
const alice2: Typist = { sessionId: 's-alice-2', user: { id: 'alice', name: 'Alice' } };

describe('TypingTracker', () => {
  let stops: string[];
  let tracker: TypingTracker;

  beforeEach(() => {
    vi.useFakeTimers();
    stops = [];
    tracker = new TypingTracker({ expiryMs: 6000, maxPerSession: 3, onStop: (t, c) => stops.push(`${t.sessionId}:${c}`) });
  });
  afterEach(() => {
    tracker.clear();
    vi.useRealTimers();
  });

  it('stops a typist after the quiet time, once', () => {
    tracker.active(alice, 'c1');
    vi.advanceTimersByTime(5999);
    expect(stops).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(stops).toEqual(['s-alice:c1']);
    expect(tracker.isTyping('s-alice', 'c1')).toBe(false);
    vi.advanceTimersByTime(60_000);
    expect(stops).toEqual(['s-alice:c1']);
    expect(tracker.size).toBe(0);
  });

  it('restarts the quiet time on every active()', () => {
    tracker.active(alice, 'c1');
    vi.advanceTimersByTime(4000);
    tracker.active(alice, 'c1');
    vi.advanceTimersByTime(4000);
    expect(stops).toEqual([]);
    vi.advanceTimersByTime(2000);
    expect(stops).toEqual(['s-alice:c1']);
  });

  it('sends nothing after an explicit inactive()', () => {
    tracker.active(alice, 'c1');
    tracker.inactive('s-alice', 'c1');
    vi.advanceTimersByTime(10_000);
    expect(stops).toEqual([]);
    expect(tracker.size).toBe(0);
    // inactive() for something never armed is harmless.
    tracker.inactive('s-alice', 'c2');
    tracker.inactive('nobody', 'c1');
    expect(stops).toEqual([]);
  });

  it('stops every conversation of a session when it closes, and only that session', () => {
    tracker.active(alice, 'c1');
    tracker.active(alice, 'c2');
    tracker.active(alice2, 'c1');
    tracker.sessionClosed('s-alice');
    expect(stops.sort()).toEqual(['s-alice:c1', 's-alice:c2']);
    expect(tracker.isTyping('s-alice-2', 'c1')).toBe(true);
    vi.advanceTimersByTime(6000);
    // The closed session's timers are gone; the other session expires normally.
    expect(stops.sort()).toEqual(['s-alice-2:c1', 's-alice:c1', 's-alice:c2']);
    tracker.sessionClosed('s-alice');
    expect(stops).toHaveLength(3);
  });

  it('holds at most maxPerSession conversations per session, stopping the one armed longest ago', () => {
    tracker.active(alice, 'c1');
    tracker.active(alice, 'c2');
    tracker.active(alice, 'c3');
    // Re-arming c1 makes c2 the oldest.
    tracker.active(alice, 'c1');
    tracker.active(alice, 'c4');
    expect(stops).toEqual(['s-alice:c2']);
    expect(tracker.size).toBe(3);
    expect(['c1', 'c3', 'c4'].every((c) => tracker.isTyping('s-alice', c))).toBe(true);
    // Another session has its own budget.
    tracker.active(alice2, 'c9');
    expect(tracker.size).toBe(4);
  });

  it('clear() cancels everything without stopping anyone', () => {
    tracker.active(alice, 'c1');
    tracker.clear();
    vi.advanceTimersByTime(10_000);
    expect(stops).toEqual([]);
    expect(tracker.size).toBe(0);
  });

  it('refuses nonsensical options', () => {
    expect(() => new TypingTracker({ expiryMs: 0, maxPerSession: 1, onStop: () => undefined })).toThrow(RangeError);
    expect(() => new TypingTracker({ expiryMs: 10, maxPerSession: 0, onStop: () => undefined })).toThrow(RangeError);
  });
});
