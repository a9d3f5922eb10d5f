import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import { NotFoundError, StaleEpochError } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { rejection } from './fixtures.js';

/** The contract of markReceipt: forward-only receipt marks and the unread counts they drive. */
export function receiptsContract(ctx: ContractContext): void {
  const { append, create, id } = ctx;

  describe('markReceipt', () => {
    const mark = (userId: string, marks: { deliveredSeq?: number; readSeq?: number }, epoch = 1) =>
      ctx.store.markReceipt({ conversationId: id('c'), userId: id(userId), epoch, ...marks });

    it('moves marks forward only: a lower or absent value leaves a mark, and the current marks come back', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      await append(id('c'), 0, [id('bob'), id('bob'), id('bob'), id('bob'), id('bob')]);
      expect(await mark('alice', { deliveredSeq: 3 })).toEqual({ deliveredSeq: 3, readSeq: 0 });
      expect(await mark('alice', { deliveredSeq: 2 })).toEqual({ deliveredSeq: 3, readSeq: 0 });
      expect(await mark('alice', { readSeq: 2 })).toEqual({ deliveredSeq: 3, readSeq: 2 });
      expect(await mark('alice', { deliveredSeq: 1, readSeq: 1 })).toEqual({ deliveredSeq: 3, readSeq: 2 });
      expect(await mark('alice', { deliveredSeq: 5, readSeq: 2 })).toEqual({ deliveredSeq: 5, readSeq: 2 });
      // Applying the same mark twice is harmless.
      expect(await mark('alice', { deliveredSeq: 5, readSeq: 2 })).toEqual({ deliveredSeq: 5, readSeq: 2 });
      // Only alice's marks moved.
      const record = await ctx.store.loadConversation(id('c'));
      expect(record?.members.find((m) => m.userId === id('alice'))).toMatchObject({ deliveredSeq: 5, readSeq: 2 });
      expect(record?.members.find((m) => m.userId === id('bob'))).toMatchObject({ deliveredSeq: 0, readSeq: 0 });
      // Every member's view lists alice's marks.
      const [bobs] = await ctx.store.getConversationViews(id('bob'), [id('c')]);
      expect(bobs?.members.find((m) => m.userId === id('alice'))).toMatchObject({ deliveredSeq: 5, readSeq: 2 });
    });

    it('raises deliveredSeq to readSeq and caps both at lastSeq', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      await append(id('c'), 0, [id('bob'), id('bob'), id('bob')]);
      expect(await mark('alice', { readSeq: 2 })).toEqual({ deliveredSeq: 2, readSeq: 2 });
      expect(await mark('alice', { deliveredSeq: 1, readSeq: 3 })).toEqual({ deliveredSeq: 3, readSeq: 3 });
      expect(await mark('bob', { deliveredSeq: 99, readSeq: 50 })).toEqual({ deliveredSeq: 3, readSeq: 3 });
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ lastSeq: 3 });
    });

    it('shows the marks in views, with unread after readSeq leaving out own and deleted messages', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const sent = await append(id('c'), 0, [id('bob'), id('alice'), id('bob'), id('bob'), id('bob')]);
      const view = async () => (await ctx.store.getConversationViews(id('alice'), [id('c')]))[0];
      expect(await view()).toMatchObject({ readSeq: 0, deliveredSeq: 0, unread: 4 });
      await mark('alice', { readSeq: 3 });
      expect(await view()).toMatchObject({ readSeq: 3, deliveredSeq: 3, unread: 2 });
      // A deleted message is not unread: nothing of it is left to read.
      await ctx.store.updateMessage({ epoch: 1, message: { ...(sent[3] as ChatMessage), deleted: true } });
      expect(await view()).toMatchObject({ readSeq: 3, unread: 1 });
      const page = await ctx.store.listUserConversations(id('alice'), { limit: 10 });
      expect(page.conversations[0]).toMatchObject({ id: id('c'), readSeq: 3, deliveredSeq: 3, unread: 1 });
      await mark('alice', { readSeq: 5 });
      expect(await view()).toMatchObject({ readSeq: 5, deliveredSeq: 5, unread: 0 });
      // bob's own messages never count for him; alice's one does.
      const [bobs] = await ctx.store.getConversationViews(id('bob'), [id('c')]);
      expect(bobs).toMatchObject({ readSeq: 0, unread: 1 });
    });

    it('refuses a user who is not a member, or an unknown conversation, with NotFoundError, writing nothing', async () => {
      await create(id('c'), [id('alice')]);
      await append(id('c'), 0, [id('alice')]);
      expect(await rejection(mark('mallory', { readSeq: 1 }))).toBeInstanceOf(NotFoundError);
      const ghost = ctx.store.markReceipt({ conversationId: id('ghost'), userId: id('alice'), epoch: 1, readSeq: 1 });
      expect(await rejection(ghost)).toBeInstanceOf(NotFoundError);
      expect((await ctx.store.loadConversation(id('c')))?.members).toHaveLength(1);
      expect(await ctx.store.loadConversation(id('ghost'))).toBeNull();
    });

    it('fences by epoch: a lower epoch is refused and writes nothing, a higher one is accepted', async () => {
      await create(id('c'), [id('alice'), id('bob')], { epoch: 5 });
      await append(id('c'), 0, [id('bob'), id('bob')], { epoch: 5 });
      const low = await rejection(mark('alice', { readSeq: 1 }, 4));
      expect(low).toBeInstanceOf(StaleEpochError);
      expect(low).toMatchObject({ conversationId: id('c'), epoch: 4, recordedEpoch: 5 });
      expect((await ctx.store.getConversationViews(id('alice'), [id('c')]))[0]).toMatchObject({ readSeq: 0, deliveredSeq: 0 });
      expect(await mark('alice', { readSeq: 1 }, 5)).toEqual({ deliveredSeq: 1, readSeq: 1 });
      expect(await mark('alice', { readSeq: 2 }, 9)).toEqual({ deliveredSeq: 2, readSeq: 2 });
    });

    it('keeps marks across close and reopen', async ({ skip }) => {
      if (!ctx.canReopen) {
        skip('this backend has no reopen');
        return;
      }
      await create(id('c'), [id('alice'), id('bob')]);
      await append(id('c'), 0, [id('bob'), id('bob'), id('bob')]);
      await mark('alice', { deliveredSeq: 3, readSeq: 1 });
      await ctx.store.close();
      await ctx.reopen();
      expect((await ctx.store.getConversationViews(id('alice'), [id('c')]))[0]).toMatchObject({ deliveredSeq: 3, readSeq: 1, unread: 2 });
    });
  });
}
