import { describe, expect, it } from 'vitest';
import { ChatState } from './chat-state.js';
import { conv, msg } from './test-messages.js';

function signedIn(): ChatState {
  const s = new ChatState();
  s.setMe({ id: 'alice', name: 'Alice' });
  return s;
}

const pendingSend = (clientMsgId: string) => ({ clientMsgId, conversationId: 'g', body: 'hi', attachments: [], createdAt: 2_000 });

describe('ChatState: optimistic sends', () => {
  it('remembers which users are bots from the user objects it is given, for the badge', () => {
    const s = signedIn();
    s.rememberUsers([
      { id: 'bot_1', name: 'Summarizer', bot: true },
      { id: 'bob', name: 'Bob' },
    ]);
    expect([s.isBot('bot_1'), s.isBot('bob'), s.isBot('alice'), s.isBot('nobody')]).toEqual([true, false, false, false]);
    expect(s.nameOf('bot_1')).toBe('Summarizer');
    // A later object without the flag is the newer truth.
    s.rememberUsers([{ id: 'bot_1', name: 'Summarizer' }]);
    expect(s.isBot('bot_1')).toBe(false);
  });

  it('ack first: the pending send becomes the confirmed message, and the echo after it is a no-op', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 2 }));
    s.addMessages([msg('g', 1), msg('g', 2)]);
    s.addPending(pendingSend('m1'));
    expect(s.pendingIn('g')).toHaveLength(1);

    const confirmed = msg('g', 3, { senderId: 'alice', clientMsgId: 'm1', body: 'hi' });
    s.confirmSend('m1', confirmed);
    expect(s.pendingIn('g')).toEqual([]);
    s.addMessage(confirmed); // the message.new echo
    expect(s.log('g').messages().map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(s.conversation('g')?.lastSeq).toBe(3);
    expect(s.conversation('g')?.unread).toBe(0);
  });

  it('echo first: message.new with my clientMsgId confirms the pending send; the late ack changes nothing', () => {
    const s = signedIn();
    s.upsertConversation(conv('g'));
    s.addPending(pendingSend('m1'));
    const confirmed = msg('g', 1, { senderId: 'alice', clientMsgId: 'm1', body: 'hi' });
    s.addMessage(confirmed);
    expect(s.pendingIn('g')).toEqual([]);
    s.confirmSend('m1', confirmed);
    expect(s.log('g').size).toBe(1);
    // A failure reported after confirmation (a timed-out duplicate attempt) must not resurrect it.
    s.failSend('m1', 'timeout');
    expect(s.pendingIn('g')).toEqual([]);
  });

  it('a duplicate: true ack (a retry after a lost reply) carries the original seq and adds nothing', () => {
    const s = signedIn();
    s.upsertConversation(conv('g'));
    const original = msg('g', 1, { senderId: 'alice', clientMsgId: 'm1' });
    s.addPending(pendingSend('m1'));
    s.confirmSend('m1', original);
    s.addPending(pendingSend('m1')); // the resend after reconnect, same clientMsgId
    s.confirmSend('m1', original);
    expect(s.log('g').messages()).toHaveLength(1);
    expect(s.pendingIn('g')).toEqual([]);
  });

  it('a failed send stays visible as failed, and a retry makes it sending again', () => {
    const s = signedIn();
    s.addPending(pendingSend('m1'));
    s.failSend('m1', 'body longer than 4000 characters');
    expect(s.pending('m1')).toMatchObject({ status: 'failed', error: 'body longer than 4000 characters' });
    expect(s.sendsToRetry()).toEqual([]);
    s.retrySend('m1');
    expect(s.pending('m1')?.status).toBe('sending');
    expect(s.sendsToRetry().map((p) => p.clientMsgId)).toEqual(['m1']);
  });

  it('a sync that brings my message back confirms the pending send (the ack was lost with the socket)', () => {
    const s = signedIn();
    s.upsertConversation(conv('g'));
    s.addPending(pendingSend('m1'));
    s.applySync({
      conversations: [conv('g', { lastSeq: 1 })],
      messages: { g: [msg('g', 1, { senderId: 'alice', clientMsgId: 'm1' })] },
      truncated: [],
      updated: {},
    });
    expect(s.sendsToRetry()).toEqual([]);
    expect(s.log('g').size).toBe(1);
  });
});

