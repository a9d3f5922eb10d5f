import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import type { ContractContext } from './context.js';
import { message } from './fixtures.js';

/**
 * The contract of mentions (docs/protocol.md, "Mentions"): a message keeps
 * its mentions, and a member's view counts the unread messages that mention
 * them (by id, '@all' or '@here'), leaving out their own and deleted ones, so
 * read marks clear the count as they clear unread.
 */
export function mentionsContract(ctx: ContractContext): void {
  const { create, id, readAll } = ctx;

  describe('mentions', () => {
    it('keeps a message’s mentions; messages that mention no one carry none', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const mentioning = message(id('c'), 1, id('alice'), { mentions: { ids: [id('bob'), '@all'] } });
      const plain = message(id('c'), 2, id('alice'));
      await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [mentioning, plain] });
      const [first, second] = await readAll(id('c'));
      expect(first).toEqual(mentioning);
      expect(second).toEqual(plain);
      expect(second).not.toHaveProperty('mentions');
    });

    it('counts each member’s unread mentions in their view, and read marks clear them', async () => {
      const [alice, bob, carol] = [id('alice'), id('bob'), id('carol')];
      await create(id('c'), [alice, bob, carol]);
      const m = (seq: number, sender: string, mentions?: string[]): ChatMessage => message(id('c'), seq, sender, mentions ? { mentions: { ids: mentions } } : {});
      const messages = [m(1, alice, [bob]), m(2, alice, ['@all']), m(3, alice), m(4, bob, [bob, '@here']), m(5, alice, [carol]), m(6, carol, [bob])];
      await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages });
      const mentionsOf = async (userId: string) => {
        const views = await ctx.store.getMemberViews(id('c'), [userId]);
        const listed = (await ctx.store.listUserConversations(userId, { limit: 10 })).conversations;
        const [view] = await ctx.store.getConversationViews(userId, [id('c')]);
        // Every read of a view agrees.
        expect(listed[0]?.mentions).toBe(view?.mentions);
        expect(views[0]?.view.mentions).toBe(view?.mentions);
        return view?.mentions ?? 0;
      };
      // bob: 1, 2 and 6 (4 is his own); carol: 2, 4 and 5; alice: 4 (1, 2 and 5 are her own).
      expect(await mentionsOf(bob)).toBe(3);
      expect(await mentionsOf(carol)).toBe(3);
      expect(await mentionsOf(alice)).toBe(1);
      // A deleted message no longer counts.
      await ctx.store.updateMessage({ epoch: 1, message: { ...messages[5]!, deleted: true, changeSeq: 1 } });
      expect(await mentionsOf(bob)).toBe(2);
      await ctx.store.markReceipt({ conversationId: id('c'), userId: bob, epoch: 1, readSeq: 1 });
      expect(await mentionsOf(bob)).toBe(1);
      await ctx.store.markReceipt({ conversationId: id('c'), userId: carol, epoch: 1, readSeq: 4 });
      expect(await mentionsOf(carol)).toBe(1);
      await ctx.store.markReceipt({ conversationId: id('c'), userId: bob, epoch: 1, readSeq: 6 });
      expect(await mentionsOf(bob)).toBe(0);
      // No unread mention: the view carries none at all (old clients see what they always saw).
      const [view] = await ctx.store.getConversationViews(bob, [id('c')]);
      expect(view?.mentions).toBeUndefined();
    });
  });
}
