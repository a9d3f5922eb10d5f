import { describe, expect, it } from 'vitest';
import type { ConversationJson, MessageJson } from '@chat/proto';
import { ChatClient, type EventFrame } from '@chat/testkit/chat-client';
import { useRestartableDataDir, useStandalone } from '@chat/testkit/standalone-fixture';
import { startInProcess } from '@chat/testkit/system-under-test';

type Msg = MessageJson;

const photo = { name: 'cat.png', mediaType: 'image/png', size: 1234, url: 'https://files.example/cat.png' };

/** message.updated events a client got for one message, in arrival order. */
const updatesOf = (conversationId: string, seq: number) => (e: EventFrame) =>
  e.ev === 'message.updated' && (e.message as Msg).conversationId === conversationId && (e.message as Msg).seq === seq;

describe('standalone: message.edit, message.delete and message.react over real sockets', () => {
  const { system, login, track } = useStandalone();

  /** A group owned by `owner` with `others`, each having seen its conversation.updated. */
  async function group(owner: ChatClient & { user: { id: string } }, others: (ChatClient & { user: { id: string } })[]) {
    const { conversation } = await owner.call<{ conversation: ConversationJson }>('conversation.create_group', {
      title: 'Features',
      members: others.map((o) => o.user.id),
    });
    for (const c of [owner, ...others]) {
      await c.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as ConversationJson).id === conversation.id);
    }
    return conversation.id;
  }

  const send = async (c: ChatClient, conversationId: string, clientMsgId: string, extra: Record<string, unknown> = {}) =>
    (await c.call<{ message: Msg }>('message.send', { conversationId, clientMsgId, body: `body ${clientMsgId}`, ...extra })).message;

  it('the sender edits a message: editedAt is set and every member session, the sender\u2019s included, gets message.updated', async () => {
    const ada1 = await login('Ada');
    const ada2 = track(await ChatClient.connect(system().baseUrl, ada1.token));
    const ben = await login('Ben');
    const id = await group(ada1, [ben]);
    const sent = await send(ada1, id, 'e1');
    expect(sent.editedAt).toBeNull();

    const before = Date.now();
    const { message } = await ada1.call<{ message: Msg }>('message.edit', { conversationId: id, seq: sent.seq, body: 'fixed typo' });
    expect(message).toMatchObject({ seq: sent.seq, id: sent.id, body: 'fixed typo', deleted: false, createdAt: sent.createdAt });
    expect(message.editedAt).toEqual(expect.any(Number));
    expect(message.editedAt!).toBeGreaterThanOrEqual(before - 1000);

    for (const c of [ada1, ada2, ben]) {
      const [ev] = await c.waitForEvents(updatesOf(id, sent.seq), 1);
      expect(ev!.message).toEqual(message);
    }
    const history = await ben.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(history.messages).toEqual([message]);
  });

  it('refuses an edit by another member (forbidden) and an empty edit of a message without attachments', async () => {
    const cy = await login('Cy');
    const dee = await login('Dee');
    const id = await group(cy, [dee]);
    const sent = await send(cy, id, 'x1');
    const byOther = await dee.request('message.edit', { conversationId: id, seq: sent.seq, body: 'mine now' });
    expect(byOther).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const empty = await cy.request('message.edit', { conversationId: id, seq: sent.seq, body: '   ' });
    expect(empty).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const tooLong = await cy.request('message.edit', { conversationId: id, seq: sent.seq, body: 'x'.repeat(4001) });
    expect(tooLong).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    // Nothing changed.
    const history = await cy.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(history.messages).toEqual([sent]);
  });

  it('the sender deletes a message: served as deleted by the reply, the event, history, sync and lastMessage', async () => {
    const eli = await login('Eli');
    const fay = await login('Fay');
    const id = await group(eli, [fay]);
    const sent = await send(fay, id, 'd1', { attachments: [photo] });
    await eli.call('message.react', { conversationId: id, seq: sent.seq, emoji: '👍', add: true });

    const { message } = await fay.call<{ message: Msg }>('message.delete', { conversationId: id, seq: sent.seq });
    // The reaction was the conversation's change 1, the delete is change 2 (sync's changesSince).
    const deleted = { ...sent, body: '', attachments: [], reactions: {}, deleted: true, changeSeq: 2 };
    expect(message).toEqual(deleted);

    for (const c of [eli, fay]) {
      const evs = await c.waitForEvents(updatesOf(id, sent.seq), 2);
      expect(evs[1]!.message).toEqual(deleted);
    }
    const history = await eli.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(history.messages).toEqual([deleted]);
    const sync = await eli.call<{ conversations: ConversationJson[]; messages: Record<string, Msg[]> }>('sync', { since: {} });
    expect(sync.messages[id]).toEqual([deleted]);
    expect(sync.conversations.find((c) => c.id === id)?.lastMessage).toEqual(deleted);
    const got = await fay.call<{ conversation: ConversationJson }>('conversation.get', { conversationId: id });
    expect(got.conversation.lastMessage).toEqual(deleted);

    // Deleting twice answers the deleted message again and publishes nothing new.
    const again = await fay.call<{ message: Msg }>('message.delete', { conversationId: id, seq: sent.seq });
    expect(again.message).toEqual(deleted);
    // A deleted message can be neither edited nor reacted to.
    expect(await fay.request('message.edit', { conversationId: id, seq: sent.seq, body: 'back' })).toMatchObject({
      ok: false,
      error: { code: 'conflict' },
    });
    expect(await eli.request('message.react', { conversationId: id, seq: sent.seq, emoji: '👍', add: true })).toMatchObject({
      ok: false,
      error: { code: 'conflict' },
    });
    // The seq stays taken: the next message follows it.
    expect((await send(eli, id, 'd2')).seq).toBe(sent.seq + 1);
    // Events of one conversation arrive in order: once d2's message.new is here, so is any update before it.
    await eli.waitForEvent((e) => e.ev === 'message.new' && (e.message as Msg).clientMsgId === 'd2');
    expect(eli.events.filter(updatesOf(id, sent.seq))).toHaveLength(2);
  });

  it('a group owner may delete anyone\u2019s message; a plain member may not delete someone else\u2019s, nor may a DM peer', async () => {
    const gus = await login('Gus');
    const hal = await login('Hal');
    const ivy = await login('Ivy');
    const id = await group(gus, [hal, ivy]);
    const byHal = await send(hal, id, 'g1');
    const byGus = await send(gus, id, 'g2');

    expect(await ivy.request('message.delete', { conversationId: id, seq: byHal.seq })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await hal.request('message.delete', { conversationId: id, seq: byGus.seq })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const { message } = await gus.call<{ message: Msg }>('message.delete', { conversationId: id, seq: byHal.seq });
    expect(message).toMatchObject({ seq: byHal.seq, senderId: 'hal', deleted: true, body: '' });
    await ivy.waitForEvent((e) => updatesOf(id, byHal.seq)(e) && (e.message as Msg).deleted);

    const { conversation: dm } = await hal.call<{ conversation: ConversationJson }>('conversation.open_dm', { userId: 'ivy' });
    const inDm = await send(hal, dm.id, 'dm1');
    expect(await ivy.request('message.delete', { conversationId: dm.id, seq: inDm.seq })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('reactions: add, add again (no-op), another user, remove, remove a missing one (no-op); the map is in every event', async () => {
    const jo = await login('Jo');
    const kai = await login('Kai');
    const id = await group(jo, [kai]);
    const sent = await send(jo, id, 'r1');
    const react = async (c: ChatClient, emoji: string, add: boolean) =>
      (await c.call<{ message: Msg }>('message.react', { conversationId: id, seq: sent.seq, emoji, add })).message.reactions;

    expect(await react(kai, '👍', true)).toEqual({ '👍': ['kai'] });
    expect(await react(kai, '👍', true)).toEqual({ '👍': ['kai'] });
    expect(await react(jo, '👍', true)).toEqual({ '👍': ['kai', 'jo'] });
    expect(await react(jo, '👨‍👩‍👧', true)).toEqual({ '👍': ['kai', 'jo'], '👨‍👩‍👧': ['jo'] });
    expect(await react(kai, '👍', false)).toEqual({ '👍': ['jo'], '👨‍👩‍👧': ['jo'] });
    expect(await react(kai, '👍', false)).toEqual({ '👍': ['jo'], '👨‍👩‍👧': ['jo'] });
    expect(await react(jo, '👨‍👩‍👧', false)).toEqual({ '👍': ['jo'] });

    // Five changes, five events for each member; the no-ops published nothing.
    const expected = [{ '👍': ['kai'] }, { '👍': ['kai', 'jo'] }, { '👍': ['kai', 'jo'], '👨‍👩‍👧': ['jo'] }, { '👍': ['jo'], '👨‍👩‍👧': ['jo'] }, { '👍': ['jo'] }];
    for (const c of [jo, kai]) {
      const evs = await c.waitForEvents(updatesOf(id, sent.seq), 5);
      expect(evs.map((e) => (e.message as Msg).reactions)).toEqual(expected);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(kai.events.filter(updatesOf(id, sent.seq))).toHaveLength(5);
    const history = await kai.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(history.messages[0]!.reactions).toEqual({ '👍': ['jo'] });
  });

  it('validates emoji: empty, whitespace, control characters and over 32 code units are bad_request', async () => {
    const lee = await login('Lee');
    const id = await group(lee, []);
    const sent = await send(lee, id, 'v1');
    for (const emoji of ['', 'a b', '👍\n', '\u0007', 'x'.repeat(33)]) {
      const reply = await lee.request('message.react', { conversationId: id, seq: sent.seq, emoji, add: true });
      expect(reply, JSON.stringify(emoji)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    const ok = await lee.request('message.react', { conversationId: id, seq: sent.seq, emoji: 'x'.repeat(32), add: true });
    expect(ok.ok).toBe(true);
  });

  it('refuses a non-member (forbidden, leaking nothing) and answers an unknown seq with not_found', async () => {
    const max = await login('Max');
    const nia = await login('Nia');
    const out = await login('Out');
    const id = await group(max, [nia]);
    const sent = await send(max, id, 'n1');
    const ops: [string, Record<string, unknown>][] = [
      ['message.edit', { body: 'x' }],
      ['message.delete', {}],
      ['message.react', { emoji: '👍', add: true }],
    ];
    for (const [op, args] of ops) {
      // A real seq and a missing one, in an existing and a missing conversation: all the same to an outsider.
      for (const [conversationId, seq] of [[id, sent.seq], [id, 99], ['g_nosuchgroup', 1]] as const) {
        expect(await out.request(op, { conversationId, seq, ...args }), `${op} ${conversationId} ${seq}`).toMatchObject({
          ok: false,
          error: { code: 'forbidden', message: 'not a member of this conversation' },
        });
      }
      expect(await max.request(op, { conversationId: id, seq: 99, ...args }), op).toMatchObject({ ok: false, error: { code: 'not_found' } });
    }
    expect(out.events.filter((e) => e.ev === 'message.updated')).toEqual([]);
    const history = await nia.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(history.messages).toEqual([sent]);
  });

  it('orders a session\u2019s send and edit of it sent without waiting', async () => {
    const ola = await login('Ola');
    const id = await group(ola, []);
    const sending = ola.request('message.send', { conversationId: id, clientMsgId: 'o1', body: 'first' });
    const editing = ola.request('message.edit', { conversationId: id, seq: 1, body: 'second' });
    expect((await sending).ok).toBe(true);
    expect(await editing).toMatchObject({ ok: true, message: { seq: 1, body: 'second' } });
  });
});

describe('standalone: message changes survive a restart', () => {
  const { dir, cleanups } = useRestartableDataDir();

  it('keeps edits, deletions and reactions', async () => {
    let sys = await startInProcess({ dataDir: dir.path });
    const pia = await ChatClient.login(sys.baseUrl, 'Pia');
    const { conversation } = await pia.call<{ conversation: ConversationJson }>('conversation.create_group', { title: 'Kept', members: [] });
    const id = conversation.id;
    for (const k of ['k1', 'k2']) await pia.call('message.send', { conversationId: id, clientMsgId: k, body: k });
    const edited = (await pia.call<{ message: Msg }>('message.edit', { conversationId: id, seq: 1, body: 'k1 edited' })).message;
    await pia.call('message.react', { conversationId: id, seq: 1, emoji: '🎉', add: true });
    await pia.call('message.delete', { conversationId: id, seq: 2 });
    await pia.close();
    await sys.stop();

    sys = await startInProcess({ dataDir: dir.path });
    cleanups.push(() => sys.stop());
    const again = await ChatClient.login(sys.baseUrl, 'Pia');
    cleanups.push(() => again.close());
    const { messages } = await again.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(messages).toMatchObject([
      { seq: 1, body: 'k1 edited', editedAt: edited.editedAt, reactions: { '🎉': ['pia'] }, deleted: false },
      { seq: 2, body: '', deleted: true, reactions: {} },
    ]);
    // And the restarted actor keeps applying them.
    const { message } = await again.call<{ message: Msg }>('message.react', { conversationId: id, seq: 1, emoji: '🎉', add: false });
    expect(message.reactions).toEqual({});
  });
});