describe('ChatState: sync merge', () => {
  it('sends marks from what it holds and merges new, updated and unknown conversations', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 3, changeSeq: 1 }));
    s.addMessages([msg('g', 1), msg('g', 2), msg('g', 3)]);
    s.upsertConversation(conv('empty', { lastSeq: 40, changeSeq: 2 }));
    expect(s.syncMarks()).toEqual({ since: { g: 3, empty: 40 }, changesSince: { g: 1, empty: 2 } });

    const gaps = s.applySync({
      conversations: [conv('g', { lastSeq: 5, changeSeq: 2, title: 'renamed', unread: 2 }), conv('new', { lastSeq: 1 })],
      messages: { g: [msg('g', 4), msg('g', 5)], new: [msg('new', 1)] },
      updated: { g: [msg('g', 2, { body: 'edited', editedAt: 9, changeSeq: 2 })] },
      truncated: [],
    });
    expect(gaps).toEqual([]);
    expect(s.log('g').messages().map((m) => m.body)).toEqual(['message 1', 'edited', 'message 3', 'message 4', 'message 5']);
    expect(s.conversation('g')).toMatchObject({ title: 'renamed', lastSeq: 5, changeSeq: 2, unread: 2 });
    expect(s.conversation('new')?.lastSeq).toBe(1);
    expect(s.syncMarks().since).toMatchObject({ g: 5, new: 1 });
    expect(s.syncMarks().changesSince).toMatchObject({ g: 2 });
  });

  it('a truncated conversation whose held messages end below the new ones reports the hole', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 10 }));
    for (let seq = 1; seq <= 10; seq++) s.addMessage(msg('g', seq));
    const gaps = s.applySync({
      conversations: [conv('g', { lastSeq: 500 })],
      messages: { g: Array.from({ length: 200 }, (_, i) => msg('g', 301 + i)) },
      truncated: ['g'],
      updated: {},
    });
    expect(gaps).toEqual([{ conversationId: 'g', after: 10, before: 301 }]);
    expect(s.syncMarks().since.g).toBe(10);
  });

  it('a truncated conversation the client did not know has no hole: older history loads on demand', () => {
    const s = signedIn();
    const gaps = s.applySync({
      conversations: [conv('g', { lastSeq: 500 })],
      messages: { g: Array.from({ length: 200 }, (_, i) => msg('g', 301 + i)) },
      truncated: ['g'],
    });
    expect(gaps).toEqual([]);
    expect(s.log('g').hasOlder).toBe(true);
    expect(s.syncMarks().since.g).toBe(500);
  });

  it('changed messages cut short drop the held ones below them (they may be stale)', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 10 }));
    for (let seq = 1; seq <= 10; seq++) s.addMessage(msg('g', seq));
    s.applySync({
      conversations: [conv('g', { lastSeq: 10, changeSeq: 500 })],
      messages: {},
      updated: { g: [msg('g', 8, { changeSeq: 499, body: 'x' }), msg('g', 9, { changeSeq: 500, body: 'y' })] },
      truncated: ['g'],
    });
    expect(s.log('g').low).toBe(8);
    expect(s.log('g').hasOlder).toBe(true);
  });

  it('a stale conversation object does not roll back lastSeq, marks or title', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 5, readSeq: 5, changeSeq: 3, title: 'new title' }));
    s.upsertConversation(conv('g', { lastSeq: 4, readSeq: 2, unread: 2, changeSeq: 2, title: 'old title' }));
    expect(s.conversation('g')).toMatchObject({ lastSeq: 5, readSeq: 5, title: 'new title', unread: 0 });
  });

  it('orders conversations by latest activity and counts unread from others only', () => {
    const s = signedIn();
    s.upsertConversation(conv('a', { createdAt: 1 }));
    s.upsertConversation(conv('b', { createdAt: 2 }));
    expect(s.conversations().map((c) => c.id)).toEqual(['b', 'a']);
    s.addMessage(msg('a', 1, { createdAt: 10 }));
    s.addMessage(msg('a', 2, { createdAt: 11 }));
    expect(s.conversations().map((c) => c.id)).toEqual(['a', 'b']);
    expect(s.conversation('a')?.unread).toBe(2);
    s.addMessage(msg('a', 3, { createdAt: 12, senderId: 'alice' }));
    expect(s.conversation('a')).toMatchObject({ unread: 0, readSeq: 3 });
  });
});

