import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import type { ContractContext } from './context.js';
import { T0, message } from './fixtures.js';

/**
 * The contract of threads (docs/protocol.md, "Threads"): thread replies are
 * messages of the conversation carrying their root's seq; readThread pages
 * one thread; a root's counters are what appendMessages' `threads` last set.
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
