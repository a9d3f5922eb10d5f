import { describe, expect, it } from 'vitest';
import { NotFoundError, StaleEpochError } from '@chat/conversation-actors';
import type { MemberRecord, MembershipChange } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, membershipChange, message, rejection, sortMembers } from './fixtures.js';

/** The contract of applyMembershipChange: adds, removes, roles and title in one fenced write. */
export function membershipContract(ctx: ContractContext): void {
  const { append, create, id, readAll } = ctx;

  describe('applyMembershipChange', () => {
    const change = (fields: Partial<MembershipChange>): MembershipChange => membershipChange(id('c'), fields);
    const joined = (userId: string, fields: Partial<MemberRecord> = {}): MemberRecord => ({
      userId: id(userId),
      role: 'member',
      joinedAt: T0 + 50_000,
      readSeq: 0,
      deliveredSeq: 0,
      ...fields,
    });
    const memberIds = async () => ((await ctx.store.loadConversation(id('c')))?.members ?? []).map((m) => m.userId).sort();

    it('adds members as given; one already a member is left as it is', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      await append(id('c'), 0, [id('alice'), id('bob')]);
      await ctx.store.applyMembershipChange(
        change({ add: [joined('carol', { readSeq: 2, deliveredSeq: 2 }), joined('bob', { role: 'admin', joinedAt: T0 + 1 })] }),
      );
      const record = await ctx.store.loadConversation(id('c'));
      expect(record?.members.find((m) => m.userId === id('carol'))).toEqual(joined('carol', { readSeq: 2, deliveredSeq: 2 }));
      expect(record?.members.find((m) => m.userId === id('bob'))).toEqual({ userId: id('bob'), role: 'member', joinedAt: T0, readSeq: 0, deliveredSeq: 0 });
      const [view] = await ctx.store.getConversationViews(id('carol'), [id('c')]);
      expect(view).toMatchObject({ id: id('c'), lastSeq: 2, readSeq: 2, unread: 0 });
      expect(view?.members.map((m) => m.userId).sort()).toEqual([id('alice'), id('bob'), id('carol')]);
      expect((await ctx.store.listUserConversations(id('carol'), { limit: 10 })).conversations.map((c) => c.id)).toEqual([id('c')]);
      // Not a message: the activity time stays.
      expect(record).toMatchObject({ lastSeq: 2, lastActivityAt: T0 + 2000 });
    });

    it('removes members: no view, list, heads or record shows the conversation to them any more', async () => {
      await create(id('c'), [id('alice'), id('bob'), id('carol')]);
      await append(id('c'), 0, [id('bob')]);
      await ctx.store.applyMembershipChange(change({ remove: [id('bob'), id('nobody')] }));
      expect(await memberIds()).toEqual([id('alice'), id('carol')]);
      expect(await ctx.store.getConversationViews(id('bob'), [id('c')])).toEqual([]);
      expect(await ctx.store.getMemberViews(id('c'), [id('bob')])).toEqual([]);
      expect((await ctx.store.listUserConversations(id('bob'), { limit: 10 })).conversations).toEqual([]);
      expect(await ctx.store.userConversationHeads(id('bob'))).toEqual([]);
      // The messages stay; the remaining members see them.
      expect(await readAll(id('c'))).toHaveLength(1);
      expect(await ctx.store.userConversationHeads(id('alice'))).toEqual([{ conversationId: id('c'), lastSeq: 1, changeSeq: 1 }]);
      // The last members leave: the conversation is nobody's.
      await ctx.store.applyMembershipChange(change({ remove: [id('alice'), id('carol')] }));
      expect(await memberIds()).toEqual([]);
      expect(await ctx.store.getConversationViews(id('alice'), [id('c')])).toEqual([]);
    });

    it('sets roles of present members and the title, in one write with adds and removes', async () => {
      await create(id('c'), [id('alice'), id('bob'), id('carol')], { title: 'Old' });
      await ctx.store.applyMembershipChange(
        change({
          add: [joined('dave')],
          remove: [id('alice')],
          roles: [{ userId: id('bob'), role: 'owner' }, { userId: id('dave'), role: 'admin' }, { userId: id('ghost'), role: 'admin' }],
          title: 'New ✨',
        }),
      );
      const record = await ctx.store.loadConversation(id('c'));
      expect(record?.title).toBe('New ✨');
      expect(sortMembers(record)?.members.map((m) => [m.userId, m.role])).toEqual([
        [id('bob'), 'owner'],
        [id('carol'), 'member'],
        [id('dave'), 'admin'],
      ]);
      // No title given: the title stays.
      await ctx.store.applyMembershipChange(change({ roles: [{ userId: id('carol'), role: 'admin' }] }));
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ title: 'New ✨' });
      const [view] = await ctx.store.getConversationViews(id('carol'), [id('c')]);
      expect(view?.title).toBe('New ✨');
      expect(view?.members.find((m) => m.userId === id('carol'))?.role).toBe('admin');
    });

    it('refuses an unknown conversation with NotFoundError', async () => {
      expect(await rejection(ctx.store.applyMembershipChange(change({ conversationId: id('ghost'), add: [joined('alice')] })))).toBeInstanceOf(NotFoundError);
      expect(await ctx.store.loadConversation(id('ghost'))).toBeNull();
    });

    it('fences by epoch: a lower epoch is refused writing nothing, a higher one is recorded and fences the old', async () => {
      await create(id('c'), [id('alice'), id('bob')], { epoch: 5 });
      const low = await rejection(ctx.store.applyMembershipChange(change({ epoch: 4, remove: [id('bob')], add: [joined('carol')], title: 'stale' })));
      expect(low).toBeInstanceOf(StaleEpochError);
      expect(low).toMatchObject({ conversationId: id('c'), epoch: 4, recordedEpoch: 5 });
      expect(await memberIds()).toEqual([id('alice'), id('bob')]);
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ title: 'a group', epoch: 5 });

      await ctx.store.applyMembershipChange(change({ epoch: 8, remove: [id('bob')] }));
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ epoch: 8 });
      const fenced = await rejection(
        ctx.store.appendMessages({ conversationId: id('c'), epoch: 5, expectedLastSeq: 0, messages: [message(id('c'), 1, id('alice'))] }),
      );
      expect(fenced).toBeInstanceOf(StaleEpochError);
      expect(await rejection(ctx.store.applyMembershipChange(change({ epoch: 5, add: [joined('bob')] })))).toBeInstanceOf(StaleEpochError);
      expect(await memberIds()).toEqual([id('alice')]);
    });

    it('keeps membership changes across close and reopen', async ({ skip }) => {
      if (!ctx.canReopen) {
        skip('this backend has no reopen');
        return;
      }
      await create(id('c'), [id('alice'), id('bob')]);
      await ctx.store.applyMembershipChange(
        change({ epoch: 3, add: [joined('carol')], remove: [id('alice')], roles: [{ userId: id('bob'), role: 'owner' }], title: 'Kept' }),
      );
      const before = await ctx.store.loadConversation(id('c'));
      await ctx.store.close();
      await ctx.reopen();
      expect(sortMembers(await ctx.store.loadConversation(id('c')))).toEqual(sortMembers(before));
      expect(before).toMatchObject({ title: 'Kept', epoch: 3 });
      expect(await ctx.store.getConversationViews(id('alice'), [id('c')])).toEqual([]);
    });
  });
}