describe('ChatState: receipts, typing, presence', () => {
  it('watermarks only move forward and "Seen by" lists the others who read that far', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 5, unread: 0 }));
    s.applyReceipt('g', 'bob', 5, 4);
    s.applyReceipt('g', 'carol', 5, 5);
    s.applyReceipt('g', 'bob', 3, 2); // late, lower: ignored
    s.applyReceipt('g', 'alice', 5, 5);
    expect(s.receipts.get('g', 'bob')).toEqual({ deliveredSeq: 5, readSeq: 4 });
    expect(s.seenBy('g', 4)).toEqual(['bob', 'carol']);
    expect(s.seenBy('g', 5)).toEqual(['carol']);
  });

  it("takes members' marks from a conversation view, so \"Seen by\" needs no receipt event (after a reload, on another device)", () => {
    const s = signedIn();
    const members = [
      { userId: 'alice', role: 'owner', readSeq: 5, deliveredSeq: 5 },
      { userId: 'bob', role: 'member', readSeq: 4, deliveredSeq: 5 },
      { userId: 'carol', role: 'member' },
    ];
    s.upsertConversation(conv('g', { lastSeq: 5, unread: 0, members }));
    expect(s.seenBy('g', 4)).toEqual(['bob']);
    expect(s.seenBy('g', 5)).toEqual([]);
    // An older view (a late reply) never lowers what a receipt event said.
    s.applyReceipt('g', 'bob', 5, 5);
    s.upsertConversation(conv('g', { lastSeq: 5, unread: 0, members }));
    expect(s.seenBy('g', 5)).toEqual(['bob']);
  });

  it('read implies delivered, and my own read receipt clears the unread count', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 0 }));
    s.addMessages([msg('g', 1), msg('g', 2), msg('g', 3)]);
    expect(s.conversation('g')?.unread).toBe(3);
    s.applyReceipt('g', 'alice', 0, 2);
    expect(s.conversation('g')).toMatchObject({ readSeq: 2, deliveredSeq: 2, unread: 1 });
    expect(s.receipts.get('g', 'alice')).toEqual({ deliveredSeq: 2, readSeq: 2 });
    s.applyReceipt('g', 'alice', 3, 1);
    expect(s.conversation('g')).toMatchObject({ readSeq: 2, deliveredSeq: 3, unread: 1 });
  });

  it('typists expire on their own and never include me', () => {
    let now = 0;
    const s = new ChatState(() => now);
    s.setMe({ id: 'alice', name: 'Alice' });
    s.applyTyping('g', 'bob', true);
    s.applyTyping('g', 'alice', true);
    expect(s.typing.typists('g')).toEqual(['bob']);
    now = 20_000;
    expect(s.typing.typists('g')).toEqual([]);
    s.expireTyping();
    expect(s.typing.anyone).toBe(false);
    s.applyTyping('g', 'bob', true);
    s.applyTyping('g', 'bob', false);
    expect(s.typing.typists('g')).toEqual([]);
  });

  it('presence keeps the latest report', () => {
    const s = signedIn();
    s.applyPresence([{ userId: 'bob', online: false, lastSeen: 50 }]);
    s.applyPresence([{ userId: 'bob', online: false, lastSeen: 40 }]);
    expect(s.presenceOf('bob')?.lastSeen).toBe(50);
    s.applyPresence([{ userId: 'bob', online: true, lastSeen: 60 }]);
    expect(s.presenceOf('bob')?.online).toBe(true);
  });

  it('notifies subscribers with a new snapshot on every change', () => {
    const s = signedIn();
    const versions: number[] = [];
    const off = s.subscribe((snap) => versions.push(snap.version));
    s.upsertConversation(conv('g'));
    off();
    s.upsertConversation(conv('h'));
    expect(versions).toHaveLength(2);
    expect(versions[1]).toBeGreaterThan(versions[0]!);
  });
});

