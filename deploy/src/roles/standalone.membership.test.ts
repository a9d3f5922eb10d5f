import { describe, expect, it } from 'vitest';
import type { ConversationJson, MessageJson } from '@chat/proto';
import { ChatClient, type EventFrame } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

type Client = ChatClient & { user: { id: string } };
type Conv = ConversationJson;

/** A small group limit, so the limit is cheap to reach. */
const MAX_MEMBERS = 5;

const updatedOf = (conversationId: string) => (e: EventFrame) => e.ev === 'conversation.updated' && (e.conversation as Conv).id === conversationId;
const removedOf = (conversationId: string) => (e: EventFrame) => e.ev === 'conversation.removed' && e.conversationId === conversationId;
const rolesOf = (c: Conv) => Object.fromEntries(c.members.map((m) => [m.userId, m.role]));
/** Long enough for an event that was going to come to have come (everything runs in one process). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

describe('standalone: group membership over real sockets', () => {
  const { system, login, track } = useStandalone({ MAX_GROUP_MEMBERS: String(MAX_MEMBERS) });

  /** A group owned by `owner` with `others`, each having seen its creation. */
  async function group(owner: Client, others: Client[], title = 'Crew'): Promise<string> {
    const { conversation } = await owner.call<{ conversation: Conv }>('conversation.create_group', { title, members: others.map((o) => o.user.id) });
    for (const c of [owner, ...others]) await c.waitForEvent(updatedOf(conversation.id));
    return conversation.id;
  }
  const code = async (c: ChatClient, op: string, args: Record<string, unknown>) => {
    const reply = await c.request(op, args);
    return reply.ok ? 'ok' : reply.error?.code;
  };
  /** The n-th (1-based) conversation.updated a client got for a conversation. */
  const nthUpdate = async (c: ChatClient, conversationId: string, n: number) =>
    (await c.waitForEvents(updatedOf(conversationId), n)).at(-1)!.conversation as Conv;
  const updates = (c: ChatClient, conversationId: string) => c.events.filter(updatedOf(conversationId)).length;

  it('add_members: owner and admin may add, a member or outsider may not; everyone gets conversation.updated with their own view', async () => {
    const [ann, bob, cat, dan, eve] = [await login('MAnn'), await login('MBob'), await login('MCat'), await login('MDan'), await login('MEve')];
    const id = await group(ann, [bob]);
    for (const n of [1, 2]) await ann.call('message.send', { conversationId: id, clientMsgId: `a${n}`, body: `hi ${n}` });

    expect(await code(bob, 'conversation.add_members', { conversationId: id, userIds: [cat.user.id] })).toBe('forbidden');
    expect(await code(eve, 'conversation.add_members', { conversationId: id, userIds: [eve.user.id] })).toBe('forbidden');
    expect(await code(ann, 'conversation.add_members', { conversationId: id, userIds: [cat.user.id, 'no-such-user'] })).toBe('not_found');

    const { conversation } = await ann.call<{ conversation: Conv }>('conversation.add_members', { conversationId: id, userIds: [cat.user.id, bob.user.id] });
    expect(rolesOf(conversation)).toEqual({ [ann.user.id]: 'owner', [bob.user.id]: 'member', [cat.user.id]: 'member' });
    // The new member's view: what was said before is history, not unread.
    const catView = await nthUpdate(cat, id, 1);
    expect(catView).toMatchObject({ id, title: 'Crew', lastSeq: 2, readSeq: 2, unread: 0 });
    expect(catView.members).toHaveLength(3);
    // An existing member's own view: bob has not read ann's two messages.
    expect(await nthUpdate(bob, id, 2)).toMatchObject({ lastSeq: 2, readSeq: 0, unread: 2 });
    expect((await nthUpdate(ann, id, 2)).members).toHaveLength(3);
    const history = await cat.call<{ messages: MessageJson[] }>('message.history', { conversationId: id });
    expect(history.messages.map((m) => m.body)).toEqual(['hi 1', 'hi 2']);

    // Members already in are ignored: no change, no event.
    await ann.call('conversation.add_members', { conversationId: id, userIds: [cat.user.id] });
    // An admin may add.
    await ann.call('conversation.set_role', { conversationId: id, userId: bob.user.id, role: 'admin' });
    await bob.call('conversation.add_members', { conversationId: id, userIds: [dan.user.id] });
    await dan.waitForEvent(updatedOf(id));
    await settle();
    // cat saw: the add, bob's promotion, dan's add; not the no-op.
    expect(updates(cat, id)).toBe(3);
    expect(updates(eve, id)).toBe(0);
    expect((await ann.call<{ conversations: Conv[] }>('conversation.list')).conversations.find((c) => c.id === id)?.members).toHaveLength(4);
  });

  it('the group limit holds (bad_request), and a DM can neither gain nor lose members, roles or a title (bad_request)', async () => {
    const users = [await login('LOwner'), await login('L1'), await login('L2'), await login('L3'), await login('L4'), await login('L5')];
    const owner = users[0]!;
    const others = users.slice(1);
    const id = await group(owner, others.slice(0, 3));
    expect(await code(owner, 'conversation.add_members', { conversationId: id, userIds: [others[3]!.user.id, others[4]!.user.id] })).toBe('bad_request');
    await owner.call('conversation.add_members', { conversationId: id, userIds: [others[3]!.user.id] });
    expect(await code(owner, 'conversation.add_members', { conversationId: id, userIds: [others[4]!.user.id] })).toBe('bad_request');
    // More ids than a group can hold never reach the actor.
    const many = Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => `x${i}`);
    expect(await code(owner, 'conversation.add_members', { conversationId: id, userIds: many })).toBe('bad_request');
    expect((await owner.call<{ conversation: Conv }>('conversation.get', { conversationId: id })).conversation.members).toHaveLength(MAX_MEMBERS);

    const [a, b] = [others[0]!, others[1]!];
    const { conversation: dm } = await a.call<{ conversation: Conv }>('conversation.open_dm', { userId: b.user.id });
    expect(await code(a, 'conversation.add_members', { conversationId: dm.id, userIds: [owner.user.id] })).toBe('bad_request');
    expect(await code(a, 'conversation.remove_member', { conversationId: dm.id, userId: b.user.id })).toBe('bad_request');
    expect(await code(a, 'conversation.remove_member', { conversationId: dm.id, userId: a.user.id })).toBe('bad_request');
    expect(await code(a, 'conversation.set_role', { conversationId: dm.id, userId: b.user.id, role: 'admin' })).toBe('bad_request');
    expect(await code(a, 'conversation.rename', { conversationId: dm.id, title: 'Ours' })).toBe('bad_request');
    // An outsider learns nothing, not even that it is a DM.
    expect(await code(owner, 'conversation.add_members', { conversationId: dm.id, userIds: [owner.user.id] })).toBe('forbidden');
    expect((await b.call<{ conversation: Conv }>('conversation.get', { conversationId: dm.id })).conversation.members).toHaveLength(2);
  });

  it('remove_member: who may remove whom; the removed user gets conversation.removed on every session and can no longer read or send', async () => {
    const own = await login('ROwn');
    const [ad1, ad2, mem1, mem2, out] = [await login('RAd1'), await login('RAd2'), await login('RMem1'), await login('RMem2'), await login('ROut')];
    const mem1b = track(await ChatClient.connect(system().baseUrl, mem1.token));
    const id = await group(own, [ad1, ad2, mem1, mem2]);
    for (const a of [ad1, ad2]) await own.call('conversation.set_role', { conversationId: id, userId: a.user.id, role: 'admin' });
    await mem1.call('message.send', { conversationId: id, clientMsgId: 'm1', body: 'before' });

    expect(await code(mem2, 'conversation.remove_member', { conversationId: id, userId: mem1.user.id })).toBe('forbidden');
    expect(await code(ad1, 'conversation.remove_member', { conversationId: id, userId: own.user.id })).toBe('forbidden');
    expect(await code(ad1, 'conversation.remove_member', { conversationId: id, userId: ad2.user.id })).toBe('forbidden');
    expect(await code(out, 'conversation.remove_member', { conversationId: id, userId: mem1.user.id })).toBe('forbidden');
    const seen = new Map([own, ad1, ad2, mem1, mem2].map((c) => [c, updates(c, id)]));

    expect(await ad1.request('conversation.remove_member', { conversationId: id, userId: mem1.user.id })).toEqual({ re: expect.any(String), ok: true });
    // Acknowledged: from now on mem1 can neither read nor send.
    expect(await code(mem1, 'message.history', { conversationId: id })).toBe('forbidden');
    expect(await code(mem1, 'message.send', { conversationId: id, clientMsgId: 'm2', body: 'after' })).toBe('forbidden');
    expect(await code(mem1, 'conversation.get', { conversationId: id })).toBe('forbidden');
    expect((await mem1.call<{ conversations: Conv[] }>('conversation.list')).conversations.map((c) => c.id)).not.toContain(id);
    expect((await mem1.call<{ conversations: Conv[] }>('sync', { since: {} })).conversations.map((c) => c.id)).not.toContain(id);
    for (const s of [mem1, mem1b]) await s.waitForEvent(removedOf(id));
    for (const c of [own, ad1, ad2, mem2]) {
      const view = await nthUpdate(c, id, seen.get(c)! + 1);
      expect(view.members.map((m) => m.userId)).not.toContain(mem1.user.id);
    }
    // The rest talk on; mem1 hears nothing of it.
    await mem2.call('message.send', { conversationId: id, clientMsgId: 'm3', body: 'without you' });
    await own.waitForEvent((e) => e.ev === 'message.new' && (e.message as MessageJson).clientMsgId === 'm3');
    await settle();
    expect(mem1.messagesIn(id).map((m) => m.body)).toEqual(['before']);
    expect(updates(mem1, id)).toBe(seen.get(mem1));
    expect(out.events.filter((e) => removedOf(id)(e) || updatedOf(id)(e))).toEqual([]);

    // The owner may remove an admin; removing a non-member again is a no-op.
    await own.call('conversation.remove_member', { conversationId: id, userId: ad2.user.id });
    await ad2.waitForEvent(removedOf(id));
    await own.call('conversation.remove_member', { conversationId: id, userId: mem1.user.id });
    const { conversation } = await own.call<{ conversation: Conv }>('conversation.get', { conversationId: id });
    expect(rolesOf(conversation)).toEqual({ [own.user.id]: 'owner', [ad1.user.id]: 'admin', [mem2.user.id]: 'member' });
  });

  it('leave: anyone may leave; a leaving owner hands ownership to the oldest admin, else the oldest member; the last leaves nobody', async () => {
    const [own, m1, m2, late] = [await login('VOwn'), await login('VM1'), await login('VM2'), await login('VLate')];
    const id = await group(own, [m1, m2]);
    await own.call('conversation.add_members', { conversationId: id, userIds: [late.user.id] });
    await own.call('conversation.set_role', { conversationId: id, userId: late.user.id, role: 'admin' });
    // A member leaves.
    await m2.call('conversation.remove_member', { conversationId: id, userId: m2.user.id });
    await m2.waitForEvent(removedOf(id));
    // The owner leaves: the admin, though the newest, beats the older plain member.
    await own.call('conversation.remove_member', { conversationId: id, userId: own.user.id });
    await own.waitForEvent(removedOf(id));
    const after = await m1.call<{ conversation: Conv }>('conversation.get', { conversationId: id });
    expect(rolesOf(after.conversation)).toEqual({ [late.user.id]: 'owner', [m1.user.id]: 'member' });
    expect(Object.values(rolesOf(await nthUpdate(m1, id, 5))).filter((r) => r === 'owner')).toHaveLength(1);
    // A retried leave answers as the first did.
    expect(await code(own, 'conversation.remove_member', { conversationId: id, userId: own.user.id })).toBe('ok');

    // No admin: the oldest member becomes owner.
    const [o2, first, second] = [await login('WOwn'), await login('WZFirst'), await login('WASecond')];
    const g2 = await group(o2, []);
    await o2.call('conversation.add_members', { conversationId: g2, userIds: [first.user.id] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await o2.call('conversation.add_members', { conversationId: g2, userIds: [second.user.id] });
    await o2.call('conversation.remove_member', { conversationId: g2, userId: o2.user.id });
    const g2View = await second.call<{ conversation: Conv }>('conversation.get', { conversationId: g2 });
    expect(rolesOf(g2View.conversation)).toEqual({ [first.user.id]: 'owner', [second.user.id]: 'member' });
    // The last two leave: nobody can see the group any more.
    await first.call('conversation.remove_member', { conversationId: g2, userId: first.user.id });
    expect(rolesOf((await second.call<{ conversation: Conv }>('conversation.get', { conversationId: g2 })).conversation)).toEqual({ [second.user.id]: 'owner' });
    await second.call('conversation.remove_member', { conversationId: g2, userId: second.user.id });
    for (const c of [o2, first, second]) expect(await code(c, 'conversation.get', { conversationId: g2 })).toBe('forbidden');
  });

  it('set_role: the owner only; making someone owner transfers ownership; the owner cannot demote themself', async () => {
    const [own, a, b, out] = [await login('SOwn'), await login('SA'), await login('SB'), await login('SOut')];
    const id = await group(own, [a, b]);
    expect(await code(a, 'conversation.set_role', { conversationId: id, userId: b.user.id, role: 'admin' })).toBe('forbidden');
    expect(await code(own, 'conversation.set_role', { conversationId: id, userId: own.user.id, role: 'member' })).toBe('bad_request');
    expect(await code(own, 'conversation.set_role', { conversationId: id, userId: out.user.id, role: 'admin' })).toBe('not_found');
    expect(await code(own, 'conversation.set_role', { conversationId: id, userId: a.user.id, role: 'king' })).toBe('bad_request');

    const promoted = await own.call<{ conversation: Conv }>('conversation.set_role', { conversationId: id, userId: a.user.id, role: 'admin' });
    expect(rolesOf(promoted.conversation)).toEqual({ [own.user.id]: 'owner', [a.user.id]: 'admin', [b.user.id]: 'member' });
    expect(rolesOf(await nthUpdate(b, id, 2))[a.user.id]).toBe('admin');
    // An admin may not change roles.
    expect(await code(a, 'conversation.set_role', { conversationId: id, userId: b.user.id, role: 'admin' })).toBe('forbidden');

    const moved = await own.call<{ conversation: Conv }>('conversation.set_role', { conversationId: id, userId: b.user.id, role: 'owner' });
    expect(rolesOf(moved.conversation)).toEqual({ [own.user.id]: 'admin', [a.user.id]: 'admin', [b.user.id]: 'owner' });
    for (const c of [own, a, b]) expect(rolesOf(await nthUpdate(c, id, 3))[b.user.id]).toBe('owner');
    // The former owner is an admin now, and the new owner decides.
    expect(await code(own, 'conversation.set_role', { conversationId: id, userId: a.user.id, role: 'member' })).toBe('forbidden');
    await b.call('conversation.set_role', { conversationId: id, userId: own.user.id, role: 'member' });
    const { conversation } = await a.call<{ conversation: Conv }>('conversation.get', { conversationId: id });
    expect(rolesOf(conversation)).toEqual({ [own.user.id]: 'member', [a.user.id]: 'admin', [b.user.id]: 'owner' });
    expect(out.events.filter(updatedOf(id))).toEqual([]);
  });

  it('rename: owner or admin, 1 to 100 characters; every member gets conversation.updated and list shows the title', async () => {
    const [own, adm, mem] = [await login('NOwn'), await login('NAdm'), await login('NMem')];
    const id = await group(own, [adm, mem], 'Before');
    await own.call('conversation.set_role', { conversationId: id, userId: adm.user.id, role: 'admin' });
    expect(await code(mem, 'conversation.rename', { conversationId: id, title: 'Mine' })).toBe('forbidden');
    expect(await code(own, 'conversation.rename', { conversationId: id, title: '' })).toBe('bad_request');
    expect(await code(own, 'conversation.rename', { conversationId: id, title: '   ' })).toBe('bad_request');
    expect(await code(own, 'conversation.rename', { conversationId: id, title: 'x'.repeat(101) })).toBe('bad_request');

    const { conversation } = await adm.call<{ conversation: Conv }>('conversation.rename', { conversationId: id, title: '  After  ' });
    expect(conversation.title).toBe('After');
    for (const c of [own, adm, mem]) expect((await nthUpdate(c, id, 3)).title).toBe('After');
    const long = 'y'.repeat(100);
    await own.call('conversation.rename', { conversationId: id, title: long });
    const listed = (await mem.call<{ conversations: Conv[] }>('conversation.list')).conversations.find((c) => c.id === id);
    expect(listed?.title).toBe(long);
  });
});
