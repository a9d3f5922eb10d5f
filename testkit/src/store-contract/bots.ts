import { describe, expect, it } from 'vitest';
import { BadRequestError, ConflictError } from '@chat/conversation-actors';
import { botTokenHash, newBotToken } from '@chat/platform';
import type { ContractContext } from './context.js';
import { T0, byId } from './fixtures.js';

/** The contract of bot accounts: createBot, listBots, revokeBot, botByTokenHash, and bots as users. */
export function botsContract(ctx: ContractContext): void {
  const { id } = ctx;

  /** Creates a bot named `name` under `id(suffix)`; returns its token hash. */
  const createBot = async (suffix: string, name: string, createdAt = T0): Promise<string> => {
    const tokenHash = botTokenHash(newBotToken());
    await ctx.store.createBot({ id: id(suffix), name, tokenHash, createdAt });
    return tokenHash;
  };

  /** listBots, narrowed to this test's bots (a backend may share its data across tests). */
  const myBots = async () => (await ctx.store.listBots()).filter((b) => b.id.startsWith(ctx.p));

  describe('bots', () => {
    it('createBot records a user flagged as a bot, found by getUsers and searchUsers like a person', async () => {
      await createBot('bot', `${ctx.np}Summarizer`);
      await ctx.store.upsertUser({ id: id('sue'), name: `${ctx.np}Sue` });
      expect(byId(await ctx.store.getUsers([id('bot'), id('sue')]))).toEqual([
        { id: id('bot'), name: `${ctx.np}Summarizer`, bot: true },
        { id: id('sue'), name: `${ctx.np}Sue` },
      ]);
      const byName = await ctx.store.searchUsers(`${ctx.np}s`, 10);
      expect(byName.map((u) => [u.id, u.bot === true])).toEqual([
        [id('sue'), false],
        [id('bot'), true],
      ]);
      expect(await ctx.store.searchUsers(id('bo'), 10)).toEqual([{ id: id('bot'), name: `${ctx.np}Summarizer`, bot: true }]);
    });

    it('botByTokenHash finds the bot of a live token, and nothing for any other hash', async () => {
      const hash = await createBot('bot', 'Helper');
      expect(await ctx.store.botByTokenHash(hash)).toEqual({ id: id('bot'), name: 'Helper', bot: true });
      expect(await ctx.store.botByTokenHash(botTokenHash(newBotToken()))).toBeNull();
    });

    it('listBots lists bots, not people, by id, with their creation time', async () => {
      await createBot('b2', 'Two', T0 + 2);
      await createBot('b1', 'One', T0 + 1);
      await ctx.store.upsertUser({ id: id('person'), name: 'Person' });
      expect(await myBots()).toEqual([
        { id: id('b1'), name: 'One', createdAt: T0 + 1, revokedAt: null },
        { id: id('b2'), name: 'Two', createdAt: T0 + 2, revokedAt: null },
      ]);
    });

    it('revokeBot refuses the token from then on, idempotently, and the bot stays a bot', async () => {
      const hash = await createBot('bot', 'Helper');
      const other = await createBot('other', 'Other');
      expect(await ctx.store.revokeBot(id('bot'), T0 + 10)).toEqual({ id: id('bot'), name: 'Helper', createdAt: T0, revokedAt: T0 + 10 });
      expect(await ctx.store.botByTokenHash(hash)).toBeNull();
      // Again: nothing changes, the first revocation time stays.
      expect(await ctx.store.revokeBot(id('bot'), T0 + 20)).toEqual({ id: id('bot'), name: 'Helper', createdAt: T0, revokedAt: T0 + 10 });
      expect(await ctx.store.botByTokenHash(hash)).toBeNull();
      // Only that bot's token.
      expect(await ctx.store.botByTokenHash(other)).toEqual({ id: id('other'), name: 'Other', bot: true });
      expect(await ctx.store.getUsers([id('bot')])).toEqual([{ id: id('bot'), name: 'Helper', bot: true }]);
      expect((await myBots()).map((b) => [b.id, b.revokedAt])).toEqual([
        [id('bot'), T0 + 10],
        [id('other'), null],
      ]);
    });

    it('revokeBot of a person or an unknown id is null and changes nothing', async () => {
      await ctx.store.upsertUser({ id: id('person'), name: 'Person' });
      expect(await ctx.store.revokeBot(id('person'), T0)).toBeNull();
      expect(await ctx.store.revokeBot(id('nobody'), T0)).toBeNull();
      expect(await ctx.store.getUsers([id('person')])).toEqual([{ id: id('person'), name: 'Person' }]);
    });

    it('createBot refuses an id that is already a user, writing nothing', async () => {
      await ctx.store.upsertUser({ id: id('taken'), name: 'Person' });
      const tokenHash = botTokenHash(newBotToken());
      await expect(ctx.store.createBot({ id: id('taken'), name: 'Bot', tokenHash, createdAt: T0 })).rejects.toBeInstanceOf(ConflictError);
      await createBot('bot', 'Bot');
      await expect(ctx.store.createBot({ id: id('bot'), name: 'Again', tokenHash, createdAt: T0 })).rejects.toBeInstanceOf(ConflictError);
      expect(await ctx.store.botByTokenHash(tokenHash)).toBeNull();
      expect(await ctx.store.getUsers([id('taken'), id('bot')])).toEqual(
        expect.arrayContaining([
          { id: id('taken'), name: 'Person' },
          { id: id('bot'), name: 'Bot', bot: true },
        ]),
      );
    });

    it('createBot refuses a bad id, name or token hash', async () => {
      const tokenHash = botTokenHash(newBotToken());
      const bad = [
        { id: 'has space', name: 'Bot', tokenHash, createdAt: T0 },
        { id: id('b'), name: '  ', tokenHash, createdAt: T0 },
        { id: id('b'), name: 'x'.repeat(101), tokenHash, createdAt: T0 },
        { id: id('b'), name: 'Bot', tokenHash: 'not-a-hash', createdAt: T0 },
      ];
      for (const bot of bad) await expect(ctx.store.createBot(bot)).rejects.toBeInstanceOf(BadRequestError);
      expect(await myBots()).toEqual([]);
    });

    it('upsertUser renames a bot and leaves it a bot', async () => {
      const hash = await createBot('bot', `${ctx.np}Old`);
      await ctx.store.upsertUser({ id: id('bot'), name: `${ctx.np}New` });
      expect(await ctx.store.botByTokenHash(hash)).toEqual({ id: id('bot'), name: `${ctx.np}New`, bot: true });
      expect(await ctx.store.searchUsers(`${ctx.np}new`, 10)).toEqual([{ id: id('bot'), name: `${ctx.np}New`, bot: true }]);
      expect(await ctx.store.searchUsers(`${ctx.np}old`, 10)).toEqual([]);
    });

    it('keeps bots and revocations across close and reopen', async ({ skip }) => {
      if (!ctx.canReopen) skip('this backend has no reopen');
      const live = await createBot('live', 'Live');
      const revoked = await createBot('revoked', 'Revoked');
      await ctx.store.revokeBot(id('revoked'), T0 + 1);
      await ctx.store.close();
      await ctx.reopen();
      expect(await ctx.store.botByTokenHash(live)).toEqual({ id: id('live'), name: 'Live', bot: true });
      expect(await ctx.store.botByTokenHash(revoked)).toBeNull();
    });
  });
}
