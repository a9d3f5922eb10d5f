import { describe, expect, it } from 'vitest';
import type { PendingSend } from '../state/chat-state.js';
import { ChatState } from '../state/chat-state.js';
import { MemoryStore } from './memory-store.js';
import type { OfflineStore } from './offline-store.js';
import { Outbox } from './outbox.js';

function send(clientMsgId: string, createdAt: number, conversationId = 'c1'): Omit<PendingSend, 'status'> {
  return { clientMsgId, conversationId, body: `body ${clientMsgId}`, attachments: [], createdAt };
}

/** A store whose writes finish in an order the test chooses, logging each as it lands. */
class SlowStore extends MemoryStore {
  readonly landed: string[] = [];
  readonly #gates: (() => void)[] = [];
  override async putSend(s: PendingSend): Promise<void> {
    await new Promise<void>((r) => this.#gates.push(r));
    this.landed.push(`put ${s.clientMsgId} ${s.status}`);
    return super.putSend(s);
  }
  override async deleteSend(id: string): Promise<void> {
    await new Promise<void>((r) => this.#gates.push(r));
    this.landed.push(`delete ${id}`);
    return super.deleteSend(id);
  }
  /** Lets every waiting write finish, newest first (the worst order for a store that does not serialize). */
  releaseAll(): void {
    for (const open of this.#gates.splice(0).reverse()) open();
  }
  get waiting(): number {
    return this.#gates.length;
  }
}

/** The state's pending sends mirrored into `store` on every change, as ChatClient wires it. */
function mirrored(store: OfflineStore) {
  const state = new ChatState(() => 0);
  const outbox = new Outbox(store);
  state.subscribe(() => void outbox.mirror(state.pendingSends()));
  return { state, outbox };
}

describe('Outbox', () => {
  it('keeps a send as soon as it is pending, and forgets it on its ack; a duplicate ack changes nothing', async () => {
    const store = new MemoryStore();
    const { state, outbox } = mirrored(store);
    state.addPending(send('a', 1));
    await outbox.written();
    expect(await store.outbox()).toEqual([{ ...send('a', 1), status: 'sending' }]);
    const message = { conversationId: 'c1', seq: 1, senderId: 'me', clientMsgId: 'a', body: 'body a', attachments: [], reactions: {}, createdAt: 2 };
    state.confirmSend('a', message as never);
    await outbox.written();
    expect(await store.outbox()).toEqual([]);
    state.confirmSend('a', message as never);
    await outbox.written();
    expect(await store.outbox()).toEqual([]);
  });

  it('keeps a failed send as failed with its error, sending again after a retry, and forgets a discarded one', async () => {
    const store = new MemoryStore();
    const { state, outbox } = mirrored(store);
    state.addPending(send('a', 1));
    state.failSend('a', 'too long');
    await outbox.written();
    expect(await store.outbox()).toMatchObject([{ clientMsgId: 'a', status: 'failed', error: 'too long' }]);
    state.retrySend('a');
    await outbox.written();
    const [kept] = await store.outbox();
    expect(kept).toMatchObject({ status: 'sending' });
    expect(kept).not.toHaveProperty('error');
    state.discardSend('a');
    await outbox.written();
    expect(await store.outbox()).toEqual([]);
  });

  it('restores the kept sends oldest first, and leaves in the store what this tab never knew about', async () => {
    const store = new MemoryStore();
    for (const [id, at] of [['late', 30], ['early', 10], ['middle', 20]] as const) await store.putSend({ ...send(id, at), status: 'sending' });
    const outbox = new Outbox(store);
    expect((await outbox.restore()).map((s) => s.clientMsgId)).toEqual(['early', 'middle', 'late']);

    // Another tab's send, written after this one restored: this one's mirror does not delete it.
    await store.putSend({ ...send('other-tab', 40), status: 'sending' });
    await outbox.mirror([{ ...send('early', 10), status: 'sending' }, { ...send('middle', 20), status: 'sending' }]);
    expect((await store.outbox()).map((s) => s.clientMsgId).sort()).toEqual(['early', 'middle', 'other-tab']);
  });

  it('writes one at a time in the order asked: a slow put is never overtaken by the delete of the same send', async () => {
    const store = new SlowStore();
    const { state, outbox } = mirrored(store);
    state.addPending(send('a', 1));
    state.addPending(send('b', 2));
    state.discardSend('a');
    const done = outbox.written();
    // Only the first write is under way; the rest wait for it.
    for (let i = 0; i < 10 && store.waiting === 0; i++) await Promise.resolve();
    expect(store.waiting).toBe(1);
    while (store.landed.length < 3) {
      store.releaseAll();
      await new Promise((r) => setTimeout(r, 0));
    }
    await done;
    expect(store.landed).toEqual(['put a sending', 'put b sending', 'delete a']);
    expect((await store.outbox()).map((s) => s.clientMsgId)).toEqual(['b']);
  });

  it('a store that fails reports it and the outbox carries on', async () => {
    const errors: unknown[] = [];
    const store = new MemoryStore();
    store.putSend = () => Promise.reject(new Error('quota exceeded'));
    const outbox = new Outbox(store, (e) => errors.push(e));
    await outbox.mirror([{ ...send('a', 1), status: 'sending' }]);
    expect(errors).toEqual([new Error('quota exceeded')]);
    await expect(outbox.mirror([])).resolves.toBeUndefined();
  });
});
