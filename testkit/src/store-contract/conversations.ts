import { describe, expect, it } from 'vitest';
import type { ConversationRecord, NewConversation } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, sortMembers } from './fixtures.js';

/** The contract of conversations: loadConversation and createConversation. */
export function conversationsContract(ctx: ContractContext): void {
  const { create, id } = ctx;

  describe('conversations', () => {
    it('loadConversation returns null for an unknown conversation', async () => {
      expect(await ctx.store.loadConversation(id('nope'))).toBeNull();
    });

    it('createConversation stores the head and the members', async () => {
      const record = await create(id('c'), [id('alice'), id('bob')], { title: 'Trip', createdAt: T0 + 5, epoch: 3 });
      const expected: ConversationRecord = {
        id: id('c'),
        kind: 'group',
        title: 'Trip',
        createdAt: T0 + 5,
        lastSeq: 0,
        lastActivityAt: T0 + 5,
        epoch: 3,
        changeSeq: 0,
        members: [
          { userId: id('alice'), role: 'owner', joinedAt: T0 + 5, readSeq: 0, deliveredSeq: 0 },
          { userId: id('bob'), role: 'member', joinedAt: T0 + 5, readSeq: 0, deliveredSeq: 0 },
        ],
      };
      expect(sortMembers(record)).toEqual(expected);
      expect(sortMembers(await ctx.store.loadConversation(id('c')))).toEqual(expected);
    });

    it('a DM has a null title', async () => {
      const record = await create(id('dm'), [id('alice'), id('bob')], { kind: 'dm' });
      expect(record.kind).toBe('dm');
      expect(record.title).toBeNull();
      expect((await ctx.store.loadConversation(id('dm')))?.title).toBeNull();
    });

    it('createConversation of an existing id writes nothing and returns the original', async () => {
      const original = await create(id('c'), [id('alice'), id('bob')], { title: 'First', epoch: 2 });
      const again = await ctx.store.createConversation(
        { id: id('c'), kind: 'dm', title: null, createdAt: T0 + 99, members: [{ userId: id('carol'), role: 'owner' }] },
        9,
      );
      expect(again.created).toBe(false);
      expect(sortMembers(again.record)).toEqual(sortMembers(original));
      expect(sortMembers(await ctx.store.loadConversation(id('c')))).toEqual(sortMembers(original));
    });

    it('two concurrent creates of one id converge on one conversation', async () => {
      const make = (owner: string): NewConversation => ({
        id: id('dm'),
        kind: 'dm',
        title: null,
        createdAt: T0,
        members: [
          { userId: owner, role: 'owner' },
          { userId: owner === id('alice') ? id('bob') : id('alice'), role: 'member' },
        ],
      });
      const [a, b] = await Promise.all([
        ctx.store.createConversation(make(id('alice')), 1),
        ctx.store.createConversation(make(id('bob')), 1),
      ]);
      expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
      expect(sortMembers(a.record)).toEqual(sortMembers(b.record));
      expect(sortMembers(await ctx.store.loadConversation(id('dm')))).toEqual(sortMembers(a.record));
    });
  });
}
