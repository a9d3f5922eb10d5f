import { describe, expect, it } from 'vitest';
import type { ContractContext } from './context.js';
import { byId } from './fixtures.js';

/** The contract of users: upsertUser, getUsers and searchUsers. */
export function usersContract(ctx: ContractContext): void {
  const { id } = ctx;

  describe('users', () => {
    it('upsertUser records a user and a later call updates the name', async () => {
      await ctx.store.upsertUser({ id: id('alice'), name: 'Alice' });
      expect(await ctx.store.getUsers([id('alice')])).toEqual([{ id: id('alice'), name: 'Alice' }]);
      await ctx.store.upsertUser({ id: id('alice'), name: 'Alice B.' });
      expect(await ctx.store.getUsers([id('alice')])).toEqual([{ id: id('alice'), name: 'Alice B.' }]);
    });

    it('getUsers returns the known users and leaves out unknown ids', async () => {
      await ctx.store.upsertUser({ id: id('a'), name: 'A' });
      await ctx.store.upsertUser({ id: id('b'), name: 'B' });
      await ctx.store.upsertUser({ id: id('c'), name: 'C' });
      const users = await ctx.store.getUsers([id('c'), id('nobody'), id('a')]);
      expect(byId(users)).toEqual([
        { id: id('a'), name: 'A' },
        { id: id('c'), name: 'C' },
      ]);
      expect(await ctx.store.getUsers([])).toEqual([]);
    });

    it('searchUsers matches a name prefix case-insensitively', async () => {
      await ctx.store.upsertUser({ id: id('1'), name: `${ctx.np}Alice` });
      await ctx.store.upsertUser({ id: id('2'), name: `${ctx.np}alfred` });
      await ctx.store.upsertUser({ id: id('3'), name: `${ctx.np}Bob` });
      const found = await ctx.store.searchUsers(`${ctx.np}AL`.toLowerCase(), 10);
      expect(byId(found).map((u) => u.id)).toEqual([id('1'), id('2')]);
      expect(await ctx.store.searchUsers(`${ctx.np}AL`.toUpperCase(), 10)).toHaveLength(2);
      expect(await ctx.store.searchUsers(`${ctx.np}x`, 10)).toEqual([]);
      // A prefix, not a substring.
      expect(await ctx.store.searchUsers('lice', 10)).not.toContainEqual({ id: id('1'), name: `${ctx.np}Alice` });
    });

    it('searchUsers matches an id prefix case-insensitively', async () => {
      await ctx.store.upsertUser({ id: id('Xy1'), name: `${ctx.np}one` });
      await ctx.store.upsertUser({ id: id('xY2'), name: `${ctx.np}two` });
      await ctx.store.upsertUser({ id: id('z3'), name: `${ctx.np}three` });
      const found = await ctx.store.searchUsers(id('XY').toLowerCase(), 10);
      expect(byId(found).map((u) => u.id)).toEqual([id('Xy1'), id('xY2')]);
      expect(await ctx.store.searchUsers(ctx.p.toUpperCase(), 10)).toHaveLength(3);
    });

    it('searchUsers orders by name then id and honours the limit', async () => {
      await ctx.store.upsertUser({ id: id('9'), name: `${ctx.np}c` });
      await ctx.store.upsertUser({ id: id('5'), name: `${ctx.np}a` });
      await ctx.store.upsertUser({ id: id('2'), name: `${ctx.np}b` });
      await ctx.store.upsertUser({ id: id('1'), name: `${ctx.np}a` });
      const all = await ctx.store.searchUsers(ctx.np, 10);
      expect(all.map((u) => u.id)).toEqual([id('1'), id('5'), id('2'), id('9')]);
      expect((await ctx.store.searchUsers(ctx.np, 2)).map((u) => u.id)).toEqual([id('1'), id('5')]);
      expect(await ctx.store.searchUsers(ctx.np, 1)).toEqual([{ id: id('1'), name: `${ctx.np}a` }]);
    });

    it('searchUsers treats LIKE wildcards literally', async () => {
      await ctx.store.upsertUser({ id: id('1'), name: `${ctx.np}_x` });
      await ctx.store.upsertUser({ id: id('2'), name: `${ctx.np}ax` });
      await ctx.store.upsertUser({ id: id('3'), name: `${ctx.np}%y` });
      expect((await ctx.store.searchUsers(`${ctx.np}_`, 10)).map((u) => u.id)).toEqual([id('1')]);
      expect((await ctx.store.searchUsers(`${ctx.np}%`, 10)).map((u) => u.id)).toEqual([id('3')]);
      expect(await ctx.store.searchUsers(`${ctx.np}%x`, 10)).toEqual([]);
    });

    it('searchUsers finds a renamed user by the new name only', async () => {
      await ctx.store.upsertUser({ id: id('1'), name: `${ctx.np}old` });
      await ctx.store.upsertUser({ id: id('1'), name: `${ctx.np}new` });
      expect(await ctx.store.searchUsers(`${ctx.np}old`, 10)).toEqual([]);
      expect(await ctx.store.searchUsers(`${ctx.np}new`, 10)).toEqual([{ id: id('1'), name: `${ctx.np}new` }]);
    });
  });
}
