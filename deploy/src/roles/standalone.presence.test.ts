import { describe, expect, it } from 'vitest';
import type { ConversationJson } from '@chat/proto';
import { ChatClient, type EventFrame } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

type Client = ChatClient & { user: { id: string }; token: string };

interface TypingJson {
  conversationId: string;
  userId: string;
  active: boolean;
}
interface PresenceJson {
  userId: string;
  online: boolean;
  lastSeen: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const typingIn = (conversationId: string) => (e: EventFrame) => e.ev === 'typing' && e.conversationId === conversationId;
const typingEvents = (c: ChatClient, conversationId: string): TypingJson[] =>
  c.events.filter(typingIn(conversationId)).map(({ conversationId: cid, userId, active }) => ({ conversationId: cid, userId, active }) as TypingJson);
const presenceOf = (userId: string) => (e: EventFrame) => e.ev === 'presence' && e.userId === userId;
const presenceEvents = (c: ChatClient, userId: string): PresenceJson[] =>
  c.events.filter(presenceOf(userId)).map(({ userId: uid, online, lastSeen }) => ({ userId: uid, online, lastSeen }) as PresenceJson);

/** A group owned by `owner` with `others`, once every member saw its conversation.updated. */
async function group(owner: Client, others: Client[]): Promise<string> {
  const { conversation } = await owner.call<{ conversation: ConversationJson }>('conversation.create_group', {
    title: 'Typing',
    members: others.map((o) => o.user.id),
  });
  for (const c of [owner, ...others]) {
    await c.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as ConversationJson).id === conversation.id);
  }
  return conversation.id;
}

/** Polls presence.get until `check` holds for the answer (presence updates travel over the bus asynchronously). */
async function presenceUntil(c: ChatClient, userIds: string[], check: (p: PresenceJson[]) => boolean): Promise<PresenceJson[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const { presence } = await c.call<{ presence: PresenceJson[] }>('presence.get', { userIds });
    if (check(presence) || Date.now() > deadline) return presence;
    await sleep(20);
  }
}

// The server's quiet time is shortened so the expiry can be observed quickly.
const EXPIRY_MS = 300;

