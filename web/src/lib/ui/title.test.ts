import { describe, expect, it } from 'vitest';
import { titleWithUnread, totalUnread } from './title.js';

describe('document title', () => {
  it('prefixes the unread count, and is bare with none', () => {
    expect(titleWithUnread(0)).toBe('Chat');
    expect(titleWithUnread(3)).toBe('(3) Chat');
    expect(titleWithUnread(99)).toBe('(99) Chat');
    expect(titleWithUnread(100)).toBe('(99+) Chat');
    expect(titleWithUnread(-1)).toBe('Chat');
    expect(titleWithUnread(Number.NaN)).toBe('Chat');
    expect(titleWithUnread(2, 'Team chat')).toBe('(2) Team chat');
  });

  it('sums the conversations, ignoring nonsense negative counts', () => {
    expect(totalUnread([])).toBe(0);
    expect(totalUnread([{ unread: 2 }, { unread: 0 }, { unread: 5 }, { unread: -1 }])).toBe(7);
  });
});
