import { describe, expect, it } from 'vitest';
import { RequestError } from '@chat/client';
import { conv, msg } from '../state/test-messages.js';
import { QUICK_REACTIONS, actionErrorText, canDelete, canEdit, editKeyAction, reactionChips, reactorNames } from './message-actions.js';

const names: Record<string, string> = { alice: 'Alice', bob: 'Bob', cy: 'Cy' };
const nameOf = (id: string) => names[id] ?? id;

describe('message actions', () => {
  it('offers six quick reactions, each a valid reaction key', () => {
    expect(QUICK_REACTIONS).toEqual(['👍', '❤️', '😂', '😮', '😢', '🎉']);
    for (const e of QUICK_REACTIONS) expect(e).not.toMatch(/\s/);
  });

  it('lets only the sender edit, and nobody once deleted', () => {
    const m = msg('c', 1, { senderId: 'bob' });
    expect(canEdit(m, 'bob')).toBe(true);
    expect(canEdit(m, 'alice')).toBe(false);
    expect(canEdit(m, undefined)).toBe(false);
    expect(canEdit({ ...m, deleted: true }, 'bob')).toBe(false);
  });

  it('lets the sender delete, and in a group its owner and admins; never in a DM for the other member', () => {
    const m = msg('c', 1, { senderId: 'bob' });
    const group = conv('c', {
      members: [
        { userId: 'alice', role: 'owner' },
        { userId: 'bob', role: 'member' },
        { userId: 'cy', role: 'admin' },
        { userId: 'dan', role: 'member' },
      ],
    });
    expect(canDelete(m, 'bob', group)).toBe(true);
    expect(canDelete(m, 'alice', group)).toBe(true);
    expect(canDelete(m, 'cy', group)).toBe(true);
    expect(canDelete(m, 'dan', group)).toBe(false);
    expect(canDelete({ ...m, deleted: true }, 'bob', group)).toBe(false);
    const dm = conv('c', { kind: 'dm', title: null, members: [{ userId: 'alice', role: 'owner' }, { userId: 'bob', role: 'member' }] });
    expect(canDelete(m, 'alice', dm)).toBe(false);
    expect(canDelete(m, 'bob', dm)).toBe(true);
    expect(canDelete(m, 'alice', undefined)).toBe(false);
  });

  it('names reactors with the signed-in user first as "You", and counts the rest past ten', () => {
    expect(reactorNames(['bob'], 'alice', nameOf)).toBe('Bob');
    expect(reactorNames(['bob', 'alice'], 'alice', nameOf)).toBe('You and Bob');
    expect(reactorNames(['bob', 'cy', 'alice'], 'alice', nameOf)).toBe('You, Bob and Cy');
    expect(reactorNames(['alice'], 'alice', nameOf)).toBe('You');
    expect(reactorNames([], 'alice', nameOf)).toBe('');
    const many = Array.from({ length: 14 }, (_, i) => `u${i}`);
    expect(reactorNames(many, undefined, nameOf)).toBe('u0, u1, u2, u3, u4, u5, u6, u7, u8 and 5 others');
  });

  it('turns reactions into chips: count, mine, and who reacted; none for a deleted message', () => {
    const m = msg('c', 1, { reactions: { '👍': ['bob', 'alice'], '🎉': ['cy'], '😢': [] } });
    expect(reactionChips(m, 'alice', nameOf)).toEqual([
      { emoji: '👍', count: 2, mine: true, title: 'You and Bob reacted with 👍' },
      { emoji: '🎉', count: 1, mine: false, title: 'Cy reacted with 🎉' },
    ]);
    expect(reactionChips({ ...m, deleted: true }, 'alice', nameOf)).toEqual([]);
  });

  it('saves on Enter, cancels on Escape, and leaves Shift+Enter and IME composition to the text box', () => {
    expect(editKeyAction({ key: 'Enter', shiftKey: false, isComposing: false })).toBe('save');
    expect(editKeyAction({ key: 'Enter', shiftKey: true, isComposing: false })).toBeUndefined();
    expect(editKeyAction({ key: 'Enter', shiftKey: false, isComposing: true })).toBeUndefined();
    expect(editKeyAction({ key: 'Escape', shiftKey: false, isComposing: false })).toBe('cancel');
    expect(editKeyAction({ key: 'a', shiftKey: false, isComposing: false })).toBeUndefined();
  });

  it('words failures for the line under the message', () => {
    expect(actionErrorText('edit', new RequestError('forbidden', 'only the sender may edit a message'))).toBe("Couldn't save the edit: only the sender may edit a message");
    expect(actionErrorText('react', new RequestError('conflict', 'cannot react to a deleted message'))).toBe("Couldn't update the reaction: cannot react to a deleted message");
    expect(actionErrorText('delete', new RequestError('offline', 'not connected'))).toMatch(/^Couldn't delete the message: you are offline/);
    expect(actionErrorText('delete', new RequestError('timeout', 'no reply'))).toMatch(/did not answer/);
    expect(actionErrorText('edit', new Error('boom'))).toBe("Couldn't save the edit: boom");
  });
});