describe('standalone: typing over real sockets (typing expires after 300 ms)', () => {
  const { system, login, track } = useStandalone({ TYPING_EXPIRY_MS: String(EXPIRY_MS) });

  it('relays typing to the other members only, and the server stops a quiet typist', async () => {
    const ann1 = await login('Typing Ann');
    const ann2 = track(await ChatClient.connect(system().baseUrl, ann1.token));
    const bob = await login('Typing Bob');
    const cat = await login('Typing Cat');
    const dan = await login('Typing Dan'); // not a member
    const id = await group(ann1, [bob, cat]);

    const started = Date.now();
    const reply = await ann1.request('typing', { conversationId: id, active: true });
    expect(reply).toEqual({ re: reply.re, ok: true });
    const want = { conversationId: id, userId: ann1.user.id, active: true };
    for (const c of [bob, cat]) expect((await c.waitForEvent(typingIn(id))) as unknown).toMatchObject(want);

    // No new active: true: after the quiet time the server says active: false on Ann's behalf.
    for (const c of [bob, cat]) await c.waitForEvents(typingIn(id), 2, 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(EXPIRY_MS - 50);
    for (const c of [bob, cat]) expect(typingEvents(c, id)).toEqual([want, { ...want, active: false }]);

    // Neither the typist's own sessions nor a non-member ever got one.
    await sleep(100);
    for (const c of [ann1, ann2, dan]) expect(c.events.filter((e) => e.ev === 'typing')).toEqual([]);
  });

  it('an explicit active: false is relayed once, and the server sends no second one after the quiet time', async () => {
    const uma = await login('Typing Uma');
    const vic = await login('Typing Vic');
    const id = await group(uma, [vic]);

    await uma.call('typing', { conversationId: id, active: true });
    await uma.call('typing', { conversationId: id, active: false });
    await vic.waitForEvents(typingIn(id), 2);
    // Past the quiet time and at least one expiry round of the presence service (every 1 s).
    await sleep(EXPIRY_MS + 1500);
    expect(typingEvents(vic, id).map((t) => t.active)).toEqual([true, false]);
    // Typing again starts a new lease, which the server stops as usual.
    await uma.call('typing', { conversationId: id, active: true });
    await vic.waitForEvents(typingIn(id), 4, 5000);
    expect(typingEvents(vic, id).map((t) => t.active)).toEqual([true, false, true, false]);
  });

  it('accepts typing without an id: it is relayed, and nothing is replied', async () => {
    const eve = await login('Typing Eve');
    const fay = await login('Typing Fay');
    const id = await group(eve, [fay]);

    eve.sendRaw(JSON.stringify({ op: 'typing', conversationId: id, active: true }));
    const ev = await fay.waitForEvent(typingIn(id));
    expect(ev).toMatchObject({ conversationId: id, userId: eve.user.id, active: true });
    // The server's active: false after the quiet time, as for a typing with an id.
    await fay.waitForEvents(typingIn(id), 2, 5000);
    expect(typingEvents(fay, id)[1]).toEqual({ conversationId: id, userId: eve.user.id, active: false });

    // A request sent after it is answered, and no frame ever answered the typing.
    const ping = await eve.request('ping');
    expect(ping.ok).toBe(true);
    expect(eve.events.filter((e) => e.ev !== 'conversation.updated' && e.ev !== 'presence')).toEqual([]);
  });

  it('refuses typing from a non-member (forbidden), and an id-less one does nothing', async () => {
    const gus = await login('Typing Gus');
    const hal = await login('Typing Hal');
    const ivy = await login('Typing Ivy'); // not a member
    const id = await group(gus, [hal]);

    const refused = await ivy.request('typing', { conversationId: id, active: true });
    expect(refused.ok).toBe(false);
    expect(refused.error?.code).toBe('forbidden');
    ivy.sendRaw(JSON.stringify({ op: 'typing', conversationId: id, active: true }));
    const missing = await ivy.request('typing', { conversationId: 'no-such-conversation', active: true });
    expect(missing.error?.code).toBe('forbidden');
    const invalid = await ivy.request('typing', { conversationId: id, active: 'yes' });
    expect(invalid.error?.code).toBe('bad_request');

    // Hal gets Gus's typing, and nothing from Ivy, not even an expiry later.
    await gus.call('typing', { conversationId: id, active: true });
    await hal.waitForEvent(typingIn(id));
    await sleep(EXPIRY_MS * 2);
    expect(typingEvents(hal, id).filter((t) => t.userId === ivy.user.id)).toEqual([]);
    expect(ivy.events.filter((e) => e.ev !== 'presence' && e.ev !== 'conversation.updated')).toEqual([]);
  });
});

describe('standalone: typing stops on an explicit active: false and on disconnect (default 6 s expiry)', () => {
  const { system, login, track } = useStandalone();

  it('an explicit active: false is relayed and cancels the server\u2019s stop', async () => {
    const jo = await login('Typing Jo');
    const kim = await login('Typing Kim');
    const id = await group(jo, [kim]);

    await jo.call('typing', { conversationId: id, active: true });
    await jo.call('typing', { conversationId: id, active: false });
    await kim.waitForEvents(typingIn(id), 2);
    expect(typingEvents(kim, id).map((t) => t.active)).toEqual([true, false]);
    // Closing the session now sends nothing more: the typist had stopped.
    await jo.close();
    await sleep(200);
    expect(typingEvents(kim, id).map((t) => t.active)).toEqual([true, false]);
  });

  it('the server sends active: false when the typing session disconnects, long before the expiry', async () => {
    const lea1 = await login('Typing Lea');
    const lea2 = track(await ChatClient.connect(system().baseUrl, lea1.token));
    const max = await login('Typing Max');
    const id = await group(lea1, [max]);

    await lea2.call('typing', { conversationId: id, active: true });
    await max.waitForEvent(typingIn(id));
    const closedAt = Date.now();
    await lea2.close();
    const [, stop] = await max.waitForEvents(typingIn(id), 2, 3000);
    expect(stop).toMatchObject({ conversationId: id, userId: lea1.user.id, active: false });
    expect(Date.now() - closedAt).toBeLessThan(3000);
    // Lea's other session never typed and is still connected: it got nothing.
    expect(lea1.events.filter((e) => e.ev === 'typing')).toEqual([]);
  });
});

describe('standalone: presence over real sockets', () => {
  const { system, login } = useStandalone();

  it('presence.get answers contacts: online ones (lastSeen null), offline ones with lastSeen; anyone else as never seen', async () => {
    const ned = await login('Presence Ned');
    const oli = await login('Presence Oli');
    const asker = await login('Presence Asker');
    const stranger = await login('Presence Outsider');
    await asker.call('conversation.create_group', { title: 'presence', members: [ned.user.id, oli.user.id] });

    // Presence is private to contacts: the stranger shares no conversation with them, so it learns nothing, not even that they are online.
    expect(await stranger.call<{ presence: PresenceJson[] }>('presence.get', { userIds: [ned.user.id, oli.user.id, stranger.user.id] })).toMatchObject({
      presence: [
        { userId: ned.user.id, online: false, lastSeen: null },
        { userId: oli.user.id, online: false, lastSeen: null },
        { userId: stranger.user.id, online: true, lastSeen: null },
      ],
    });

    const online = await presenceUntil(asker, [ned.user.id, oli.user.id], (p) => p.every((u) => u.online));
    expect(online).toEqual([
      { userId: ned.user.id, online: true, lastSeen: null },
      { userId: oli.user.id, online: true, lastSeen: null },
    ]);

    const before = Date.now();
    await oli.close();
    const after = await presenceUntil(asker, [oli.user.id, ned.user.id, 'presence-nobody'], (p) => p[0]?.online === false);
    expect(after[0]).toMatchObject({ userId: oli.user.id, online: false });
    expect(after[0]!.lastSeen).toEqual(expect.any(Number));
    expect(after[0]!.lastSeen!).toBeGreaterThanOrEqual(before - 1000);
    expect(after[0]!.lastSeen!).toBeLessThanOrEqual(Date.now());
    expect(after[1]).toEqual({ userId: ned.user.id, online: true, lastSeen: null });
    expect(after[2]).toEqual({ userId: 'presence-nobody', online: false, lastSeen: null });

    expect(await asker.call('presence.get', { userIds: [] })).toMatchObject({ presence: [] });
    const tooMany = await asker.request('presence.get', { userIds: Array.from({ length: 201 }, (_, i) => `u${i}`) });
    expect(tooMany.error?.code).toBe('bad_request');
    const badId = await asker.request('presence.get', { userIds: ['not valid!'] });
    expect(badId.error?.code).toBe('bad_request');
  });

  it('sends presence events on connect and disconnect to users sharing a conversation, and to nobody else', async () => {
    const pia1 = await login('Presence Pia');
    const quinn = await login('Presence Quinn');
    const stranger = await login('Presence Stranger');
    await pia1.call('conversation.open_dm', { userId: quinn.user.id });
    // Quinn's own sign-in happened before the DM existed: start from a clean slate.
    pia1.events.length = 0;

    const closedAt = Date.now();
    await quinn.close();
    const offline = await pia1.waitForEvent(presenceOf(quinn.user.id));
    expect(offline).toMatchObject({ userId: quinn.user.id, online: false });
    expect(offline.lastSeen).toEqual(expect.any(Number));
    expect(offline.lastSeen as number).toBeGreaterThanOrEqual(closedAt - 1000);

    const quinn2 = await ChatClient.connect(system().baseUrl, quinn.token);
    try {
      await pia1.waitForEvents(presenceOf(quinn.user.id), 2);
      expect(presenceEvents(pia1, quinn.user.id)).toEqual([
        { userId: quinn.user.id, online: false, lastSeen: offline.lastSeen },
        { userId: quinn.user.id, online: true, lastSeen: null },
      ]);
      // Quinn sees Pia come and go too (a second session of an online user changes nothing).
      const pia2 = await ChatClient.connect(system().baseUrl, pia1.token);
      await pia2.close();
      await pia1.close();
      const piaOff = await quinn2.waitForEvent(presenceOf(pia1.user.id));
      expect(piaOff).toMatchObject({ userId: pia1.user.id, online: false });
      expect(presenceEvents(quinn2, pia1.user.id)).toHaveLength(1);
    } finally {
      await quinn2.close();
    }
    // The stranger shares no conversation with either: nothing about them.
    await sleep(100);
    expect(stranger.events.filter((e) => e.ev === 'presence' && (e.userId === quinn.user.id || e.userId === pia1.user.id))).toEqual([]);
  });

  it('a contact who shares several conversations with the user gets each presence change once', async () => {
    const ria = await login('Presence Ria');
    const sam = await login('Presence Sam');
    await ria.call('conversation.open_dm', { userId: sam.user.id });
    for (const title of ['one', 'two', 'three']) await ria.call('conversation.create_group', { title, members: [sam.user.id] });
    ria.events.length = 0;
    await sam.close();
    await ria.waitForEvent(presenceOf(sam.user.id));
    const sam2 = await ChatClient.connect(system().baseUrl, sam.token);
    try {
      await ria.waitForEvents(presenceOf(sam.user.id), 2);
      await sleep(100);
      expect(presenceEvents(ria, sam.user.id).map((p) => p.online)).toEqual([false, true]);
    } finally {
      await sam2.close();
    }
  });
});
