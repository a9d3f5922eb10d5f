import { describe, expect, it } from 'vitest';
import { Conversation } from '@chat/proto';
import { BadRequestError } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, rejection, sortViewMembers } from './fixtures.js';

/** The contract of a user's conversations: listUserConversations, userConversationHeads, userConversationIds, getConversationViews and getMemberViews. */
export function listsContract(ctx: ContractContext): void {
  const { append, create, id } = ctx;

  describe('listUserConversations', () => {
    /** Seven conversations of alice's (two pairs tie on activity) and one she is not in; most recent first. */
    async function seed(): Promise<string[]> {
      await create(id('c1'), [id('alice')], { createdAt: T0 + 10 });
      await create(id('c2'), [id('alice'), id('bob')], { createdAt: T0 + 30 });
      await create(id('c3'), [id('bob'), id('alice')], { createdAt: T0 + 30 });
      await create(id('c4'), [id('alice')], { createdAt: T0 + 5 });
      await create(id('c5'), [id('alice')], { createdAt: T0 + 20 });
      await create(id('c6'), [id('alice')], { createdAt: T0 + 20 });
      await create(id('c7'), [id('alice')], { createdAt: T0 + 1 });
      await create(id('x'), [id('bob')], { createdAt: T0 + 1000 });
      // A message moves c4 to the top; c7 gets one that is still older than the rest.
      await append(id('c4'), 0, [id('bob')], { createdAt: T0 + 500 });
      await append(id('c7'), 0, [id('bob')], { createdAt: T0 + 2 });
      return [id('c4'), id('c3'), id('c2'), id('c6'), id('c5'), id('c1'), id('c7')];
    }

    it('lists most recent activity first, ties by id, members only', async () => {
      const expected = await seed();
      const page = await ctx.store.listUserConversations(id('alice'), { limit: 50 });
      expect(page.conversations.map((c) => c.id)).toEqual(expected);
      expect(page.next).toBeNull();
    });

    it('pages through everything with no repeat and no gap', async () => {
      const expected = await seed();
      for (const limit of [1, 2, 3, 6, 7, 8]) {
        const seen: string[] = [];
        let before: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await ctx.store.listUserConversations(id('alice'), { limit, before });
          pages++;
          expect(page.conversations.length, `limit ${limit}`).toBeLessThanOrEqual(limit);
          seen.push(...page.conversations.map((c) => c.id));
          if (page.next === null) break;
          expect(page.conversations, `limit ${limit}: a page with a next is full`).toHaveLength(limit);
          before = page.next;
          expect(pages, 'paging does not end').toBeLessThan(20);
        }
        expect(seen, `limit ${limit}`).toEqual(expected);
        // The page holding the last conversation says there is no next one.
        expect(pages, `limit ${limit}`).toBe(Math.ceil(expected.length / limit));
      }
    });

    it('with maxBytes, holds only the views that fit (at least one) and goes on after the last one held, every conversation once', async () => {
      const expected = await seed();
      const everything = await ctx.store.listUserConversations(id('alice'), { limit: 50 });
      const sizes = everything.conversations.map((c) => Conversation.encode(c).finish().length + 6);
      // Room for about two views a page, and a page too small for even one.
      for (const maxBytes of [sizes[0]! + sizes[1]! + 1, 1]) {
        const seen: string[] = [];
        let before: string | undefined;
        for (let pages = 0; ; pages++) {
          expect(pages, 'paging does not end').toBeLessThan(20);
          const page = await ctx.store.listUserConversations(id('alice'), { limit: 50, before, maxBytes });
          expect(page.conversations.length, `maxBytes ${maxBytes}`).toBeGreaterThanOrEqual(1);
          if (page.conversations.length > 1) {
            const used = page.conversations.reduce((n, c) => n + Conversation.encode(c).finish().length + 6, 0);
            expect(used).toBeLessThanOrEqual(maxBytes);
          }
          seen.push(...page.conversations.map((c) => c.id));
          if (page.next === null) break;
          before = page.next;
        }
        expect(seen, `maxBytes ${maxBytes}`).toEqual(expected);
      }
      // Room for everything: one page, as without maxBytes.
      expect(await ctx.store.listUserConversations(id('alice'), { limit: 50, maxBytes: 1 << 30 })).toEqual(everything);
    });

    it('returns an empty page for a user in no conversation', async () => {
      await seed();
      expect(await ctx.store.listUserConversations(id('nobody'), { limit: 10 })).toEqual({ conversations: [], next: null });
    });

    it('shows each conversation as the user sees it', async () => {
      await seed();
      const page = await ctx.store.listUserConversations(id('alice'), { limit: 1 });
      const [top] = page.conversations;
      expect(top).toMatchObject({ id: id('c4'), lastSeq: 1, readSeq: 0, deliveredSeq: 0, unread: 1 });
      expect(top?.lastMessage).toMatchObject({ conversationId: id('c4'), seq: 1, senderId: id('bob') });
    });

    it('refuses a malformed cursor with BadRequestError', async () => {
      await seed();
      const b64 = (s: string): string => Buffer.from(s).toString('base64url');
      for (const before of ['not a cursor', '!!!', b64('hello'), b64('{"a":1}'), b64('[1]'), b64('["x","y"]')]) {
        const err = await rejection(ctx.store.listUserConversations(id('alice'), { limit: 2, before }));
        expect(err, before).toBeInstanceOf(BadRequestError);
      }
    });
  });

  describe('userConversationHeads', () => {
    it('lists every conversation of the user with its lastSeq', async () => {
      await create(id('c1'), [id('alice'), id('bob')]);
      await create(id('c2'), [id('alice')]);
      await create(id('c3'), [id('bob')]);
      await append(id('c1'), 0, [id('alice'), id('bob'), id('alice')]);
      await append(id('c3'), 0, [id('bob')]);
      const heads = await ctx.store.userConversationHeads(id('alice'));
      expect([...heads].sort((a, b) => a.conversationId.localeCompare(b.conversationId))).toEqual([
        { conversationId: id('c1'), lastSeq: 3, changeSeq: 0 },
        { conversationId: id('c2'), lastSeq: 0, changeSeq: 0 },
      ]);
      expect(await ctx.store.userConversationHeads(id('nobody'))).toEqual([]);
    });
  });

  describe('userConversationIds', () => {
    it('lists the id of every conversation of the user once, and none of anyone else’s', async () => {
      await create(id('c1'), [id('alice'), id('bob')]);
      await create(id('c2'), [id('alice')], { kind: 'dm', title: null });
      await create(id('c3'), [id('bob')]);
      await ctx.store.applyMembershipChange({ conversationId: id('c3'), epoch: 1, add: [{ userId: id('alice'), role: 'member', joinedAt: T0, readSeq: 0, deliveredSeq: 0 }], remove: [], roles: [], changeSeq: 1 });
      await ctx.store.applyMembershipChange({ conversationId: id('c1'), epoch: 1, add: [], remove: [id('alice')], roles: [], changeSeq: 1 });
      expect([...(await ctx.store.userConversationIds(id('alice')))].sort()).toEqual([id('c2'), id('c3')]);
      expect(await ctx.store.userConversationIds(id('nobody'))).toEqual([]);
    });
  });

  describe('sharingAConversation', () => {
    it('keeps the candidates who share a conversation with the user, and the user itself; strangers, unknown ids and repeats are left out', async () => {
      await create(id('c1'), [id('alice'), id('bob'), id('carol')]);
      await create(id('c2'), [id('alice'), id('dave')], { kind: 'dm', title: null });
      await create(id('c3'), [id('erin'), id('frank')]);
      const found = await ctx.store.sharingAConversation(id('alice'), [id('bob'), id('erin'), id('dave'), id('nobody'), id('alice'), id('bob')]);
      expect([...found].sort()).toEqual([id('alice'), id('bob'), id('dave')].sort());
      expect(await ctx.store.sharingAConversation(id('erin'), [id('alice'), id('bob')])).toEqual([]);
      expect(await ctx.store.sharingAConversation(id('nobody'), [id('nobody'), id('alice')])).toEqual([id('nobody')]);
      expect(await ctx.store.sharingAConversation(id('alice'), [])).toEqual([]);
    });

    it('follows membership: a removed member no longer counts', async () => {
      await create(id('c1'), [id('alice'), id('bob')]);
      expect(await ctx.store.sharingAConversation(id('alice'), [id('bob')])).toEqual([id('bob')]);
      await ctx.store.applyMembershipChange({ conversationId: id('c1'), epoch: 1, add: [], remove: [id('bob')], roles: [], changeSeq: 1 });
      expect(await ctx.store.sharingAConversation(id('alice'), [id('bob')])).toEqual([]);
    });
  });

  describe('getConversationViews', () => {
    it('shows members, lastMessage and an unread count that leaves out the own messages', async () => {
      await create(id('c'), [id('alice'), id('bob'), id('carol')], { title: 'Team', createdAt: T0 });
      const sent = await append(id('c'), 0, [id('alice'), id('bob'), id('alice'), id('bob'), id('bob')]);
      const views = await ctx.store.getConversationViews(id('alice'), [id('c')]);
      const expected: Conversation = {
        id: id('c'),
        kind: 'group',
        title: 'Team',
        members: [
          // Every member's receipt marks ride along (clients show "Seen by" from them).
          { userId: id('alice'), role: 'owner', readSeq: 0, deliveredSeq: 0 },
          { userId: id('bob'), role: 'member', readSeq: 0, deliveredSeq: 0 },
          { userId: id('carol'), role: 'member', readSeq: 0, deliveredSeq: 0 },
        ],
        createdAt: T0,
        lastSeq: 5,
        lastMessage: sent[4],
        readSeq: 0,
        deliveredSeq: 0,
        unread: 3,
        changeSeq: 0,
      };
      expect(views.map(sortViewMembers)).toEqual([expected]);
      const [bobs] = await ctx.store.getConversationViews(id('bob'), [id('c')]);
      expect(bobs?.unread).toBe(2);
      const [carols] = await ctx.store.getConversationViews(id('carol'), [id('c')]);
      expect(carols?.unread).toBe(5);
    });

    it('shows a conversation without messages with lastSeq 0 and no lastMessage', async () => {
      await create(id('dm'), [id('alice'), id('bob')], { kind: 'dm' });
      const [view] = await ctx.store.getConversationViews(id('bob'), [id('dm')]);
      expect(view).toMatchObject({ id: id('dm'), kind: 'dm', lastSeq: 0, unread: 0, readSeq: 0, deliveredSeq: 0 });
      expect(view?.lastMessage ?? null).toBeNull();
      expect(view?.title ?? null).toBeNull();
    });

    it('leaves out conversations the user is not a member of, and unknown ones', async () => {
      await create(id('mine'), [id('alice'), id('bob')]);
      await create(id('theirs'), [id('bob'), id('carol')]);
      await create(id('also-mine'), [id('carol'), id('alice')]);
      const views = await ctx.store.getConversationViews(id('alice'), [id('mine'), id('theirs'), id('ghost'), id('also-mine')]);
      expect(views.map((v) => v.id).sort()).toEqual([id('also-mine'), id('mine')].sort());
      expect(await ctx.store.getConversationViews(id('alice'), [])).toEqual([]);
    });
  });

  describe('getMemberViews', () => {
    it('shows the conversation to each member exactly as getConversationViews does; non-members are left out', async () => {
      await create(id('c'), [id('alice'), id('bob'), id('carol')], { title: 'Team' });
      await append(id('c'), 0, [id('alice'), id('bob'), id('alice')]);
      const views = await ctx.store.getMemberViews(id('c'), [id('alice'), id('bob'), id('carol'), id('zed'), id('bob')]);
      expect(views.map((v) => v.userId).sort()).toEqual([id('alice'), id('bob'), id('carol')]);
      for (const { userId, view } of views) {
        const [expected] = await ctx.store.getConversationViews(userId, [id('c')]);
        expect(sortViewMembers(view)).toEqual(sortViewMembers(expected as Conversation));
      }
      expect(views.find((v) => v.userId === id('bob'))?.view.unread).toBe(2);
      expect(await ctx.store.getMemberViews(id('ghost'), [id('alice')])).toEqual([]);
    });
  });
}
