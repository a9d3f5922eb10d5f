import { describe, expect, it } from 'vitest';
import type { MemberRecord, MembershipChange } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, membershipChange } from './fixtures.js';

/** The contract of listMembers: pages of members by ascending user id, from a cursor, stable under changes. */
export function memberPagesContract(ctx: ContractContext): void {
  const { create, id } = ctx;

  describe('listMembers', () => {
    const change = (fields: Partial<MembershipChange>): MembershipChange => membershipChange(id('c'), fields);
    /** Every page of `limit` from the start, each after the previous page's last user id. */
    const allPages = async (limit: number): Promise<MemberRecord[][]> => {
      const pages: MemberRecord[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await ctx.store.listMembers(id('c'), { after, limit });
        if (page.length === 0) return pages;
        pages.push(page);
        after = page[page.length - 1]!.userId;
        if (pages.length > 50) throw new Error('paging did not end');
      }
    };

    it('serves members by ascending user id, with role, join time and marks, at most limit per page', async () => {
      // Created out of order, the owner last by user id: the order is the user id's, not creation's or role's.
      await create(id('c'), [id('zoe'), id('carl'), id('amy'), id('bea'), id('dan')]);
      await ctx.append(id('c'), 0, [id('zoe'), id('amy'), id('amy')]);
      await ctx.store.markReceipt({ conversationId: id('c'), userId: id('bea'), epoch: 1, readSeq: 2, deliveredSeq: 3 });
      const first = await ctx.store.listMembers(id('c'), { limit: 2 });
      expect(first).toEqual([
        { userId: id('amy'), role: 'member', joinedAt: T0, readSeq: 0, deliveredSeq: 0 },
        { userId: id('bea'), role: 'member', joinedAt: T0, readSeq: 2, deliveredSeq: 3 },
      ]);
      const pages = await allPages(2);
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(pages.flat().map((m) => m.userId)).toEqual([id('amy'), id('bea'), id('carl'), id('dan'), id('zoe')]);
      expect(pages.flat().find((m) => m.userId === id('zoe'))?.role).toBe('owner');
      // A limit larger than the group: all of it, once.
      expect((await ctx.store.listMembers(id('c'), { limit: 100 })).map((m) => m.userId)).toEqual(pages.flat().map((m) => m.userId));
      // After the last member: nothing.
      expect(await ctx.store.listMembers(id('c'), { after: id('zoe'), limit: 10 })).toEqual([]);
    });

    it('takes any string as the cursor: the members whose user id sorts after it', async () => {
      await create(id('c'), [id('a1'), id('b1'), id('b2'), id('c1')]);
      expect((await ctx.store.listMembers(id('c'), { after: id('b'), limit: 10 })).map((m) => m.userId)).toEqual([id('b1'), id('b2'), id('c1')]);
      expect((await ctx.store.listMembers(id('c'), { after: id('b1'), limit: 1 })).map((m) => m.userId)).toEqual([id('b2')]);
    });

    it('has no members for an unknown conversation', async () => {
      expect(await ctx.store.listMembers(id('nowhere'), { limit: 10 })).toEqual([]);
    });

    it('pages on past removals, joins and role changes: every member who stayed is served once, as they are now', async () => {
      const names = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, '0')}`);
      await create(id('c'), names.map(id));
      const firstPage = await ctx.store.listMembers(id('c'), { limit: 5 });
      expect(firstPage.map((m) => m.userId)).toEqual(names.slice(0, 5).map(id));
      // Between pages: one already served leaves, one not yet served leaves, one joins ahead of the cursor,
      // one behind it, and one not yet served becomes an admin.
      const joined = (userId: string): MemberRecord => ({ userId: id(userId), role: 'member', joinedAt: T0 + 5, readSeq: 0, deliveredSeq: 0 });
      await ctx.store.applyMembershipChange(
        change({ remove: [id('m01'), id('m07')], add: [joined('m00a'), joined('m09a')], roles: [{ userId: id('m10'), role: 'admin' }] }),
      );
      const rest: MemberRecord[] = [];
      let after = firstPage[firstPage.length - 1]!.userId;
      for (;;) {
        const page = await ctx.store.listMembers(id('c'), { after, limit: 5 });
        if (page.length === 0) break;
        rest.push(...page);
        after = page[page.length - 1]!.userId;
      }
      expect(rest.map((m) => m.userId)).toEqual(['m05', 'm06', 'm08', 'm09', 'm09a', 'm10', 'm11'].map(id));
      expect(rest.find((m) => m.userId === id('m10'))?.role).toBe('admin');
      // From the start again: the group as it is now, each once.
      const now = (await allPages(4)).flat().map((m) => m.userId);
      expect(now).toEqual(['m00', 'm00a', 'm02', 'm03', 'm04', 'm05', 'm06', 'm08', 'm09', 'm09a', 'm10', 'm11'].map(id));
      expect(new Set(now).size).toBe(now.length);
    });
  });
}
