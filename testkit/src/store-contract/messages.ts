import { describe, expect, it } from 'vitest';
import { NotFoundError, SeqConflictError, StaleEpochError } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, bySeq, message, rejection } from './fixtures.js';

/** The contract of messages: appendMessages (sequencing, fencing, idempotency), findByClientMsgIds and readMessages. */
export function messagesContract(ctx: ContractContext): void {
  const { append, create, id, readAll } = ctx;

  describe('appendMessages', () => {
    it('appends one message and moves the head to it', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const m = message(id('c'), 1, id('alice'), { createdAt: T0 + 1234 });
      expect(await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [m] })).toEqual({
        kind: 'appended',
      });
      const head = await ctx.store.loadConversation(id('c'));
      expect(head).toMatchObject({ lastSeq: 1, lastActivityAt: T0 + 1234, epoch: 1 });
      expect(await readAll(id('c'))).toEqual([m]);
    });

    it('batches keep the sequence gapless', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const sent = [
        ...(await append(id('c'), 0, [id('alice')])),
        ...(await append(id('c'), 1, [id('bob'), id('alice'), id('bob'), id('alice'), id('bob')])),
        ...(await append(id('c'), 6, [id('alice'), id('alice')])),
      ];
      const stored = await readAll(id('c'));
      expect(stored.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(stored).toEqual(sent);
      const head = await ctx.store.loadConversation(id('c'));
      expect(head?.lastSeq).toBe(8);
      expect(head?.lastActivityAt).toBe(sent[7]?.createdAt);
    });

    it('appends a group commit of 32 messages at the largest body (4,000 four-byte characters each)', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      // ~512 KB in one call: a store that writes in batches must split them
      // under its server's limits (Cassandra refuses a batch over 50 KiB).
      const messages = Array.from({ length: 32 }, (_, i) =>
        message(id('c'), i + 1, i % 2 ? id('alice') : id('bob'), { body: `${'😀'.repeat(3999)}${i % 10}` }),
      );
      expect(await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages })).toEqual({ kind: 'appended' });
      expect(await readAll(id('c'))).toEqual(messages);
    });

    it('stores every field of a message as given', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const m = message(id('c'), 1, id('alice'), {
        body: 'héllo 👋 "quoted" \\ back\nslash',
        attachments: [
          { name: 'cat.png', mediaType: 'image/png', size: 1234, url: 'https://files.example/cat.png', width: 640, height: 480 },
          { name: 'notes.txt', mediaType: 'text/plain', size: 12, url: 'https://files.example/notes.txt' },
        ],
        editedAt: T0 + 50_000,
        reactions: { '👍': { ids: [id('bob')] }, '🎉': { ids: [id('alice'), id('bob')] } },
      });
      await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [m] });
      expect(await readAll(id('c'))).toEqual([m]);
    });

    it('refuses an append whose expectedLastSeq is not the stored lastSeq, writing nothing', async () => {
      await create(id('c'), [id('alice')]);
      const [first] = await append(id('c'), 0, [id('alice')]);

      const behind = await rejection(
        ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [message(id('c'), 1, id('alice'), { clientMsgId: 'x1' })] }),
      );
      expect(behind).toBeInstanceOf(SeqConflictError);
      expect(behind).toMatchObject({ conversationId: id('c'), expectedLastSeq: 0, actualLastSeq: 1 });

      const ahead = await rejection(
        ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 3, messages: [message(id('c'), 4, id('alice'), { clientMsgId: 'x4' })] }),
      );
      expect(ahead).toBeInstanceOf(SeqConflictError);
      expect(ahead).toMatchObject({ expectedLastSeq: 3, actualLastSeq: 1 });

      expect((await ctx.store.loadConversation(id('c')))?.lastSeq).toBe(1);
      expect(await readAll(id('c'))).toEqual([first]);
    });

    it('refuses an append to an unknown conversation with NotFoundError', async () => {
      const err = await rejection(
        ctx.store.appendMessages({ conversationId: id('ghost'), epoch: 1, expectedLastSeq: 0, messages: [message(id('ghost'), 1, id('alice'))] }),
      );
      expect(err).toBeInstanceOf(NotFoundError);
      expect(await ctx.store.loadConversation(id('ghost'))).toBeNull();
    });

    it('fences writers by epoch: a lower epoch is refused, a higher one is accepted and fences the old', async () => {
      await create(id('c'), [id('alice')], { epoch: 5 });

      const low = await rejection(
        ctx.store.appendMessages({ conversationId: id('c'), epoch: 4, expectedLastSeq: 0, messages: [message(id('c'), 1, id('alice'))] }),
      );
      expect(low).toBeInstanceOf(StaleEpochError);
      expect(low).toMatchObject({ conversationId: id('c'), epoch: 4, recordedEpoch: 5 });
      expect(await readAll(id('c'))).toEqual([]);
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ lastSeq: 0, epoch: 5 });

      await append(id('c'), 0, [id('alice')], { epoch: 5 });
      await append(id('c'), 1, [id('alice')], { epoch: 7 });
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ lastSeq: 2, epoch: 7 });

      const fenced = await rejection(
        ctx.store.appendMessages({ conversationId: id('c'), epoch: 5, expectedLastSeq: 2, messages: [message(id('c'), 3, id('alice'))] }),
      );
      expect(fenced).toBeInstanceOf(StaleEpochError);
      expect(fenced).toMatchObject({ epoch: 5, recordedEpoch: 7 });
      expect((await readAll(id('c'))).map((m) => m.seq)).toEqual([1, 2]);

      await append(id('c'), 2, [id('alice')], { epoch: 7 });
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ lastSeq: 3, epoch: 7 });
    });

    it('a batch holding a stored clientMsgId writes nothing and returns the originals', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const [original] = await append(id('c'), 0, [id('alice')]);
      if (!original) throw new Error('unreachable');

      const fresh = message(id('c'), 2, id('bob'), { clientMsgId: 'fresh' });
      const retry = message(id('c'), 3, id('alice'), { clientMsgId: original.clientMsgId, body: 'a retry', id: 'other-id' });
      const result = await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 1, messages: [fresh, retry] });
      expect(result).toEqual({ kind: 'duplicates', existing: [original] });

      // Nothing of the batch was written, not even its fresh message.
      expect((await ctx.store.loadConversation(id('c')))?.lastSeq).toBe(1);
      expect(await readAll(id('c'))).toEqual([original]);
      expect(await ctx.store.findByClientMsgIds(id('c'), [{ senderId: id('bob'), clientMsgId: 'fresh' }])).toEqual([]);

      // The caller re-sequences the rest.
      const resequenced = { ...fresh, seq: 2 };
      expect(await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 1, messages: [resequenced] })).toEqual({
        kind: 'appended',
      });
      expect(await readAll(id('c'))).toEqual([original, resequenced]);
    });

    it('returns every stored original of a batch of duplicates', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const originals = await append(id('c'), 0, [id('alice'), id('bob'), id('alice')]);
      const retries = originals.map((m, i) => ({ ...m, seq: 4 + i, id: `retry-${i}` }));
      const result = await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 3, messages: retries });
      expect(result.kind).toBe('duplicates');
      if (result.kind !== 'duplicates') return;
      expect(bySeq(result.existing)).toEqual(originals);
      expect((await ctx.store.loadConversation(id('c')))?.lastSeq).toBe(3);
    });

    it('a clientMsgId is unique per sender and conversation only', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      await create(id('d'), [id('alice')]);
      const a = message(id('c'), 1, id('alice'), { clientMsgId: 'same' });
      const b = message(id('c'), 2, id('bob'), { clientMsgId: 'same' });
      const other = message(id('d'), 1, id('alice'), { clientMsgId: 'same' });
      expect(await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [a] })).toEqual({ kind: 'appended' });
      expect(await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 1, messages: [b] })).toEqual({ kind: 'appended' });
      expect(await ctx.store.appendMessages({ conversationId: id('d'), epoch: 1, expectedLastSeq: 0, messages: [other] })).toEqual({ kind: 'appended' });
      expect(await readAll(id('c'))).toEqual([a, b]);
      expect(await readAll(id('d'))).toEqual([other]);
    });
  });

  describe('findByClientMsgIds', () => {
    it('returns the stored messages matching any key, in this conversation only', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      await create(id('d'), [id('alice')]);
      const [m1, m2, m3] = await append(id('c'), 0, [id('alice'), id('bob'), id('alice')]);
      const [d1] = await append(id('d'), 0, [id('alice')]);
      if (!m1 || !m2 || !m3 || !d1) throw new Error('unreachable');

      const found = await ctx.store.findByClientMsgIds(id('c'), [
        { senderId: id('alice'), clientMsgId: m3.clientMsgId },
        { senderId: id('bob'), clientMsgId: m2.clientMsgId },
        { senderId: id('alice'), clientMsgId: 'never-sent' },
        // m2's clientMsgId from the wrong sender matches nothing.
        { senderId: id('alice'), clientMsgId: m2.clientMsgId },
      ]);
      expect(bySeq(found)).toEqual([m2, m3]);
      expect(await ctx.store.findByClientMsgIds(id('c'), [])).toEqual([]);
      // d1 has m1's key in another conversation: only this conversation's message comes back.
      expect(d1.clientMsgId).toBe(m1.clientMsgId);
      expect(await ctx.store.findByClientMsgIds(id('c'), [{ senderId: id('alice'), clientMsgId: d1.clientMsgId }])).toEqual([m1]);
      expect(await ctx.store.findByClientMsgIds(id('d'), [{ senderId: id('alice'), clientMsgId: m1.clientMsgId }])).toEqual([d1]);
      expect(await ctx.store.findByClientMsgIds(id('ghost'), [{ senderId: id('alice'), clientMsgId: m1.clientMsgId }])).toEqual([]);
    });
  });

  describe('readMessages', () => {
    it('reads forward and backward with every combination of bounds and limits', async () => {
      await create(id('c'), [id('alice')]);
      await append(id('c'), 0, Array.from({ length: 10 }, () => id('alice')));
      const cases: { after?: number; before?: number; limit: number; direction: 'forward' | 'backward'; seqs: number[] }[] = [
        { limit: 3, direction: 'forward', seqs: [1, 2, 3] },
        { limit: 3, direction: 'backward', seqs: [8, 9, 10] },
        { limit: 50, direction: 'forward', seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
        { limit: 50, direction: 'backward', seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
        { after: 4, limit: 3, direction: 'forward', seqs: [5, 6, 7] },
        { after: 4, limit: 3, direction: 'backward', seqs: [8, 9, 10] },
        { after: 8, limit: 5, direction: 'forward', seqs: [9, 10] },
        { before: 5, limit: 10, direction: 'forward', seqs: [1, 2, 3, 4] },
        { before: 5, limit: 2, direction: 'forward', seqs: [1, 2] },
        { before: 5, limit: 2, direction: 'backward', seqs: [3, 4] },
        { after: 2, before: 6, limit: 10, direction: 'forward', seqs: [3, 4, 5] },
        { after: 2, before: 6, limit: 10, direction: 'backward', seqs: [3, 4, 5] },
        { after: 2, before: 6, limit: 2, direction: 'forward', seqs: [3, 4] },
        { after: 2, before: 6, limit: 2, direction: 'backward', seqs: [4, 5] },
        { after: 0, limit: 1, direction: 'forward', seqs: [1] },
        { before: 11, limit: 1, direction: 'backward', seqs: [10] },
        { after: 10, limit: 5, direction: 'forward', seqs: [] },
        { before: 1, limit: 5, direction: 'backward', seqs: [] },
        { after: 5, before: 6, limit: 5, direction: 'forward', seqs: [] },
        { after: 6, before: 5, limit: 5, direction: 'backward', seqs: [] },
      ];
      for (const { seqs, ...query } of cases) {
        const got = await ctx.store.readMessages(id('c'), query);
        expect(got.map((m) => m.seq), JSON.stringify(query)).toEqual(seqs);
      }
    });

    it('returns nothing for an unknown conversation', async () => {
      expect(await ctx.store.readMessages(id('ghost'), { limit: 10, direction: 'forward' })).toEqual([]);
      expect(await ctx.store.readMessages(id('ghost'), { limit: 10, direction: 'backward' })).toEqual([]);
    });
  });
}