describe('ChatState: threads and mentions (protocol extensions)', () => {
  it('counts new messages that mention me (by id, @all or @here, never my own) until my read mark passes them', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 1, readSeq: 1 }));
    s.addMessages([msg('g', 1)]);
    s.addMessage(msg('g', 2, { mentions: ['alice'] }));
    s.addMessage(msg('g', 3, { mentions: ['@here'] }));
    s.addMessage(msg('g', 4, { mentions: ['carol'] }));
    s.addMessage(msg('g', 5, { senderId: 'alice', mentions: ['@all'] }));
    expect(s.mentionsMe(s.log('g').get(3)!)).toBe(true);
    expect(s.mentionsMe(s.log('g').get(5)!)).toBe(false);
    // My own message (seq 5) marks me read up to it: nothing unread is left.
    expect(s.conversation('g')?.mentions).toBeUndefined();

    const t = signedIn();
    t.upsertConversation(conv('g', { lastSeq: 1, readSeq: 1 }));
    t.addMessages([msg('g', 1)]);
    for (const m of [msg('g', 2, { mentions: ['alice'] }), msg('g', 3, { mentions: ['@all'] }), msg('g', 4)]) t.addMessage(m);
    expect(t.conversation('g')).toMatchObject({ unread: 3, mentions: 2 });
    t.applyReceipt('g', 'alice', 2, 2);
    expect(t.conversation('g')).toMatchObject({ unread: 2, mentions: 1 });
    t.applyReceipt('g', 'alice', 4, 4);
    expect(t.conversation('g')?.mentions).toBeUndefined();
  });

  it('moves a held root’s thread counters on thread.updated, and keeps thread replies by thread', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 1 }));
    s.addMessages([msg('g', 1)]);
    s.addMessage(msg('g', 2, { threadRoot: 1 }));
    s.applyThreadUpdate('g', 1, 1, 1_002);
    expect(s.log('g').get(1)).toMatchObject({ threadReplies: 1, threadLastAt: 1_002 });
    // An older update does not move it back.
    s.applyThreadUpdate('g', 1, 0, 1_001);
    expect(s.log('g').get(1)?.threadReplies).toBe(1);
    // A page of older replies joins those in the log, in seq order.
    s.addThreadPage('g', msg('g', 1, { threadReplies: 1 }), [msg('g', 2, { threadRoot: 1 })]);
    expect(s.threadMessages('g', 1).map((m) => m.seq)).toEqual([2]);
    expect(s.threadMessages('g', 7)).toEqual([]);
  });

  it('takes a root’s counters from sync’s `updated` after a reconnect, also over a thread.updated seen before', () => {
    const s = signedIn();
    s.upsertConversation(conv('g', { lastSeq: 2, changeSeq: 1 }));
    s.addMessages([msg('g', 1, { threadReplies: 1, threadLastAt: 1_002 }), msg('g', 2, { threadRoot: 1 })]);
    // A thread.updated moves the counters but not the held changeSeq.
    s.applyThreadUpdate('g', 1, 2, 1_003);
    const gaps = s.applySync({
      conversations: [conv('g', { lastSeq: 5, changeSeq: 2 })],
      messages: { g: [msg('g', 3, { threadRoot: 1 }), msg('g', 4, { threadRoot: 1 }), msg('g', 5)] },
      updated: { g: [msg('g', 1, { threadReplies: 3, threadLastAt: 1_004, changeSeq: 2 })] },
      truncated: [],
    });
    expect(gaps).toEqual([]);
    // What the conversation's thread badge and the thread panel show.
    expect(s.log('g').get(1)).toMatchObject({ threadReplies: 3, threadLastAt: 1_004, changeSeq: 2 });
    expect(s.syncMarks().changesSince).toMatchObject({ g: 2 });
    expect(s.threadMessages('g', 1).map((m) => m.seq)).toEqual([2, 3, 4]);
  });
});
