import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import type { ContractContext } from './context.js';
import { T0, message } from './fixtures.js';

/**
 * The contract of threads (docs/protocol.md, "Threads"): thread replies are
 * messages of the conversation carrying their root's seq; readThread pages
 * one thread; a root's counters are what appendMessages' `threads` last set,
 * and with its `changeSeq` the root is a changed message for sync.
 */
export function threadsContract(ctx: ContractContext): void {
  const { create, id, readAll } = ctx;

  describe('threads', () => {
    /**
     * Root 1; then messages 2..n where the even seqs reply in root 1's thread
     * and the odd ones are ordinary, appended in batches of `batch`.
     */
    async function setUp(n: number, batch: number): Promise<ChatMessage[]> {
      await create(id('c'), [id('alice'), id('bob')]);
      const all: ChatMessage[] = [message(id('c'), 1, id('alice'), { body: 'root' })];
      for (let seq = 2; seq <= n; seq++) {
        all.push(message(id('c'), seq, seq % 3 === 0 ? id('alice') : id('bob'), seq % 2 === 0 ? { threadRoot: 1 } : {}));
      }
      let replies = 0;
      for (let from = 0; from < all.length; from += batch) {
        const messages = all.slice(from, from + batch);
        const inThread = messages.filter((m) => m.threadRoot === 1);
        replies += inThread.length;
        const last = inThread[inThread.length - 1];
        const threads = last ? [{ root: 1, replies, lastAt: last.createdAt }] : [];
        const result = await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: from, messages, threads });
        expect(result).toEqual({ kind: 'appended' });
      }
      return all;
    }

    it('serves thread replies in the conversation’s order, with their root; the root carries its counters', async () => {
      const all = await setUp(9, 4);
      const stored = await readAll(id('c'));
      expect(stored.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(stored[0]).toEqual({ ...all[0], threadReplies: 4, threadLastAt: T0 + 8000 });
      expect(stored.slice(1)).toEqual(all.slice(1));
      expect(stored.filter((m) => m.threadRoot === 1).map((m) => m.seq)).toEqual([2, 4, 6, 8]);
    });

    it('pages one thread forward and backward within bounds, and nothing of another root', async () => {
      const all = await setUp(41, 16);
      const thread = all.filter((m) => m.threadRoot === 1);
      expect(thread).toHaveLength(20);
      const read = (q: { after?: number; before?: number; limit: number; direction: 'forward' | 'backward' }) => ctx.store.readThread(id('c'), 1, q);
      expect(await read({ limit: 100, direction: 'forward' })).toEqual(thread);
      expect(await read({ limit: 5, direction: 'forward' })).toEqual(thread.slice(0, 5));
      expect(await read({ limit: 5, direction: 'backward' })).toEqual(thread.slice(15));
      expect(await read({ after: 10, limit: 3, direction: 'forward' })).toEqual(thread.slice(5, 8));
      expect(await read({ before: 10, limit: 3, direction: 'backward' })).toEqual(thread.slice(1, 4));
      expect(await read({ after: 10, before: 20, limit: 100, direction: 'forward' })).toEqual(thread.slice(5, 9));
      expect(await ctx.store.readThread(id('c'), 3, { limit: 10, direction: 'forward' })).toEqual([]);
      expect(await ctx.store.readThread(id('other'), 1, { limit: 10, direction: 'forward' })).toEqual([]);
    });

    it('moves a root’s change position with its counters when the append gives one, so readChangedMessages carries the root', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const root = message(id('c'), 1, id('alice'), { body: 'root' });
      const other = message(id('c'), 2, id('bob'), { body: 'no thread' });
      await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [root, other] });
      await ctx.store.updateMessage({ epoch: 1, message: { ...other, body: 'edited', editedAt: T0 + 50_000, changeSeq: 1 } });
      // The watermark a client holds before the replies: changeSeq 1, lastSeq 2.
      const before = await ctx.store.loadConversation(id('c'));
      expect(before).toMatchObject({ changeSeq: 1, lastSeq: 2 });
      const r3 = message(id('c'), 3, id('bob'), { threadRoot: 1 });
      const r4 = message(id('c'), 4, id('alice'), { threadRoot: 1 });
      const plain = message(id('c'), 5, id('alice'));
      await ctx.store.appendMessages({
        conversationId: id('c'),
        epoch: 1,
        expectedLastSeq: 2,
        messages: [r3],
        threads: [{ root: 1, replies: 1, lastAt: r3.createdAt }],
        changeSeq: 2,
      });
      await ctx.store.appendMessages({
        conversationId: id('c'),
        epoch: 1,
        expectedLastSeq: 3,
        messages: [r4, plain],
        threads: [{ root: 1, replies: 2, lastAt: r4.createdAt }],
        changeSeq: 3,
      });
      // The conversation's change counter moved with the roots (sync compares it first); a plain append leaves it.
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ changeSeq: 3, lastSeq: 5 });
      expect(await ctx.store.userConversationHeads(id('bob'))).toEqual([{ conversationId: id('c'), lastSeq: 5, changeSeq: 3 }]);
      const changed = await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 1, maxSeq: 2, limit: 10 });
      expect(changed).toEqual([{ ...root, changeSeq: 3, threadReplies: 2, threadLastAt: r4.createdAt }]);
      // From a mark after the first reply, the root still comes, with the latest counters.
      const later = await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 2, maxSeq: 5, limit: 10 });
      expect(later.map((m) => [m.seq, m.threadReplies])).toEqual([[1, 2]]);
      expect(await ctx.store.readChangedMessages(id('c'), { afterChangeSeq: 3, maxSeq: 5, limit: 10 })).toEqual([]);
      // Everything else about the root is as before.
      expect((await readAll(id('c')))[0]).toEqual({ ...root, changeSeq: 3, threadReplies: 2, threadLastAt: r4.createdAt });
    });

    it('keeps a root’s counters through its edits, and a deleted reply stays in its thread', async () => {
      await setUp(5, 5);
      const [root, reply] = await readAll(id('c'));
      await ctx.store.updateMessage({ epoch: 1, message: { ...(root as ChatMessage), body: 'edited', editedAt: T0 + 99_000, changeSeq: 1 } });
      await ctx.store.updateMessage({ epoch: 1, message: { ...(reply as ChatMessage), deleted: true, changeSeq: 2 } });
      const [editedRoot] = await readAll(id('c'));
      expect(editedRoot).toMatchObject({ body: 'edited', threadReplies: 2, threadLastAt: T0 + 4000 });
      const thread = await ctx.store.readThread(id('c'), 1, { limit: 10, direction: 'forward' });
      expect(thread.map((m) => [m.seq, m.deleted])).toEqual([
        [2, true],
        [4, false],
      ]);
    });
  });
}
