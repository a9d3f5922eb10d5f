import { describe, expect, it } from 'vitest';
import { type Conversation, boundView } from '@chat/proto';
import type { ChatStore, MembershipChange } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, membershipChange } from './fixtures.js';

/**
 * Views bounded in the store (docs/protocol.md, "Member paging"): a store
 * opened with viewMembers serves each single-user view exactly as proto's
 * boundView would bound that user's whole view (the owner, the admins, the
 * others by user id, the viewer last if not among them; memberCount), with
 * the same marks, unread and mentions, however the membership changed.
 */
export function boundedViewsContract(ctx: ContractContext): void {
  const { create, id } = ctx;
  const LIMIT = 3;

  describe('bounded views', () => {
    const change = (fields: Partial<MembershipChange>): MembershipChange => membershipChange(id('g'), fields);
    /** Every viewer's bounded view, from getConversationViews and from listUserConversations, equals boundView of their whole view. */
    const expectBoundedLikeWhole = async (bounded: ChatStore, viewers: string[]): Promise<Map<string, Conversation>> => {
      const seen = new Map<string, Conversation>();
      for (const viewer of viewers) {
        const [whole] = await ctx.store.getConversationViews(viewer, [id('g')]);
        expect(whole, viewer).toBeDefined();
        const expected = boundView(whole!, viewer, LIMIT);
        expect(await bounded.getConversationViews(viewer, [id('g')]), viewer).toEqual([expected]);
        const listed = (await bounded.listUserConversations(viewer, { limit: 10 })).conversations.find((c) => c.id === id('g'));
        expect(listed, viewer).toEqual(expected);
        expect(expected.members.map((m) => m.userId), viewer).toContain(viewer);
        seen.set(viewer, expected);
      }
      return seen;
    };
    const names = (v: Conversation | undefined): string[] => (v?.members ?? []).map((m) => m.userId);
    const skipUnlessBounded = (skip: (note: string) => void): boolean => {
      if (ctx.canBound) return false;
      skip('this backend cannot bound views in the store');
      return true;
    };

    it('lists the owner, the admins, then the first others by user id, the viewer last if not among them, with memberCount and marks', async ({ skip }) => {
      if (skipUnlessBounded(skip)) return;
      const bounded = await ctx.openBounded(LIMIT);
      const all = ['zoe', 'amy', 'bob', 'cat', 'dan', 'eve', 'fay'].map(id);
      // zoe owns the group: last by user id, first in view order.
      await create(id('g'), all);
      await ctx.store.applyMembershipChange(change({ roles: [{ userId: id('eve'), role: 'admin' }], changeSeq: 1 }));
      await ctx.append(id('g'), 0, [id('amy'), id('zoe'), id('fay'), id('bob')]);
      await ctx.store.markReceipt({ conversationId: id('g'), userId: id('eve'), epoch: 1, readSeq: 2, deliveredSeq: 3 });
      await ctx.store.markReceipt({ conversationId: id('g'), userId: id('amy'), epoch: 1, readSeq: 1, deliveredSeq: 4 });
      const views = await expectBoundedLikeWhole(bounded, all);
      expect(names(views.get(id('fay')))).toEqual([id('zoe'), id('eve'), id('fay')]);
      expect(names(views.get(id('amy')))).toEqual([id('zoe'), id('eve'), id('amy')]);
      expect(names(views.get(id('zoe')))).toEqual([id('zoe'), id('eve'), id('amy')]);
      expect(views.get(id('fay'))?.memberCount).toBe(7);
      expect(views.get(id('fay'))?.members[1]).toEqual({ userId: id('eve'), role: 'admin', readSeq: 2, deliveredSeq: 3 });
      expect(views.get(id('bob'))?.unread).toBe(3);
      // Not a member, or no such conversation: no view.
      expect(await bounded.getConversationViews(id('stranger'), [id('g')])).toEqual([]);
      expect(await bounded.getConversationViews(id('amy'), [id('nowhere')])).toEqual([]);
    });

    it('follows adds, removals and role changes: count, order and the admins first', async ({ skip }) => {
      if (skipUnlessBounded(skip)) return;
      const bounded = await ctx.openBounded(LIMIT);
      await create(id('g'), ['owner', 'm1', 'm2', 'm3', 'm4', 'm5'].map(id));
      await ctx.store.applyMembershipChange(change({ add: [{ userId: id('a0'), role: 'member', joinedAt: T0 + 1, readSeq: 0, deliveredSeq: 0 }], remove: [id('m1')], changeSeq: 1 }));
      let views = await expectBoundedLikeWhole(bounded, ['owner', 'a0', 'm2', 'm3', 'm4', 'm5'].map(id));
      expect(names(views.get(id('m5')))).toEqual([id('owner'), id('a0'), id('m5')]);
      expect(views.get(id('m5'))?.memberCount).toBe(6);
      // Two admins: they come before every plain member; then one is demoted and the other leaves.
      await ctx.store.applyMembershipChange(change({ roles: [{ userId: id('m4'), role: 'admin' }, { userId: id('m3'), role: 'admin' }], changeSeq: 2 }));
      views = await expectBoundedLikeWhole(bounded, ['owner', 'a0', 'm2', 'm3', 'm4', 'm5'].map(id));
      expect(names(views.get(id('m5')))).toEqual([id('owner'), id('m3'), id('m5')]);
      expect(names(views.get(id('m4')))).toEqual([id('owner'), id('m3'), id('m4')]);
      await ctx.store.applyMembershipChange(change({ roles: [{ userId: id('m3'), role: 'member' }], remove: [id('m4')], changeSeq: 3 }));
      views = await expectBoundedLikeWhole(bounded, ['owner', 'a0', 'm2', 'm3', 'm5'].map(id));
      expect(names(views.get(id('m5')))).toEqual([id('owner'), id('a0'), id('m5')]);
      expect(views.get(id('m5'))?.memberCount).toBe(5);
      // Down to the limit: every member, in the store's order, still counted.
      await ctx.store.applyMembershipChange(change({ remove: [id('m2'), id('m3')], changeSeq: 4 }));
      views = await expectBoundedLikeWhole(bounded, ['owner', 'a0', 'm5'].map(id));
      expect(views.get(id('a0'))?.memberCount).toBe(3);
      expect(await bounded.getConversationViews(id('m3'), [id('g')])).toEqual([]);
    });

    it('with more admins than the limit, lists the first admins by user id and still the viewer', async ({ skip }) => {
      if (skipUnlessBounded(skip)) return;
      const bounded = await ctx.openBounded(LIMIT);
      await create(id('g'), ['boss', 'a1', 'a2', 'a3', 'a4', 'p1'].map(id));
      await ctx.store.applyMembershipChange(change({ roles: ['a4', 'a3', 'a2', 'a1'].map((u) => ({ userId: id(u), role: 'admin' as const })), changeSeq: 1 }));
      const views = await expectBoundedLikeWhole(bounded, ['boss', 'a1', 'a2', 'a3', 'a4', 'p1'].map(id));
      expect(names(views.get(id('p1')))).toEqual([id('boss'), id('a1'), id('p1')]);
      expect(views.get(id('a4'))?.members.at(-1)).toMatchObject({ userId: id('a4'), role: 'admin' });
    });
  });
}
