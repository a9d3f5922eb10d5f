import { describe, expect, it } from 'vitest';
import type { ConversationJson, MessageJson } from '@chat/proto';
import { ChatClient, type EventFrame } from '@chat/testkit/chat-client';
import { useRestartableDataDir, useStandalone } from '@chat/testkit/standalone-fixture';
import { startInProcess } from '@chat/testkit/system-under-test';

// sync's changesSince (protocol extension, docs/protocol.md): a
// client that was offline while messages it already had were edited, deleted
// or reacted to, or while its group was renamed or gained a member, catches up
// with one sync.

type Client = ChatClient & { user: { id: string }; token: string };
type Msg = MessageJson;
type Conv = ConversationJson;

interface SyncReply {
  conversations: Conv[];
  messages: Record<string, Msg[]>;
  truncated: string[];
  updated: Record<string, Msg[]>;
}

const updatedOf = (conversationId: string) => (e: EventFrame) => e.ev === 'conversation.updated' && (e.conversation as Conv).id === conversationId;
const newOf = (conversationId: string, seq: number) => (e: EventFrame) =>
  e.ev === 'message.new' && (e.message as Msg).conversationId === conversationId && (e.message as Msg).seq === seq;

describe('standalone: sync with changesSince over real sockets', () => {
  const { system, login, track } = useStandalone();

  /** A group owned by `owner` with `others` and one message per body from the owner, all seen by every member. */
  async function groupWith(owner: Client, others: Client[], bodies: string[]): Promise<string> {
    const { conversation } = await owner.call<{ conversation: Conv }>('conversation.create_group', { title: 'Before', members: others.map((o) => o.user.id) });
    const id = conversation.id;
    for (const c of [owner, ...others]) await c.waitForEvent(updatedOf(id));
    for (const [i, body] of bodies.entries()) await owner.call('message.send', { conversationId: id, clientMsgId: `m${i + 1}`, body });
    for (const c of others) await c.waitForEvent(newOf(id, bodies.length));
    return id;
  }

  it('an offline member gets the edited, deleted and reacted-to messages, the rename and the new member; nothing twice', async () => {
    const ada = await login('SyAda');
    let ben = await login('SyBen');
    const cy = await login('SyCy');
    const id = await groupWith(ada, [ben], ['one', 'two', 'three', 'four']);

    // Ben's watermarks, as a client keeps them: lastSeq and changeSeq of each conversation.
    const first = await ben.call<SyncReply>('sync', { since: {}, changesSince: {} });
    const known = first.conversations.find((c) => c.id === id)!;
    expect(known).toMatchObject({ lastSeq: 4, changeSeq: 0, title: 'Before' });
    expect(first.messages[id]!.map((m) => m.changeSeq)).toEqual([0, 0, 0, 0]);
    expect(first.updated).toEqual({});
    const since = { [id]: known.lastSeq };
    const changesSince = { [id]: known.changeSeq };
    await ben.close();

    // While Ben is away: every kind of change, and a new message that is then edited too.
    const edited = (await ada.call<{ message: Msg }>('message.edit', { conversationId: id, seq: 1, body: 'one, edited' })).message;
    expect(edited.changeSeq).toBe(1);
    await ada.call('message.delete', { conversationId: id, seq: 2 });
    await ada.call('message.react', { conversationId: id, seq: 3, emoji: '👍', add: true });
    await ada.call('conversation.rename', { conversationId: id, title: 'After' });
    await ada.call('conversation.add_members', { conversationId: id, userIds: [cy.user.id] });
    await ada.call('message.send', { conversationId: id, clientMsgId: 'm5', body: 'five' });
    await ada.call('message.edit', { conversationId: id, seq: 5, body: 'five, edited' });
    // Receipts are not changes.
    await ada.call('receipt.mark', { conversationId: id, readSeq: 5 });

    ben = track(Object.assign(await ChatClient.connect(system().baseUrl, ben.token), { user: ben.user, token: ben.token }));
    const caughtUp = await ben.call<SyncReply>('sync', { since, changesSince });
    const history = (await ben.call<{ messages: Msg[] }>('message.history', { conversationId: id })).messages;
    expect(history.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);

    expect(caughtUp.conversations).toHaveLength(1);
    const conv = caughtUp.conversations[0]!;
    expect(conv).toMatchObject({ id, title: 'After', lastSeq: 5, changeSeq: 6 });
    expect(conv.members.map((m) => m.userId).sort()).toEqual([ada.user.id, ben.user.id, cy.user.id].sort());
    // New messages in `messages`, older changed ones in `updated`: each seq once.
    expect(caughtUp.messages).toEqual({ [id]: [history[4]] });
    expect(caughtUp.messages[id]![0]).toMatchObject({ body: 'five, edited', changeSeq: 6 });
    expect(caughtUp.updated).toEqual({ [id]: [history[0], history[1], history[2]] });
    expect(caughtUp.updated[id]).toMatchObject([
      { seq: 1, body: 'one, edited', editedAt: edited.editedAt, changeSeq: 1 },
      { seq: 2, body: '', attachments: [], reactions: {}, deleted: true, changeSeq: 2 },
      { seq: 3, body: 'three', reactions: { '👍': [ada.user.id] }, changeSeq: 3 },
    ]);
    expect(caughtUp.truncated).toEqual([]);

    // With the new watermarks: nothing new.
    const again = await ben.call<SyncReply>('sync', { since: { [id]: conv.lastSeq }, changesSince: { [id]: conv.changeSeq } });
    expect(again).toEqual({ ok: true, re: expect.any(String), conversations: [], messages: {}, truncated: [], updated: {} });

    // An old client (no changesSince) gets what sync always gave, and an empty `updated`.
    const old = await ben.call<SyncReply>('sync', { since });
    expect(old.conversations.map((c) => c.id)).toEqual([id]);
    expect(old.messages).toEqual({ [id]: [history[4]] });
    expect(old.updated).toEqual({});
    expect(old.truncated).toEqual([]);
    const oldUpToDate = await ben.call<SyncReply>('sync', { since: { [id]: 5 } });
    expect(oldUpToDate).toMatchObject({ conversations: [], messages: {}, truncated: [], updated: {} });

    // Only the changed conversation's mark matters: a rename alone lists it, with nothing in `updated`.
    await ada.call('conversation.rename', { conversationId: id, title: 'Again' });
    const renamed = await ben.call<SyncReply>('sync', { since: { [id]: 5 }, changesSince: { [id]: conv.changeSeq } });
    expect(renamed.conversations).toMatchObject([{ id, title: 'Again', changeSeq: 7 }]);
    expect(renamed).toMatchObject({ messages: {}, updated: {}, truncated: [] });
  });

  it('lists the conversation in truncated when more messages changed than the limit, with the newest changed ones', async () => {
    const dot = await login('SyDot');
    const eve = await login('SyEve');
    const id = await groupWith(dot, [eve], ['a', 'b', 'c', 'd', 'e']);
    for (const seq of [1, 2, 4, 5]) await dot.call('message.edit', { conversationId: id, seq, body: `edited ${seq}` });

    const cut = await eve.call<SyncReply>('sync', { since: { [id]: 5 }, changesSince: { [id]: 0 }, limit: 3 });
    expect(cut.updated[id]!.map((m) => [m.seq, m.body])).toEqual([
      [2, 'edited 2'],
      [4, 'edited 4'],
      [5, 'edited 5'],
    ]);
    expect(cut.truncated).toEqual([id]);
    expect(cut.conversations).toMatchObject([{ id, changeSeq: 4 }]);

    // Exactly the limit is not truncated.
    const exact = await eve.call<SyncReply>('sync', { since: { [id]: 5 }, changesSince: { [id]: 1 }, limit: 3 });
    expect(exact.updated[id]!.map((m) => m.seq)).toEqual([2, 4, 5]);
    expect(exact.truncated).toEqual([]);
  });

  it('validates changesSince like since, and tells a non-member nothing about a conversation it names', async () => {
    const fox = await login('SyFox');
    const gil = await login('SyGil');
    const outsider = await login('SyOut');
    const id = await groupWith(fox, [gil], ['x']);
    await fox.call('message.edit', { conversationId: id, seq: 1, body: 'y' });
    expect(await gil.request('sync', { changesSince: { 'not.valid': 1 } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await gil.request('sync', { changesSince: { [id]: -1 } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const peek = await outsider.call<SyncReply>('sync', { since: { [id]: 1 }, changesSince: { [id]: 0 } });
    expect(peek).toMatchObject({ conversations: [], messages: {}, updated: {}, truncated: [] });
  });
});

describe('standalone: change counters survive a restart', () => {
  const { dir, cleanups } = useRestartableDataDir();

  it('keeps changeSeq of conversations and messages, and the restarted actor counts on from it', async () => {
    let sys = await startInProcess({ dataDir: dir.path });
    const hal = await ChatClient.login(sys.baseUrl, 'SyHal');
    const { conversation } = await hal.call<{ conversation: Conv }>('conversation.create_group', { title: 'Kept', members: [] });
    const id = conversation.id;
    for (const k of ['k1', 'k2']) await hal.call('message.send', { conversationId: id, clientMsgId: k, body: k });
    await hal.call('message.edit', { conversationId: id, seq: 1, body: 'k1 edited' });
    await hal.call('conversation.rename', { conversationId: id, title: 'Renamed' });
    await hal.close();
    await sys.stop();

    sys = await startInProcess({ dataDir: dir.path });
    cleanups.push(() => sys.stop());
    const again = await ChatClient.login(sys.baseUrl, 'SyHal');
    cleanups.push(() => again.close());
    const got = await again.call<{ conversation: Conv }>('conversation.get', { conversationId: id });
    expect(got.conversation).toMatchObject({ title: 'Renamed', changeSeq: 2, lastSeq: 2 });
    const synced = await again.call<SyncReply>('sync', { since: { [id]: 2 }, changesSince: { [id]: 0 } });
    expect(synced.updated[id]).toMatchObject([{ seq: 1, body: 'k1 edited', changeSeq: 1 }]);

    // Not from 0 again: the next change is 3.
    const { message } = await again.call<{ message: Msg }>('message.react', { conversationId: id, seq: 2, emoji: '🎉', add: true });
    expect(message.changeSeq).toBe(3);
    const later = await again.call<SyncReply>('sync', { since: { [id]: 2 }, changesSince: { [id]: 2 } });
    expect(later.updated[id]).toMatchObject([{ seq: 2, changeSeq: 3, reactions: { '🎉': [again.user.id] } }]);
    expect(later.conversations).toMatchObject([{ id, changeSeq: 3 }]);
  });
});
