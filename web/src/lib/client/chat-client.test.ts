import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import type { SocketLike } from '@chat/client';
import { ChatClient } from './chat-client.js';
import { devConnection, until } from './test-connection.js';

/**
 * The browser client's protocol and state code against a real standalone
 * system over real sockets (the `ws` package stands in for the browser's
 * WebSocket, which Node 20 lacks).
 */
// Seeding sends hundreds of messages from one user at once: the default rate
// limit (a burst of 200 per user, shared with the client's own sync and list
// requests) would refuse some, depending on how fast the machine runs.
const sys = useStandalone({ RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000' });

async function signIn(name: string) {
  const sockets: WebSocket[] = [];
  const { connection, user } = await devConnection(sys.system().baseUrl, name, {
    backoff: { baseMs: 200, maxMs: 400 },
    socket: (url) => {
      const ws = new WebSocket(url);
      sockets.push(ws);
      return ws as unknown as SocketLike;
    },
  });
  const client = new ChatClient(connection, { isVisible: () => true });
  client.start();
  await until(() => connection.online, `${name} online`);
  await client.ready;
  return { client, user, sockets, stop: () => client.stop() };
}

describe('ChatClient over a real standalone system', () => {
  it('creates a group, sends with pending → confirmed, and the peer sees it with receipts', async () => {
    const alice = await signIn('Web Alice');
    const bob = await signIn('Web Bob');
    try {
      const found = await alice.client.searchUsers('web b');
      expect(found.map((u) => u.id)).toContain(bob.user.id);
      const group = await alice.client.createGroup('Web team', [bob.user.id]);
      await until(() => bob.client.state.conversation(group.id) !== undefined, 'bob to see the group');

      const clientMsgId = alice.client.send(group.id, 'hello from the web');
      expect(alice.client.state.pending(clientMsgId)?.status).toBe('sending');
      await until(() => alice.client.state.pending(clientMsgId) === undefined, 'the send to be confirmed');
      expect(alice.client.state.log(group.id).messages().map((m) => [m.seq, m.body])).toEqual([[1, 'hello from the web']]);

      await until(() => bob.client.state.log(group.id).size === 1, 'bob to get the message');
      expect(bob.client.state.conversation(group.id)?.unread).toBe(1);
      await bob.client.open(group.id);
      expect(bob.client.state.conversation(group.id)?.unread).toBe(0);
      await until(() => alice.client.state.seenBy(group.id, 1).includes(bob.user.id), 'alice to see bob read it');
    } finally {
      alice.stop();
      bob.stop();
    }
  });

  it('after a dropped socket: reconnects, syncs what it missed (new and edited) and resends unconfirmed sends once', async () => {
    const alice = await signIn('Sync Alice');
    const bob = await signIn('Sync Bob');
    try {
      const dm = await alice.client.openDm(bob.user.id);
      await until(() => bob.client.state.conversation(dm.id) !== undefined, 'bob to see the dm');
      bob.client.send(dm.id, 'one');
      await until(() => alice.client.state.log(dm.id).size === 1, 'alice to get "one"');

      // Alice's socket dies; while she is away Bob writes and edits, and Alice writes offline.
      alice.sockets.at(-1)!.terminate();
      await until(() => !alice.client.connection.online, 'alice offline');
      const sent = alice.client.send(dm.id, 'written offline');
      const one = bob.client.state.log(dm.id).get(1)!;
      await bob.client.edit(one, 'one (edited)');
      bob.client.send(dm.id, 'two');
      await until(() => bob.client.state.sendsToRetry().length === 0, 'bob sends confirmed');

      await until(() => alice.client.connection.online, 'alice back online');
      await alice.client.ready;
      await until(() => alice.client.state.pending(sent) === undefined, 'the offline send to be confirmed');
      const bodies = alice.client.state.log(dm.id).messages().map((m) => m.body);
      expect(bodies).toEqual(expect.arrayContaining(['one (edited)', 'two', 'written offline']));
      expect(bodies).toHaveLength(3);
      await until(() => bob.client.state.log(dm.id).size === 3, 'bob to get the offline message exactly once');
    } finally {
      alice.stop();
      bob.stop();
    }
  });

  it('searches messages, and reveal loads older pages until the hit is held, the log staying one run', async () => {
    const ann = await signIn('Reveal Ann');
    const cat = await signIn('Reveal Cat');
    const first = await signIn('Reveal Bob');
    first.stop();
    let bob: Awaited<ReturnType<typeof signIn>> | undefined;
    try {
      const group = await ann.client.createGroup('Reveal', [cat.user.id, first.user.id]);
      await until(() => cat.client.state.conversation(group.id) !== undefined, 'cat to see the group');
      const send = (from: typeof ann, n: number, body: string) =>
        from.client.connection.request('message.send', { conversationId: group.id, clientMsgId: `r${n}`, body });
      await send(ann, 0, 'the kumquat is ripe');
      // 301 messages, more than a sync (200) holds.
      for (const from of [ann, cat]) await Promise.all(Array.from({ length: 150 }, (_, i) => send(from, i + 1, `later ${i + 1}`)));

      // A fresh client: sync gives it the newest 200, so the hit (seq 1) is not held yet.
      bob = await signIn('Reveal Bob');
      await until(() => bob!.client.state.conversation(group.id)?.lastSeq === 301, 'bob to see every message');
      const log = () => bob!.client.state.log(group.id);
      expect(log().size === 0 || log().low > 1).toBe(true);

      const page = await bob.client.searchMessages('kumq');
      expect(page.hits.map((h) => [h.message.seq, h.snippet, h.highlights])).toEqual([[1, 'the kumquat is ripe', [{ start: 4, end: 11 }]]]);
      expect(page.next).toBeNull();

      expect(await bob.client.reveal(group.id, 1)).toBe(true);
      expect(log().messages().map((m) => m.seq)).toEqual(Array.from({ length: 301 }, (_, i) => i + 1));
      // Held already: nothing more to load. Beyond the end: nothing to load either, and no such message.
      expect(await bob.client.reveal(group.id, 100)).toBe(true);
      expect(await bob.client.reveal(group.id, 9999)).toBe(false);
      expect(log().size).toBe(301);
    } finally {
      ann.stop();
      cat.stop();
      bob?.stop();
    }
  });
});
