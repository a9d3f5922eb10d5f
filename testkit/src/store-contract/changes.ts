import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import { BadRequestError, ConflictError, StaleEpochError } from '@chat/conversation-actors';
import type { MembershipChange } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, rejection } from './fixtures.js';

/**
 * The contract of the change counters (sync's changesSince): the changeSeq
 * that updateMessage and applyMembershipChange store on the conversation and
 * the message, and readChangedMessages.
 */
export function changesContract(ctx: ContractContext): void {
  const { append, create, id, readAll } = ctx;
  const membership = (changeSeq: number, fields: Partial<MembershipChange> = {}): MembershipChange => ({
    conversationId: id('c'),
    epoch: 1,
    add: [],
    remove: [],
    roles: [],
    changeSeq,
    ...fields,
  });
  const changeSeqOf = async (conversationId: string): Promise<number | undefined> => (await ctx.store.loadConversation(conversationId))?.changeSeq;

  describe('change counters', () => {
    it('start at 0 and do not move for new messages or receipts', async () => {
      const record = await create(id('c'), [id('alice'), id('bob')]);
      expect(record.changeSeq).toBe(0);
      const sent = await append(id('c'), 0, [id('alice'), id('bob')]);
      await ctx.store.markReceipt({ conversationId: id('c'), userId: id('bob'), epoch: 1, readSeq: 2 });
      expect(await changeSeqOf(id('c'))).toBe(0);
      expect((await readAll(id('c'))).map((m) => m.changeSeq)).toEqual([0, 0]);
      expect(sent.map((m) => m.changeSeq)).toEqual([0, 0]);
    });

    it('updateMessage stores the message’s changeSeq on it and on the conversation, seen by every read', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const [first, second] = await append(id('c'), 0, [id('alice'), id('bob')]);
      const edited: ChatMessage = { ...(first as ChatMessage), body: 'edited', editedAt: T0 + 9, changeSeq: 1 };
      await ctx.store.updateMessage({ epoch: 1, message: edited });
      const deleted: ChatMessage = { ...(second as ChatMessage), body: '', deleted: true, changeSeq: 2 };
      await ctx.store.updateMessage({ epoch: 1, message: deleted });

      expect(await readAll(id('c'))).toEqual([edited, deleted]);
      expect(await changeSeqOf(id('c'))).toBe(2);
      expect(await ctx.store.userConversationHeads(id('bob'))).toEqual([{ conversationId: id('c'), lastSeq: 2, changeSeq: 2 }]);
      const [view] = await ctx.store.getConversationViews(id('alice'), [id('c')]);
      expect(view).toMatchObject({ changeSeq: 2, lastMessage: { seq: 2, changeSeq: 2, deleted: true } });
      const [member] = await ctx.store.getMemberViews(id('c'), [id('bob')]);
      expect(member?.view.changeSeq).toBe(2);
      expect((await ctx.store.listUserConversations(id('bob'), { limit: 5 })).conversations[0]?.changeSeq).toBe(2);
    });

    it('applyMembershipChange stores its changeSeq on the conversation; the messages keep theirs', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      await append(id('c'), 0, [id('alice')]);
      await ctx.store.applyMembershipChange(membership(1, { title: 'Renamed' }));
      await ctx.store.applyMembershipChange(membership(2, { remove: [id('bob')] }));
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ title: 'Renamed', changeSeq: 2, lastSeq: 1 });
      expect((await readAll(id('c')))[0]?.changeSeq).toBe(0);
      const [view] = await ctx.store.getConversationViews(id('alice'), [id('c')]);
      expect(view?.changeSeq).toBe(2);
    });

    it('never lower the conversation’s counter, and refused writes leave it', async () => {
      await create(id('c'), [id('alice')], { epoch: 5 });
      const [m] = await append(id('c'), 0, [id('alice')], { epoch: 5 });
      const original = m as ChatMessage;
      await ctx.store.applyMembershipChange(membership(4, { epoch: 5, title: 'Four' }));
      // A retried or late write with a lower value: the message gets it, the conversation keeps 4.
      await ctx.store.updateMessage({ epoch: 5, message: { ...original, body: 'b', editedAt: T0, changeSeq: 3 } });
      await ctx.store.applyMembershipChange(membership(2, { epoch: 5, title: 'Two' }));
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ changeSeq: 4, title: 'Two' });

      const stale = await rejection(ctx.store.updateMessage({ epoch: 4, message: { ...original, body: 'stale', changeSeq: 9 } }));
      expect(stale).toBeInstanceOf(StaleEpochError);
      expect(await rejection(ctx.store.applyMembershipChange(membership(9, { epoch: 4, title: 'stale' })))).toBeInstanceOf(StaleEpochError);
      await ctx.store.updateMessage({ epoch: 5, message: { ...original, body: '', deleted: true, changeSeq: 5 } });
      const undelete = await rejection(ctx.store.updateMessage({ epoch: 5, message: { ...original, changeSeq: 9 } }));
      expect(undelete).toBeInstanceOf(ConflictError);
      expect(await changeSeqOf(id('c'))).toBe(5);
      expect((await readAll(id('c')))[0]).toMatchObject({ deleted: true, changeSeq: 5 });
    });
  });

  describe('readChangedMessages', () => {
    /** c: 6 messages; 2 edited (changeSeq 1), 5 reacted to (2), 3 deleted (3), 6 edited (4). */
    const changed = async (): Promise<ChatMessage[]> => {
      await create(id('c'), [id('alice'), id('bob')]);
      const sent = await append(id('c'), 0, [id('alice'), id('alice'), id('bob'), id('bob'), id('alice'), id('alice')]);
      const at = (seq: number) => sent[seq - 1] as ChatMessage;
      const updates: ChatMessage[] = [
        { ...at(2), body: 'two, edited', editedAt: T0 + 1, changeSeq: 1 },
        { ...at(5), reactions: { '👍': { ids: [id('bob')] } }, changeSeq: 2 },
        { ...at(3), body: '', deleted: true, changeSeq: 3 },
        { ...at(6), body: 'six, edited', editedAt: T0 + 2, changeSeq: 4 },
      ];
      for (const message of updates) await ctx.store.updateMessage({ epoch: 1, message });
      return readAll(id('c'));
    };
    const seqs = (messages: ChatMessage[]) => messages.map((m) => m.seq);

    it('returns the messages up to maxSeq changed after afterChangeSeq, in seq order, as every read serves them', async () => {
      const all = await changed();
      const got = await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 0, maxSeq: 6, limit: 10 });
      expect(got).toEqual([all[1], all[2], all[4], all[5]]);
      expect(got[1]).toMatchObject({ seq: 3, deleted: true, body: '', attachments: [], reactions: {}, changeSeq: 3 });
      expect(seqs(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 2, maxSeq: 6, limit: 10 }))).toEqual([3, 6]);
      expect(seqs(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 1, maxSeq: 5, limit: 10 }))).toEqual([3, 5]);
      expect(seqs(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 4, maxSeq: 6, limit: 10 }))).toEqual([]);
      expect(seqs(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 0, maxSeq: 0, limit: 10 }))).toEqual([]);
      // A message never changed has changeSeq 0 and never matches, even below 0.
      expect(seqs(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: -1, maxSeq: 6, limit: 10 }))).toEqual([2, 3, 5, 6]);
    });

    it('with more than `limit`, returns the ones with the highest seqs, still in seq order', async () => {
      await changed();
      expect(seqs(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 0, maxSeq: 6, limit: 2 }))).toEqual([5, 6]);
      expect(seqs(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 0, maxSeq: 5, limit: 2 }))).toEqual([3, 5]);
    });

    it('returns nothing for an unknown conversation or one never changed, and refuses a bad limit', async () => {
      await create(id('quiet'), [id('alice')]);
      await append(id('quiet'), 0, [id('alice'), id('alice')]);
      expect(await ctx.store.readChangedMessages(id('quiet'), { afterChangeSeq: 0, maxSeq: 2, limit: 5 })).toEqual([]);
      expect(await ctx.store.readChangedMessages(id('ghost'), { afterChangeSeq: 0, maxSeq: 2, limit: 5 })).toEqual([]);
      expect(await rejection(ctx.store.readChangedMessages(id('quiet'), { afterChangeSeq: 0, maxSeq: 2, limit: 0 }))).toBeInstanceOf(BadRequestError);
    });

    it('keeps the counters across close and reopen', async ({ skip }) => {
      if (!ctx.canReopen) {
        skip('this backend has no reopen');
        return;
      }
      const all = await changed();
      await ctx.store.applyMembershipChange(membership(5, { title: 'Kept' }));
      await ctx.store.close();
      await ctx.reopen();
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ changeSeq: 5, title: 'Kept' });
      expect(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 2, maxSeq: 6, limit: 10 })).toEqual([all[2], all[5]]);
    });
  });
}
