import { describe, expect, it } from 'vitest';
import { ChatClient } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

interface Conv {
  id: string;
  kind: string;
  title: string | null;
  members: { userId: string; role: string }[];
  lastSeq: number;
}
interface Msg {
  conversationId: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  body: string;
}

describe('standalone: core messaging over real sockets', () => {
  const { system, login, track } = useStandalone();

  it('greets every session with hello and answers ping', async () => {
    const alice = await login('Alice');
    expect(alice.hello).toMatchObject({ ev: 'hello', user: { id: 'alice', name: 'Alice' }, heartbeatMs: expect.any(Number) });
    expect(typeof alice.hello.sessionId).toBe('string');
    const pong = await alice.call<{ serverTime: number }>('ping');
    expect(Math.abs(pong.serverTime - Date.now())).toBeLessThan(60_000);
  });

  it('two users chat in a DM, and both sides get every message.new', async () => {
    const ann = await login('Ann');
    const bob = await login('Bob');
    const { conversation } = await ann.call<{ conversation: Conv }>('conversation.open_dm', { userId: 'bob' });
    expect(conversation).toMatchObject({ kind: 'dm', title: null, lastSeq: 0 });
    expect(conversation.members.map((m) => m.userId).sort()).toEqual(['ann', 'bob']);
    // The same pair always gets the same conversation, whoever opens it.
    const again = await bob.call<{ conversation: Conv }>('conversation.open_dm', { userId: 'ann' });
    expect(again.conversation.id).toBe(conversation.id);
    await bob.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as Conv).id === conversation.id);

    const sent = await ann.call<{ message: Msg; duplicate: boolean }>('message.send', {
      conversationId: conversation.id,
      clientMsgId: 'c1',
      body: 'hi Bob',
    });
    expect(sent).toMatchObject({ ok: true, duplicate: false, message: { seq: 1, senderId: 'ann', body: 'hi Bob', deleted: false, editedAt: null } });
    const reply = await bob.call<{ message: Msg }>('message.send', { conversationId: conversation.id, clientMsgId: 'c1', body: 'hi Ann' });
    expect(reply.message.seq).toBe(2);

    for (const c of [ann, bob]) {
      await c.waitForEvents((e) => e.ev === 'message.new' && (e.message as Msg).conversationId === conversation.id, 2);
      expect(c.messagesIn(conversation.id).map((m) => [m.seq, m.senderId, m.body])).toEqual([
        [1, 'ann', 'hi Bob'],
        [2, 'bob', 'hi Ann'],
      ]);
    }
  });

  it('in a group of three where one user has two sessions, every member session gets message.new', async () => {
    const carl = await login('Carl');
    const dana1 = await login('Dana');
    const dana2 = await ChatClient.connect(system().baseUrl, (dana1 as unknown as { token: string }).token);
    track(dana2);
    const eve = await login('Eve');
    const outsider = await login('Oscar');

    const { conversation } = await carl.call<{ conversation: Conv }>('conversation.create_group', { title: 'Trip', members: ['dana', 'eve'] });
    expect(conversation).toMatchObject({ kind: 'group', title: 'Trip' });
    expect(conversation.members).toEqual(
      expect.arrayContaining([
        { userId: 'carl', role: 'owner', readSeq: 0, deliveredSeq: 0 },
        { userId: 'dana', role: 'member', readSeq: 0, deliveredSeq: 0 },
        { userId: 'eve', role: 'member', readSeq: 0, deliveredSeq: 0 },
      ]),
    );
    for (const c of [carl, dana1, dana2, eve]) {
      await c.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as Conv).id === conversation.id);
    }

    await dana2.call('message.send', { conversationId: conversation.id, clientMsgId: 'x1', body: 'from my phone' });
    for (const c of [carl, dana1, dana2, eve]) {
      const [ev] = await c.waitForEvents((e) => e.ev === 'message.new' && (e.message as Msg).conversationId === conversation.id, 1);
      expect(ev!.message).toMatchObject({ seq: 1, senderId: 'dana', body: 'from my phone' });
    }
    // Nobody else hears of it.
    await carl.call('ping');
    expect(outsider.events.filter((e) => e.ev !== 'hello')).toEqual([]);
  });

  it('3 sessions pipelining 100 sends each get seqs 1..300, each in send order, seen in order by every receiver', async () => {
    const senders = await Promise.all(['P1', 'P2', 'P3'].map((n) => login(n)));
    const watcher = await login('Watcher');
    const { conversation } = await senders[0]!.call<{ conversation: Conv }>('conversation.create_group', {
      title: 'Pipeline',
      members: ['p2', 'p3', 'watcher'],
    });
    await watcher.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as Conv).id === conversation.id);

    // Fire every send without waiting for any reply.
    const acks = senders.map((s, si) =>
      Array.from({ length: 100 }, (_, i) =>
        s.request('message.send', { conversationId: conversation.id, clientMsgId: `s${si}-${i}`, body: `${si}:${i}` }),
      ),
    );
    const replies = await Promise.all(acks.map((list) => Promise.all(list)));
    const allSeqs: number[] = [];
    for (const list of replies) {
      const seqs = list.map((r) => {
        expect(r.ok).toBe(true);
        return (r.message as Msg).seq;
      });
      // Each session's sends are sequenced in the order it sent them.
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      allSeqs.push(...seqs);
    }
    expect(allSeqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));

    for (const receiver of [...senders, watcher]) {
      await receiver.waitForEvents((e) => e.ev === 'message.new' && (e.message as Msg).conversationId === conversation.id, 300, 10_000);
      expect(receiver.messagesIn(conversation.id).map((m) => m.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    }

    // Group commit: queued sends shared store writes, so there were fewer writes than messages.
    const metrics = await (await fetch(`${system().baseUrl}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    const writes = metric('chat_actor_commit_batch_size_count');
    const committed = metric('chat_actor_commit_batch_size_sum');
    expect(committed).toBeGreaterThanOrEqual(300);
    expect(writes).toBeLessThan(committed);
  });

  it('finds users by name prefix and lists conversations most recent first', async () => {
    const finder = await login('Finder');
    await login('Zed Alpha');
    await login('Zed Beta');
    const found = await finder.call<{ users: { id: string; name: string }[] }>('user.search', { prefix: 'zed' });
    expect(found.users).toEqual([
      { id: 'zed-alpha', name: 'Zed Alpha' },
      { id: 'zed-beta', name: 'Zed Beta' },
    ]);

    const a = (await finder.call<{ conversation: Conv }>('conversation.open_dm', { userId: 'zed-alpha' })).conversation;
    const b = (await finder.call<{ conversation: Conv }>('conversation.open_dm', { userId: 'zed-beta' })).conversation;
    await new Promise((r) => setTimeout(r, 5));
    await finder.call('message.send', { conversationId: a.id, clientMsgId: 'l1', body: 'newest activity' });
    const first = await finder.call<{ conversations: (Conv & { lastMessage: Msg | null; unread: number })[]; next: string | null }>(
      'conversation.list',
      { limit: 1 },
    );
    expect(first.conversations.map((c) => c.id)).toEqual([a.id]);
    expect(first.conversations[0]!.lastMessage).toMatchObject({ seq: 1, body: 'newest activity' });
    expect(first.next).not.toBeNull();
    const second = await finder.call<{ conversations: Conv[]; next: string | null }>('conversation.list', { limit: 1, before: first.next });
    expect(second.conversations.map((c) => c.id)).toEqual([b.id]);
    expect(second.next).toBeNull();

    const got = await finder.call<{ conversation: Conv & { lastSeq: number } }>('conversation.get', { conversationId: a.id });
    expect(got.conversation).toMatchObject({ id: a.id, lastSeq: 1 });
  });
});
