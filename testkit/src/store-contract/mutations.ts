import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import { ConflictError, NotFoundError, StaleEpochError } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { T0, message, rejection } from './fixtures.js';

/** The contract of updateMessage: edits, reactions and deletes of stored messages. */
export function mutationsContract(ctx: ContractContext): void {
  const { append, create, id, readAll } = ctx;

  describe('updateMessage', () => {
    const photo = { name: 'cat.png', mediaType: 'image/png', size: 1234, url: 'https://files.example/cat.png' };

    it('persists an edit: new body and editedAt, the rest unchanged', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const [first, second] = await append(id('c'), 0, [id('alice'), id('bob')]);
      const edited = { ...(first as ChatMessage), body: 'edited ✏️', editedAt: T0 + 99_000 };
      await ctx.store.updateMessage({ epoch: 1, message: edited });
      expect(await readAll(id('c'))).toEqual([edited, second]);
      // Not a new message: the head and its activity time stay.
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ lastSeq: 2, lastActivityAt: second?.createdAt });
    });

    it('keeps a streamed message’s state: streaming while it grows, then finished (truncated or not); ordinary messages have none', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const streamed = message(id('c'), 1, id('alice'), { body: 'Hel', streaming: true });
      const ordinary = message(id('c'), 2, id('bob'));
      await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [streamed, ordinary] });
      expect(await readAll(id('c'))).toEqual([{ ...streamed, truncated: false }, ordinary]);
      const grown = { ...streamed, body: 'Hello, wor' };
      await ctx.store.updateMessage({ epoch: 1, message: grown });
      expect((await readAll(id('c')))[0]).toEqual({ ...grown, truncated: false });
      const finished = { ...grown, streaming: false, truncated: true, changeSeq: 1 };
      await ctx.store.updateMessage({ epoch: 1, message: finished });
      expect(await readAll(id('c'))).toEqual([finished, ordinary]);
      // An edit of an ordinary message leaves it ordinary.
      const edited = { ...ordinary, body: 'edited', editedAt: T0 + 5000, changeSeq: 2 };
      await ctx.store.updateMessage({ epoch: 1, message: edited });
      expect(await readAll(id('c'))).toEqual([finished, edited]);
    });

    it('lists the messages still streaming, where the backend can (listOpenStreams), until each is finished or deleted', async ({ skip }) => {
      const list = ctx.store.listOpenStreams?.bind(ctx.store);
      if (!list) return skip('this backend cannot list open streams (a stream left open by a crash ends when its conversation is next used)');
      await create(id('o'), [id('alice'), id('bob')]);
      const [a, b, plain] = [message(id('o'), 1, id('alice'), { streaming: true }), message(id('o'), 2, id('bob'), { streaming: true }), message(id('o'), 3, id('bob'))];
      await ctx.store.appendMessages({ conversationId: id('o'), epoch: 1, expectedLastSeq: 0, messages: [a, b, plain] });
      // The store may be shared with other tests: only this conversation's entries are looked at.
      const ours = async () => (await list(10_000)).filter((s) => s.conversationId === id('o')).sort((x, y) => x.seq - y.seq);
      expect(await ours()).toEqual([
        { conversationId: id('o'), seq: 1, senderId: id('alice') },
        { conversationId: id('o'), seq: 2, senderId: id('bob') },
      ]);
      await ctx.store.updateMessage({ epoch: 1, message: { ...a, body: 'grown' } });
      expect((await ours()).map((s) => s.seq)).toEqual([1, 2]);
      await ctx.store.updateMessage({ epoch: 1, message: { ...a, body: 'grown', streaming: false, truncated: true, changeSeq: 1 }, endsStream: true });
      await ctx.store.updateMessage({ epoch: 1, message: { ...b, body: '', deleted: true, streaming: false, changeSeq: 2 }, endsStream: true });
      expect(await ours()).toEqual([]);
      expect((await list(1)).length).toBeLessThanOrEqual(1);
    });

    it('persists reactions, and an emoji with no users left is gone', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const [m] = await append(id('c'), 0, [id('alice')]);
      const reacted = { ...(m as ChatMessage), reactions: { '👍': { ids: [id('alice'), id('bob')] }, '👨‍👩‍👧': { ids: [id('bob')] } } };
      await ctx.store.updateMessage({ epoch: 1, message: reacted });
      expect(await readAll(id('c'))).toEqual([reacted]);
      const fewer = { ...(m as ChatMessage), reactions: { '👍': { ids: [id('bob')] } } };
      await ctx.store.updateMessage({ epoch: 1, message: fewer });
      expect(await readAll(id('c'))).toEqual([fewer]);
    });

    it('serves a deleted message with its seq, an empty body, no attachments and no reactions from every read', async () => {
      await create(id('c'), [id('alice'), id('bob')]);
      const m = message(id('c'), 1, id('alice'), { attachments: [photo], reactions: { '👍': { ids: [id('bob')] } } });
      await ctx.store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [m] });
      // Given a body and reactions anyway, the store keeps none of them.
      await ctx.store.updateMessage({ epoch: 1, message: { ...m, deleted: true } });
      const deleted: ChatMessage = { ...m, body: '', attachments: [], reactions: {}, deleted: true };
      expect(await readAll(id('c'))).toEqual([deleted]);
      expect(await ctx.store.readMessages(id('c'), { limit: 1, direction: 'backward' })).toEqual([deleted]);
      expect(await ctx.store.findByClientMsgIds(id('c'), [{ senderId: id('alice'), clientMsgId: m.clientMsgId }])).toEqual([deleted]);
      const [view] = await ctx.store.getConversationViews(id('bob'), [id('c')]);
      expect(view?.lastMessage).toEqual(deleted);
      const page = await ctx.store.listUserConversations(id('bob'), { limit: 10 });
      expect(page.conversations[0]?.lastMessage).toEqual(deleted);
      // Deleting again is harmless; undeleting is refused and writes nothing.
      await ctx.store.updateMessage({ epoch: 1, message: deleted });
      expect(await rejection(ctx.store.updateMessage({ epoch: 1, message: m }))).toBeInstanceOf(ConflictError);
      expect(await readAll(id('c'))).toEqual([deleted]);
    });

    it('refuses an unknown seq or conversation with NotFoundError, writing nothing', async () => {
      await create(id('c'), [id('alice')]);
      const [m] = await append(id('c'), 0, [id('alice')]);
      expect(await rejection(ctx.store.updateMessage({ epoch: 1, message: message(id('c'), 2, id('alice')) }))).toBeInstanceOf(NotFoundError);
      expect(await rejection(ctx.store.updateMessage({ epoch: 1, message: message(id('ghost'), 1, id('alice')) }))).toBeInstanceOf(NotFoundError);
      expect(await readAll(id('c'))).toEqual([m]);
      expect(await ctx.store.loadConversation(id('ghost'))).toBeNull();
    });

    it('fences by epoch: a lower epoch is refused, a higher one is recorded and fences appends of the old', async () => {
      await create(id('c'), [id('alice')], { epoch: 5 });
      const [m] = await append(id('c'), 0, [id('alice')], { epoch: 5 });
      const original = m as ChatMessage;

      const low = await rejection(ctx.store.updateMessage({ epoch: 4, message: { ...original, body: 'stale' } }));
      expect(low).toBeInstanceOf(StaleEpochError);
      expect(low).toMatchObject({ conversationId: id('c'), epoch: 4, recordedEpoch: 5 });
      expect(await readAll(id('c'))).toEqual([original]);

      const edited = { ...original, body: 'by the new owner', editedAt: T0 + 1 };
      await ctx.store.updateMessage({ epoch: 8, message: edited });
      expect(await ctx.store.loadConversation(id('c'))).toMatchObject({ lastSeq: 1, epoch: 8 });
      const fenced = await rejection(
        ctx.store.appendMessages({ conversationId: id('c'), epoch: 5, expectedLastSeq: 1, messages: [message(id('c'), 2, id('alice'))] }),
      );
      expect(fenced).toBeInstanceOf(StaleEpochError);
      expect(await rejection(ctx.store.updateMessage({ epoch: 5, message: { ...original, deleted: true } }))).toBeInstanceOf(StaleEpochError);
      expect(await readAll(id('c'))).toEqual([edited]);
    });

    it('keeps updates across close and reopen', async ({ skip }) => {
      if (!ctx.canReopen) {
        skip('this backend has no reopen');
        return;
      }
      await create(id('c'), [id('alice'), id('bob')]);
      const [a, b] = await append(id('c'), 0, [id('alice'), id('bob')]);
      const edited = { ...(a as ChatMessage), body: 'after', editedAt: T0 + 7, reactions: { '🎉': { ids: [id('bob')] } } };
      const deleted: ChatMessage = { ...(b as ChatMessage), body: '', deleted: true };
      await ctx.store.updateMessage({ epoch: 1, message: edited });
      await ctx.store.updateMessage({ epoch: 1, message: deleted });
      await ctx.store.close();
      await ctx.reopen();
      expect(await readAll(id('c'))).toEqual([edited, deleted]);
    });
  });
}
