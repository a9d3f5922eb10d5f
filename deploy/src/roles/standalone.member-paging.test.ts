import { describe, expect, it } from 'vitest';
import type { ConversationJson } from '@chat/proto';
import { type Member, type Requester, allMembers, members as memberPage } from '@chat/client';
import type { ChatClient, EventFrame } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

type Client = ChatClient & { user: { id: string } };
type Conv = ConversationJson;

/** Views list at most this many members here, so a group of eight is "large". */
const VIEW_MEMBERS = 3;

const updatedOf = (conversationId: string) => (e: EventFrame) => e.ev === 'conversation.updated' && (e.conversation as Conv).id === conversationId;
const idsOf = (list: readonly { userId: string }[]) => list.map((m) => m.userId);
/** @chat/client's paging over the test client's socket. */
const requester = (c: ChatClient): Requester => ({ request: (op, args) => c.call(op, args as Record<string, unknown>) as never });
const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('standalone: member paging over real sockets', () => {
  const { login } = useStandalone({ VIEW_MEMBERS: String(VIEW_MEMBERS) });

  it('bounds a big group’s views (the viewer, the owner and admins first), counts every member, and pages them all once', async () => {
    const owner = await login('PgOwner');
    const others: Client[] = [];
    for (let i = 0; i < 7; i++) others.push(await login(`PgMember${i}`));
    const outsider = await login('PgOutsider');
    const everyone = [owner, ...others];
    const allIds = everyone.map((c) => c.user.id).sort(byCode);
    const plainIds = others.map((c) => c.user.id).sort(byCode);

    const created = await owner.call<{ conversation: Conv }>('conversation.create_group', { title: 'Big', members: others.map((o) => o.user.id) });
    const id = created.conversation.id;
    expect(created.conversation).toMatchObject({ memberCount: 8, membersTruncated: true });
    expect(idsOf(created.conversation.members)).toEqual([owner.user.id, ...plainIds.slice(0, 2)]);

    // Every member's gateway delivered the creation with themself in the view: the first ones by
    // user id as they are, the rest in the last place.
    for (const c of everyone) {
      const view = (await c.waitForEvent(updatedOf(id))).conversation as Conv;
      expect(view.memberCount).toBe(8);
      expect(view.members).toHaveLength(VIEW_MEMBERS);
      expect(view.members[0]!.userId).toBe(owner.user.id);
      expect(idsOf(view.members)).toContain(c.user.id);
    }

    // An admin moves up to the owner's side in every view; a plain member outside the first ones sees themself last.
    const last = plainIds[plainIds.length - 1]!;
    const lastClient = others.find((c) => c.user.id === last)!;
    await owner.call('conversation.set_role', { conversationId: id, userId: last, role: 'admin' });
    const promoted = (await lastClient.waitForEvents(updatedOf(id), 2)).at(-1)!.conversation as Conv;
    expect(idsOf(promoted.members)).toEqual([owner.user.id, last, plainIds[0]]);
    const viewer = plainIds[plainIds.length - 2]!;
    const viewerClient = others.find((c) => c.user.id === viewer)!;
    const viewersEvent = (await viewerClient.waitForEvents(updatedOf(id), 2)).at(-1)!.conversation as Conv;
    expect(idsOf(viewersEvent.members)).toEqual([owner.user.id, last, viewer]);
    expect(viewersEvent.members[2]).toMatchObject({ userId: viewer, role: 'member', readSeq: 0, deliveredSeq: 0 });
    const { conversation: got } = await viewerClient.call<{ conversation: Conv }>('conversation.get', { conversationId: id });
    expect(idsOf(got.members)).toEqual([owner.user.id, last, viewer]);
    expect(got).toMatchObject({ memberCount: 8, membersTruncated: true });

    // The list and sync carry the same bounded view.
    const listed = (await viewerClient.call<{ conversations: Conv[] }>('conversation.list')).conversations.find((c) => c.id === id)!;
    expect(listed).toMatchObject({ memberCount: 8, membersTruncated: true });
    expect(idsOf(listed.members)).toEqual([owner.user.id, last, viewer]);
    const synced = (await viewerClient.call<{ conversations: Conv[] }>('sync', { since: {} })).conversations.find((c) => c.id === id)!;
    expect(idsOf(synced.members)).toEqual([owner.user.id, last, viewer]);

    // Paging returns every member exactly once, by user id, with roles and marks; the last page's next is null.
    const first = await memberPage(requester(viewerClient), id, { limit: 3 });
    expect(first.members).toHaveLength(3);
    expect(first.next).not.toBeNull();
    const paged: Member[] = await allMembers(requester(viewerClient), id, { pageSize: 3 });
    expect(idsOf(paged)).toEqual(allIds);
    expect(Object.fromEntries(paged.map((m) => [m.userId, m.role]))).toMatchObject({ [owner.user.id]: 'owner', [last]: 'admin', [viewer]: 'member' });
    expect(paged.every((m) => typeof m.readSeq === 'number' && typeof m.deliveredSeq === 'number')).toBe(true);
    const whole = await memberPage(requester(viewerClient), id, { limit: 100 });
    expect(whole.next).toBeNull();
    expect(idsOf(whole.members)).toEqual(allIds);

    // A non-member is refused as for any other read of the conversation; a bad limit is the request's fault.
    const refused = await outsider.request('conversation.members', { conversationId: id });
    expect(refused.ok).toBe(false);
    expect(refused.error?.code).toBe('forbidden');
    expect((await outsider.request('message.history', { conversationId: id })).error?.code).toBe('forbidden');
    expect((await viewerClient.request('conversation.members', { conversationId: id, limit: 501 })).error?.code).toBe('bad_request');

    // A member added sees their own bounded view (on their own subject), themself in it.
    await owner.call('conversation.add_members', { conversationId: id, userIds: [outsider.user.id] });
    const joined = (await outsider.waitForEvent(updatedOf(id))).conversation as Conv;
    expect(joined).toMatchObject({ memberCount: 9, membersTruncated: true });
    expect(idsOf(joined.members)).toHaveLength(VIEW_MEMBERS);
    expect(idsOf(joined.members)).toContain(outsider.user.id);
    expect((await outsider.call<{ members: Member[] }>('conversation.members', { conversationId: id, limit: 500 })).members).toHaveLength(9);

    // After a member leaves, the others' views count one less, and paging serves the group as it is now.
    const leaver = others[0]!;
    const seenBefore = viewerClient.events.filter(updatedOf(id)).length;
    await leaver.call('conversation.remove_member', { conversationId: id, userId: leaver.user.id });
    const afterLeave = (await viewerClient.waitForEvents(updatedOf(id), seenBefore + 1)).at(-1)!.conversation as Conv;
    expect(afterLeave.memberCount).toBe(8);
    expect(idsOf(afterLeave.members)).not.toContain(leaver.user.id);
    const after = await allMembers(requester(owner), id, { pageSize: 2 });
    expect(idsOf(after)).toEqual([...allIds, outsider.user.id].filter((u) => u !== leaver.user.id).sort(byCode));
    expect((await leaver.request('conversation.members', { conversationId: id })).error?.code).toBe('forbidden');
  });

  it('leaves DMs and small groups whole on the wire, with memberCount', async () => {
    const [ann, bob] = [await login('PgAnn'), await login('PgBob')];
    const { conversation: dm } = await ann.call<{ conversation: Conv }>('conversation.open_dm', { userId: bob.user.id });
    expect(dm.memberCount).toBe(2);
    expect(dm.members).toHaveLength(2);
    expect(dm).not.toHaveProperty('membersTruncated');
    const { conversation: small } = await ann.call<{ conversation: Conv }>('conversation.create_group', { title: 'Small', members: [bob.user.id] });
    expect(small).toMatchObject({ memberCount: 2 });
    expect(small).not.toHaveProperty('membersTruncated');
    const page = await memberPage(requester(bob), small.id);
    expect(idsOf(page.members)).toEqual([ann.user.id, bob.user.id].sort(byCode));
    expect(page.next).toBeNull();
  });
});
