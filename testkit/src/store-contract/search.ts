import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import { BadRequestError, type MessageSearchHit, SearchUnsupportedError } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, message, rejection } from './fixtures.js';

/** Whether a backend indexes messages for ChatStore.searchMessages or refuses every search. */
export type SearchSupport = 'indexed' | 'unsupported';

/** The contract of searchMessages. */
export function searchContract(ctx: ContractContext, support: SearchSupport): void {
  const { create, id } = ctx;

  if (support === 'unsupported') {
    describe('searchMessages', () => {
      it('refuses every search with SearchUnsupportedError (protocol bad_request)', async () => {
        await create(id('c'), [id('alice')]);
        const err = await rejection(ctx.store.searchMessages(id('alice'), { text: 'hello', limit: 10 }));
        expect(err).toBeInstanceOf(SearchUnsupportedError);
        expect((err as SearchUnsupportedError).code).toBe('bad_request');
      });
    });
    return;
  }

  /** Appends messages with these bodies after `lastSeq`, from `sender`. */
  const post = async (conversationId: string, lastSeq: number, sender: string, bodies: string[], fields: Partial<ChatMessage> = {}) => {
    const messages = bodies.map((body, i) => message(conversationId, lastSeq + 1 + i, sender, { body, ...fields }));
    await ctx.store.appendMessages({ conversationId, epoch: 1, expectedLastSeq: lastSeq, messages });
    return messages;
  };
  // A backend whose index follows the store asynchronously is brought up to date first (ContractStore.settleSearch).
  const search = async (userId: string, text: string, more: { conversationId?: string; before?: string; limit?: number } = {}) => {
    await ctx.settleSearch();
    return ctx.store.searchMessages(userId, { text, limit: 20, ...more });
  };
  const keys = (hits: MessageSearchHit[]) => hits.map((h) => `${h.message.conversationId.slice(ctx.p.length)}/${h.message.seq}`);
  const marked = (h: MessageSearchHit) => h.highlights.map((r) => h.snippet.slice(r.start, r.end));

  describe('searchMessages', () => {
    it('finds the words in the caller’s conversations only, newest stored first, whole messages with snippets', async () => {
      await create(id('a'), [id('alice'), id('bob')]);
      await create(id('b'), [id('alice'), id('carol')]);
      await create(id('x'), [id('carol')]);
      await post(id('a'), 0, id('bob'), ['the quarterly report is late', 'lunch?']);
      await post(id('b'), 0, id('carol'), ['Report filed.']);
      await post(id('x'), 0, id('carol'), ['secret report']);
      await post(id('a'), 2, id('alice'), ['REPORT again']);

      const page = await search(id('alice'), 'report');
      expect(keys(page.hits)).toEqual(['a/3', 'b/1', 'a/1']);
      expect(page.next).toBeNull();
      expect(page.hits[2]?.message).toEqual(message(id('a'), 1, id('bob'), { body: 'the quarterly report is late' }));
      expect(page.hits[2]?.snippet).toBe('the quarterly report is late');
      expect(page.hits[2]?.highlights).toEqual([{ start: 14, end: 20 }]);
      expect(page.hits.map(marked)).toEqual([['REPORT'], ['Report'], ['report']]);
      // carol finds her own conversation's message; bob only his.
      expect(keys((await search(id('carol'), 'report')).hits)).toEqual(['x/1', 'b/1']);
      expect(keys((await search(id('bob'), 'report')).hits)).toEqual(['a/3', 'a/1']);
      expect(keys((await search(id('alice'), 'report', { conversationId: id('b') })).hits)).toEqual(['b/1']);
      expect((await search(id('alice'), 'report', { conversationId: id('x') })).hits).toEqual([]);
      expect((await search(id('nobody'), 'report')).hits).toEqual([]);
    });

    it('gives a reply it finds the quote every read gives it: the original as stored now', async () => {
      await create(id('q'), [id('alice'), id('bob')]);
      await post(id('q'), 0, id('alice'), ['the original']);
      await post(id('q'), 1, id('bob'), ['a pineapple answer'], { replyTo: { seq: 1, senderId: '', text: '', deleted: false } });
      const [hit] = (await search(id('alice'), 'pineapple')).hits;
      expect(hit?.message.replyTo).toEqual({ seq: 1, senderId: id('alice'), text: 'the original', deleted: false });
    });

    it('needs every term, matches the last one as a prefix, ignores case and diacritics, and treats no input as syntax', async () => {
      await create(id('a'), [id('alice')]);
      await post(id('a'), 0, id('alice'), ['Café crème at noon', 'coffee at noon', 'e-mail me: "NEAR" OR not', 'cafeteria']);
      expect(keys((await search(id('alice'), 'cafe')).hits)).toEqual(['a/4', 'a/1']);
      expect(keys((await search(id('alice'), 'cafe ')).hits)).toEqual(['a/1']);
      expect(keys((await search(id('alice'), 'NOON café')).hits)).toEqual(['a/1']);
      expect(keys((await search(id('alice'), 'noon c')).hits)).toEqual(['a/2', 'a/1']);
      expect(marked((await search(id('alice'), 'noon cr')).hits[0]!)).toEqual(['crème', 'noon']);
      // FTS and SQL syntax in the query are words like any other.
      expect(keys((await search(id('alice'), 'e-mail "near" OR')).hits)).toEqual(['a/3']);
      for (const text of ['NEAR(a b)', 'body:x', 'a* OR ^b', "'; DROP TABLE messages; --", 'AND', '"noon']) {
        await expect(search(id('alice'), text)).resolves.toMatchObject({ hits: expect.any(Array) });
      }
      expect(keys((await search(id('alice'), '"noon')).hits)).toEqual(['a/2', 'a/1']);
      // No word at all: nothing to look for.
      for (const text of [' ?! ', '"', '(*)']) await expect(search(id('alice'), text)).rejects.toBeInstanceOf(BadRequestError);
    });

    it('finds an edited message by its new text only, and never a deleted one', async () => {
      await create(id('a'), [id('alice')]);
      const [first, second] = await post(id('a'), 0, id('alice'), ['meet at the harbour', 'harbour lights']);
      await ctx.store.updateMessage({ epoch: 1, message: { ...first!, body: 'meet at the station', editedAt: T0 + 50_000, changeSeq: 1 } });
      expect(keys((await search(id('alice'), 'harbour')).hits)).toEqual(['a/2']);
      const edited = (await search(id('alice'), 'station')).hits;
      expect(keys(edited)).toEqual(['a/1']);
      expect(edited[0]?.message.editedAt).toBe(T0 + 50_000);
      // A reaction does not move it or lose it.
      await ctx.store.updateMessage({ epoch: 1, message: { ...second!, reactions: { '👍': { ids: [id('alice')] } }, changeSeq: 2 } });
      expect(keys((await search(id('alice'), 'harbour')).hits)).toEqual(['a/2']);
      await ctx.store.updateMessage({ epoch: 1, message: { ...second!, body: '', deleted: true, changeSeq: 3 } });
      expect((await search(id('alice'), 'harbour')).hits).toEqual([]);
      expect((await search(id('alice'), 'lights')).hits).toEqual([]);
    });

    it('finds a streamed message once it is finished, by its final text', async () => {
      await create(id('a'), [id('alice')]);
      const [streamed] = await post(id('a'), 0, id('alice'), ['Once upon'], { streaming: true });
      expect((await search(id('alice'), 'once')).hits).toEqual([]);
      // Saved as it grows (streams.ts): still out of the index.
      await ctx.store.updateMessage({ epoch: 1, message: { ...streamed!, body: 'Once upon a' } });
      expect((await search(id('alice'), 'once')).hits).toEqual([]);
      await ctx.store.updateMessage({ epoch: 1, message: { ...streamed!, body: 'Once upon a time', streaming: false, changeSeq: 1 } });
      expect(keys((await search(id('alice'), 'time')).hits)).toEqual(['a/1']);
      expect(keys((await search(id('alice'), 'once')).hits)).toEqual(['a/1']);
    });

    it('finds nothing in a conversation the caller was removed from, old messages included', async () => {
      await create(id('a'), [id('alice'), id('bob')]);
      await create(id('b'), [id('bob')]);
      await post(id('a'), 0, id('alice'), ['budget draft']);
      await post(id('b'), 0, id('bob'), ['budget final']);
      expect(keys((await search(id('bob'), 'budget')).hits)).toEqual(['b/1', 'a/1']);
      await ctx.store.applyMembershipChange({ conversationId: id('a'), epoch: 1, add: [], remove: [id('bob')], roles: [], changeSeq: 1 });
      await post(id('a'), 1, id('alice'), ['budget after bob left']);
      expect(keys((await search(id('bob'), 'budget')).hits)).toEqual(['b/1']);
      expect((await search(id('bob'), 'budget', { conversationId: id('a') })).hits).toEqual([]);
      expect(keys((await search(id('alice'), 'budget')).hits)).toEqual(['a/2', 'a/1']);
    });

    it('pages newest first with an opaque cursor: every hit once, next null on the last page; a forged cursor is refused', async () => {
      await create(id('a'), [id('alice')]);
      await create(id('b'), [id('alice')]);
      await post(id('a'), 0, id('alice'), Array.from({ length: 13 }, (_, i) => `ping ${i}`));
      // Stored after a's, and created after them, as the actor stamps them: every index orders b's first.
      const later = Array.from({ length: 12 }, (_, i) => message(id('b'), i + 1, id('alice'), { body: `ping ${i}`, createdAt: T0 + 100_000 + i * 1000 }));
      await ctx.store.appendMessages({ conversationId: id('b'), epoch: 1, expectedLastSeq: 0, messages: later });
      const seen: string[] = [];
      let before: string | undefined;
      let pages = 0;
      do {
        const page = await search(id('alice'), 'ping', { limit: 10, before });
        seen.push(...keys(page.hits));
        before = page.next ?? undefined;
        pages++;
      } while (before);
      expect(pages).toBe(3);
      const expected = [
        ...Array.from({ length: 12 }, (_, i) => `b/${12 - i}`),
        ...Array.from({ length: 13 }, (_, i) => `a/${13 - i}`),
      ];
      expect(seen).toEqual(expected);
      await expect(search(id('alice'), 'ping', { before: 'not-a-cursor' })).rejects.toBeInstanceOf(BadRequestError);
    });

    it('cuts a long body to a snippet around the first match, with ranges into the snippet', async () => {
      await create(id('a'), [id('alice')]);
      const filler = 'lorem ipsum dolor sit amet '.repeat(20);
      await post(id('a'), 0, id('alice'), [`${filler}the needle is here ${filler}`]);
      const [hit] = (await search(id('alice'), 'needle')).hits;
      expect(hit?.snippet.length).toBeLessThanOrEqual(170);
      expect(hit?.snippet.startsWith('…')).toBe(true);
      expect(hit?.snippet.endsWith('…')).toBe(true);
      expect(marked(hit!)).toEqual(['needle']);
      expect(hit?.message.body.length).toBeGreaterThan(1000);
    });
  });
}
