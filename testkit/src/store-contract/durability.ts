import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import { StaleEpochError, StoreUnavailableError } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, message, rejection, sortMembers } from './fixtures.js';

/** The contract of durability across close and reopen, and close itself. */
export function durabilityContract(ctx: ContractContext): void {
  const { append, create, id, readAll } = ctx;

  describe('durability', () => {
    it('keeps everything across close and reopen', async ({ skip }) => {
      if (!ctx.canReopen) {
        skip('this backend has no reopen');
        return;
      }
      await ctx.store.upsertUser({ id: id('alice'), name: `${ctx.np}Alice` });
      const record = await create(id('c'), [id('alice'), id('bob')], { epoch: 4 });
      const sent = await append(id('c'), 0, [id('alice'), id('bob'), id('alice')], { epoch: 4 });
      await ctx.store.close();

      await ctx.reopen();
      expect(await ctx.store.getUsers([id('alice')])).toEqual([{ id: id('alice'), name: `${ctx.np}Alice` }]);
      expect(await ctx.store.searchUsers(ctx.np, 10)).toEqual([{ id: id('alice'), name: `${ctx.np}Alice` }]);
      expect(sortMembers(await ctx.store.loadConversation(id('c')))).toEqual(
        sortMembers({ ...record, lastSeq: 3, lastActivityAt: sent[2]?.createdAt ?? 0 }),
      );
      expect(await readAll(id('c'))).toEqual(sent);

      // Idempotency keys and the epoch fence survive too.
      const retry = { ...(sent[0] as ChatMessage), seq: 4 };
      expect(await ctx.store.appendMessages({ conversationId: id('c'), epoch: 4, expectedLastSeq: 3, messages: [retry] })).toEqual({
        kind: 'duplicates',
        existing: [sent[0]],
      });
      expect(
        await rejection(ctx.store.appendMessages({ conversationId: id('c'), epoch: 3, expectedLastSeq: 3, messages: [message(id('c'), 4, id('bob'), { clientMsgId: 'n' })] })),
      ).toBeInstanceOf(StaleEpochError);
      await append(id('c'), 3, [id('bob')], { epoch: 4 });
      expect((await readAll(id('c'))).map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    });
  });

  describe('close', () => {
    it('makes every later call reject with StoreUnavailableError', async () => {
      await create(id('c'), [id('alice')]);
      await ctx.store.close();
      const calls: [string, () => Promise<unknown>][] = [
        ['upsertUser', () => ctx.store.upsertUser({ id: id('alice'), name: 'A' })],
        ['getUsers', () => ctx.store.getUsers([id('alice')])],
        ['searchUsers', () => ctx.store.searchUsers('a', 10)],
        ['loadConversation', () => ctx.store.loadConversation(id('c'))],
        ['createConversation', () => ctx.store.createConversation({ id: id('d'), kind: 'dm', title: null, createdAt: T0, members: [] }, 1)],
        ['appendMessages', () => ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [message(id('c'), 1, id('alice'))] })],
        ['updateMessage', () => ctx.store.updateMessage({ epoch: 1, message: message(id('c'), 1, id('alice')) })],
        ['findByClientMsgIds', () => ctx.store.findByClientMsgIds(id('c'), [{ senderId: id('alice'), clientMsgId: 'x' }])],
        ['readMessages', () => ctx.store.readMessages(id('c'), { limit: 10, direction: 'forward' })],
        ['listUserConversations', () => ctx.store.listUserConversations(id('alice'), { limit: 10 })],
        ['userConversationHeads', () => ctx.store.userConversationHeads(id('alice'))],
        ['userConversationIds', () => ctx.store.userConversationIds(id('alice'))],
        ['getConversationViews', () => ctx.store.getConversationViews(id('alice'), [id('c')])],
        ['applyMembershipChange', () => ctx.store.applyMembershipChange({ conversationId: id('c'), epoch: 1, add: [], remove: [id('alice')], roles: [], changeSeq: 1 })],
        ['readChangedMessages', () => ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 0, maxSeq: 10, limit: 10 })],
        ['getMemberViews', () => ctx.store.getMemberViews(id('c'), [id('alice')])],
      ];
      for (const [what, call] of calls) {
        expect(await rejection(call()), what).toBeInstanceOf(StoreUnavailableError);
      }
    });
  });
}
