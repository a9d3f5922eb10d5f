import { describe, expect, it } from 'vitest';
import type { ChatMessage, Quote } from '@chat/proto';
import type { ContractContext } from './context.js';
import { T0, message } from './fixtures.js';

/**
 * The contract of replies (docs/protocol.md, "Replies"): a store keeps the
 * seq a message replies to and serves its quote as the original is now, on
 * every read that returns messages.
 */
export function repliesContract(ctx: ContractContext): void {
  const { create, id, readAll } = ctx;

  describe('replies', () => {
    const long = `${'é'.repeat(150)}${'😀'.repeat(100)}`;

    /** The original (seq 1, alice, a long body) and a reply to it (seq 2, bob). */
    async function setUp(): Promise<{ original: ChatMessage; reply: ChatMessage; quote: Quote }> {
      await create(id('c'), [id('alice'), id('bob')]);
      const original = message(id('c'), 1, id('alice'), { body: long });
      const quote: Quote = { seq: 1, senderId: id('alice'), text: `${'é'.repeat(150)}${'😀'.repeat(50)}`, deleted: false };
      const reply = message(id('c'), 2, id('bob'), { body: 'yes', replyTo: quote });
      const result = await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [original, reply] });
      expect(result).toEqual({ kind: 'appended' });
      // A reaction makes the reply a changed message, so sync's read of changes serves it too.
      const reacted = { ...reply, reactions: { '👍': { ids: [id('alice')] } }, changeSeq: 1 };
      await ctx.store.updateMessage({ epoch: 1, message: reacted });
      return { original, reply: reacted, quote };
    }

    /** Every read path's view of the reply (seq 2). */
    async function readReplyEverywhere(): Promise<ChatMessage[]> {
      const all = await readAll(id('c'));
      const alone = await ctx.store.readMessages(id('c'), { after: 1, limit: 1, direction: 'forward' });
      const changed = await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 0, maxSeq: 2, limit: 10 });
      const byKey = await ctx.store.findByClientMsgIds(id('c'), [{ senderId: id('bob'), clientMsgId: 'client-2' }]);
      const [view] = await ctx.store.getConversationViews(id('alice'), [id('c')]);
      return [all[1], alone[0], changed.find((m) => m.seq === 2), byKey[0], view?.lastMessage].map((m) => m as ChatMessage);
    }

    it('serves the quote of the original (its first 200 characters) on every read, and nothing on other messages', async () => {
      const { original, reply } = await setUp();
      for (const m of await readReplyEverywhere()) expect(m).toEqual(reply);
      expect((await readAll(id('c')))[0]).toEqual(original);
      expect((await readAll(id('c')))[0]).not.toHaveProperty('replyTo');
    });

    it('shows an edit and then a delete of the original in the quote of a reply read afterwards', async () => {
      const { original, reply, quote } = await setUp();
      await ctx.store.updateMessage({ epoch: 1, message: { ...original, body: 'edited', editedAt: T0 + 9000, changeSeq: 2 } });
      for (const m of await readReplyEverywhere()) expect(m).toEqual({ ...reply, replyTo: { ...quote, text: 'edited' } });
      await ctx.store.updateMessage({ epoch: 1, message: { ...original, deleted: true, changeSeq: 3 } });
      for (const m of await readReplyEverywhere()) expect(m).toEqual({ ...reply, replyTo: { ...quote, text: '', deleted: true } });
    });

    it('answers a duplicate send with its quote as it is now', async () => {
      const { original, reply } = await setUp();
      await ctx.store.updateMessage({ epoch: 1, message: { ...original, body: 'later', editedAt: T0 + 9000, changeSeq: 2 } });
      const retry = { ...reply, seq: 3, id: 'other' };
      const result = await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 2, messages: [retry] });
      expect(result).toEqual({ kind: 'duplicates', existing: [{ ...reply, replyTo: { seq: 1, senderId: id('alice'), text: 'later', deleted: false } }] });
    });
  });
}
