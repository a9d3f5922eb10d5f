import { describe, expect, it } from 'vitest';
import { conv, msg } from '../state/test-messages.js';
import { NOTIFY_MAX_AGE_MS, NewMessageWatch, loadMuted, notificationsWanted, setMuted, setNotificationsWanted, shouldNotify } from './notify.js';

function memory() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

const NOW = 10_000_000;
const withLast = (id: string, senderId: string, createdAt = NOW - 1000) => conv(id, { lastSeq: 3, lastMessage: msg(id, 3, { senderId, createdAt }) });

describe('shouldNotify', () => {
  const none = new Set<string>();
  it('notifies for a message from someone else in a conversation not in view, or when the tab is hidden', () => {
    expect(shouldNotify(withLast('a', 'bob'), 'alice', { activeId: 'b', hidden: false }, none, NOW)).toBe(true);
    expect(shouldNotify(withLast('a', 'bob'), 'alice', { activeId: undefined, hidden: false }, none, NOW)).toBe(true);
    expect(shouldNotify(withLast('a', 'bob'), 'alice', { activeId: 'a', hidden: true }, none, NOW)).toBe(true);
  });

  it('stays quiet for the conversation in view, my own messages, muted conversations and old messages', () => {
    expect(shouldNotify(withLast('a', 'bob'), 'alice', { activeId: 'a', hidden: false }, none, NOW)).toBe(false);
    expect(shouldNotify(withLast('a', 'alice'), 'alice', { activeId: 'b', hidden: true }, none, NOW)).toBe(false);
    expect(shouldNotify(withLast('a', 'bob'), 'alice', { activeId: 'b', hidden: true }, new Set(['a']), NOW)).toBe(false);
    expect(shouldNotify(withLast('a', 'bob', NOW - NOTIFY_MAX_AGE_MS - 1), 'alice', { activeId: 'b', hidden: true }, none, NOW)).toBe(false);
    expect(shouldNotify(conv('a'), 'alice', { activeId: 'b', hidden: true }, none, NOW)).toBe(false);
    // Read already (on another device, while this page was closed): a sync brings it, nothing to tell.
    expect(shouldNotify({ ...withLast('a', 'bob'), readSeq: 3 }, 'alice', { activeId: 'b', hidden: true }, none, NOW)).toBe(false);
  });
});

describe('NewMessageWatch', () => {
  it('reports conversations whose lastSeq grew, and new ones only for a message written after it started', () => {
    const w = new NewMessageWatch(NOW);
    expect(w.changed([withLast('a', 'bob', NOW - 5000), conv('b', { lastSeq: 1 })])).toEqual([]);
    expect(w.changed([withLast('a', 'bob', NOW - 5000), conv('b', { lastSeq: 2 })]).map((c) => c.id)).toEqual(['b']);
    expect(w.changed([withLast('a', 'bob', NOW - 5000), conv('b', { lastSeq: 2 })])).toEqual([]);
    // Seen for the first time: an old conversation (a sync after being away) no, a new DM yes.
    expect(w.changed([withLast('c', 'carol', NOW - 1)])).toEqual([]);
    expect(w.changed([withLast('d', 'dan', NOW + 10)]).map((c) => c.id)).toEqual(['d']);
    expect(w.changed([conv('e')])).toEqual([]);
  });
});

describe('mute list and the bell', () => {
  it('keeps muted conversations in storage, and ignores garbage there', () => {
    const s = memory();
    expect(loadMuted(s).size).toBe(0);
    setMuted('a', true, s);
    setMuted('b', true, s);
    setMuted('a', false, s);
    expect([...loadMuted(s)]).toEqual(['b']);
    s.setItem('chat.notify.muted', '{not json');
    expect(loadMuted(s).size).toBe(0);
  });

  it('remembers whether notifications are wanted', () => {
    const s = memory();
    expect(notificationsWanted(s)).toBe(false);
    setNotificationsWanted(true, s);
    expect(notificationsWanted(s)).toBe(true);
    setNotificationsWanted(false, s);
    expect(notificationsWanted(s)).toBe(false);
  });
});
