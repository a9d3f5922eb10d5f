import { describe, expect, it } from 'vitest';
import { ChatState } from '../state/chat-state.js';
import { conv, msg } from '../state/test-messages.js';
import { MemoryStore } from './memory-store.js';
import { KEEP_MESSAGES, SnapshotKeeper, applySnapshot, takeSnapshot } from './snapshot.js';

function signedIn(): ChatState {
  const s = new ChatState();
  s.setMe({ id: 'alice', name: 'Alice' });
  return s;
}

/** A MemoryStore that counts its snapshot saves. */
function countingStore() {
  const store = new MemoryStore();
  let count = 0;
  const save = store.saveSnapshot.bind(store);
  store.saveSnapshot = (snap) => {
    count++;
    return save(snap);
  };
  return { store, saves: () => count };
}

describe('offline snapshot', () => {
  it('keeps the conversations, the newest messages of the unbroken run held, and the members’ names; a new state shows them again', () => {
    const s = signedIn();
    s.rememberUsers([{ id: 'bob', name: 'Bob' }, { id: 'bot_1', name: 'Helper', bot: true }]);
    const many = KEEP_MESSAGES + 20;
    s.upsertConversation(conv('g', { lastSeq: many + 5, members: [{ userId: 'alice', role: 'owner' }, { userId: 'bob', role: 'member' }, { userId: 'bot_1', role: 'member' }, { userId: 'stranger', role: 'member' }] }));
    s.upsertConversation(conv('quiet', { lastSeq: 3 }));
    s.addMessages(Array.from({ length: many }, (_, i) => msg('g', i + 1)));
    // Above a hole: left out, so the restored log's top is where a sync must continue from.
    s.addMessage(msg('g', many + 5));

    const snap = takeSnapshot(s, 42)!;
    expect(snap.savedAt).toBe(42);
    expect(snap.conversations.map((c) => c.id).sort()).toEqual(['g', 'quiet']);
    expect(snap.messages['g']!.map((m) => m.seq)).toEqual(Array.from({ length: KEEP_MESSAGES }, (_, i) => many - KEEP_MESSAGES + 1 + i));
    expect(snap.messages['quiet']).toBeUndefined();
    expect(snap.users.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual([{ id: 'alice', name: 'Alice' }, { id: 'bob', name: 'Bob' }, { id: 'bot_1', name: 'Helper', bot: true }]);

    const again = new ChatState();
    applySnapshot(again, structuredClone(snap));
    expect(again.me).toEqual({ id: 'alice', name: 'Alice' });
    expect(again.conversations().map((c) => c.id)).toEqual(s.conversations().map((c) => c.id));
    expect(again.log('g').contiguousHigh).toBe(many);
    expect(again.log('g').hasOlder).toBe(true);
    expect(again.syncMarks().since).toEqual({ g: many, quiet: 3 });
    expect([again.nameOf('bob'), again.isBot('bot_1'), again.nameOf('stranger')]).toEqual(['Bob', true, 'stranger']);
  });

  it('nothing to keep before the user is known', () => {
    expect(takeSnapshot(new ChatState(), 1)).toBeUndefined();
  });

  it('the keeper saves at most once per interval while the state changes, the last change included, and not after stop', async () => {
    const { store, saves } = countingStore();
    const s = signedIn();
    const keeper = new SnapshotKeeper(store, s, 30);
    s.subscribe(() => keeper.changed());
    for (let i = 1; i <= 5; i++) s.upsertConversation(conv(`c${i}`));
    await new Promise((r) => setTimeout(r, 80));
    expect(saves()).toBe(1);
    expect((await store.snapshot())!.conversations).toHaveLength(5);
    keeper.stop();
    s.upsertConversation(conv('c6'));
    await new Promise((r) => setTimeout(r, 80));
    expect(saves()).toBe(1);
  });

  it('writes nothing when what it keeps did not change (presence, typing): only a change of conversations, messages or names is saved', async () => {
    const { store, saves } = countingStore();
    const s = signedIn();
    const keeper = new SnapshotKeeper(store, s, 60_000);
    s.upsertConversation(conv('c1'));
    await keeper.flush();
    expect(saves()).toBe(1);
    s.applyPresence([{ userId: 'bob', online: true, lastSeen: null }]);
    await keeper.flush();
    expect(saves()).toBe(1);
    s.upsertConversation(conv('c2'));
    await keeper.flush();
    expect(saves()).toBe(2);
    expect((await store.snapshot())!.conversations).toHaveLength(2);
    keeper.stop();
  });
});
