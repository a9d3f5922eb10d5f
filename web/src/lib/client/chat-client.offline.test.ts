import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import type { SocketLike } from '@chat/client';
import { MemoryStore } from '../offline/memory-store.js';
import type { OfflineStore } from '../offline/offline-store.js';
import { ChatClient } from './chat-client.js';
import { devConnection, until } from './test-connection.js';

/**
 * The outbox through ChatClient against a real standalone system: sends made
 * with no network are kept in the offline store before anything goes out,
 * outlive the client (a reload: a new client over the same store) and are
 * delivered once, in order, when the network returns. The real IndexedDB
 * store is exercised by the browser test (deploy/src/web/web-client.offline.browser.test.ts).
 */
const sys = useStandalone();

/** A signed-in client over `store`; `network.up = false` refuses its connection attempts, as a browser offline does. */
async function signIn(name: string, store?: OfflineStore, network = { up: true }) {
  const { connection, user } = await devConnection(sys.system().baseUrl, name, {
    backoff: { baseMs: 100, maxMs: 200 },
    socket: (url) => {
      if (!network.up) throw new Error('offline');
      return new WebSocket(url) as unknown as SocketLike;
    },
  });
  const client = new ChatClient(connection, { isVisible: () => true, ...(store ? { offline: store } : {}) });
  client.start();
  return { client, user, network };
}

describe('ChatClient outbox over a real standalone system', () => {
  it('sends typed offline are kept, survive a new client over the same store, and arrive once, in order, when the network returns', async () => {
    const store = new MemoryStore();
    const bob = await signIn('Outbox Bob');
    const first = await signIn('Outbox Ann', store);
    await until(() => first.client.connection.online && bob.client.connection.online, 'both online');
    await first.client.ready;
    const dm = await first.client.openDm(bob.user.id);
    await until(() => bob.client.state.conversation(dm.id) !== undefined, 'bob to see the dm');
    // Saved within a second of the change.
    await until(async () => (await store.snapshot())?.conversations.some((c) => c.id === dm.id) === true, 'the snapshot to hold the dm');

    // The network goes: the socket drops and reconnecting fails.
    first.network.up = false;
    first.client.connection.stop();
    expect(first.client.connection.online).toBe(false);
    const ids = ['one', 'two', 'three'].map((body) => first.client.send(dm.id, body));
    await until(async () => (await store.outbox()).length === 3, 'the sends to be kept');
    expect((await store.outbox()).map((p) => [p.clientMsgId, p.body, p.status]).sort()).toEqual(
      ids.map((id, i) => [id, ['one', 'two', 'three'][i], 'sending']).sort(),
    );
    // The page goes away (a reload) with the sends unacknowledged.
    first.client.stop();
    expect((await store.outbox()).length).toBe(3);

    // Reloaded, still offline: the kept sends show as pending before any network.
    const network = { up: false };
    const second = await signIn('Outbox Ann', store, network);
    try {
      await until(() => second.client.state.pendingSends().length === 3, 'the kept sends to show');
      expect(second.client.state.pendingIn(dm.id).map((p) => [p.body, p.status])).toEqual([['one', 'sending'], ['two', 'sending'], ['three', 'sending']]);
      // The snapshot was saved by the first client (conversation list and names) and shows too.
      await until(() => second.client.state.conversation(dm.id) !== undefined, 'the kept conversation to show');

      network.up = true;
      second.client.connection.retryNow();
      await until(() => second.client.state.pendingSends().length === 0, 'the sends to be acknowledged');
      await until(async () => (await store.outbox()).length === 0, 'the outbox to empty');
      await until(() => bob.client.state.log(dm.id).size === 3, 'bob to get the three');
      const { messages } = await bob.client.connection.request('message.history', { conversationId: dm.id, limit: 50 });
      expect(messages.map((m) => [m.body, m.clientMsgId])).toEqual(ids.map((id, i) => [['one', 'two', 'three'][i], id]));
    } finally {
      second.client.stop();
      bob.client.stop();
    }
  });

  it('an offline start shows the kept conversations, and drops one the user was removed from meanwhile once online', async () => {
    const store = new MemoryStore();
    const owner = await signIn('Left Owner');
    const first = await signIn('Left Member', store);
    await until(() => owner.client.connection.online && first.client.connection.online, 'both online');
    const kept = await owner.client.createGroup('Kept', [first.user.id]);
    const gone = await owner.client.createGroup('Gone', [first.user.id]);
    await until(async () => (await store.snapshot())?.conversations.length === 2, 'the snapshot to hold both groups');
    first.client.stop();
    await owner.client.removeMember(gone.id, first.user.id);

    const network = { up: false };
    const again = await signIn('Left Member', store, network);
    try {
      await until(() => again.client.state.conversations().length === 2, 'both groups to show offline');
      network.up = true;
      again.client.connection.retryNow();
      await until(() => again.client.connection.online, 'online');
      await again.client.ready;
      expect(again.client.state.conversations().map((c) => c.id)).toEqual([kept.id]);
      await until(async () => (await store.snapshot())?.conversations.length === 1, 'the snapshot to forget it');
    } finally {
      again.client.stop();
      owner.client.stop();
    }
  });

  it('a kept send whose ack was lost is not sent twice; one the server refuses stays kept as failed', async () => {
    const store = new MemoryStore();
    const bob = await signIn('Lost Ack Bob');
    const ann = await signIn('Lost Ack Ann');
    await until(() => ann.client.connection.online && bob.client.connection.online, 'both online');
    const dm = await ann.client.openDm(bob.user.id);
    // Delivered, but the outbox never heard the ack (the page closed first).
    await ann.client.connection.request('message.send', { conversationId: dm.id, clientMsgId: 'lost-ack', body: 'already there' });
    ann.client.stop();
    await store.putSend({ clientMsgId: 'lost-ack', conversationId: dm.id, body: 'already there', attachments: [], createdAt: 1, status: 'sending' });
    await store.putSend({ clientMsgId: 'refused', conversationId: 'd_no-such-conversation', body: 'nowhere', attachments: [], createdAt: 2, status: 'sending' });

    const again = await signIn('Lost Ack Ann', store);
    try {
      await until(async () => (await store.outbox()).every((p) => p.clientMsgId !== 'lost-ack'), 'the acknowledged send to leave the outbox');
      await until(() => again.client.state.pending('refused')?.status === 'failed', 'the refused send to fail');
      await until(async () => (await store.outbox()).some((p) => p.clientMsgId === 'refused' && p.status === 'failed'), 'the failure to be kept');
      const { messages } = await bob.client.connection.request('message.history', { conversationId: dm.id, limit: 50 });
      expect(messages.map((m) => m.body)).toEqual(['already there']);
      // Discarding it empties the outbox.
      again.client.state.discardSend('refused');
      await until(async () => (await store.outbox()).length === 0, 'the discarded send to leave the outbox');
    } finally {
      again.client.stop();
      bob.client.stop();
    }
  });
});
