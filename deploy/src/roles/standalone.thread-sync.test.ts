import { describe, expect, it } from 'vitest';
import type { MessageJson } from '@chat/proto';
import { ChatClient } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

// Thread counters and sync (docs/protocol.md, "Threads" and "sync"): a client
// that was offline while thread replies arrived learns its roots' counters
// from sync's `updated`, without reading the threads, through a real
// standalone server over WebSocket.

describe('standalone: thread roots in sync’s updated', () => {
  const { system, login, track } = useStandalone();

  it('a client offline while thread replies arrived gets the root’s new counters from sync’s `updated`', async () => {
    const carol = await login('ext carol');
    const dan = await login('ext dan');
    const { conversation } = await carol.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'sync', members: [dan.user.id] });
    const id = conversation.id;
    await carol.call('message.send', { conversationId: id, clientMsgId: 'root', body: 'start a thread here' });
    await dan.call('message.send', { conversationId: id, clientMsgId: 'd0', body: 'before the replies', threadRoot: 1 });
    // carol's marks, as a client keeps them after a sync.
    type SyncReply = { conversations: { id: string; lastSeq: number; changeSeq: number }[]; messages: Record<string, MessageJson[]>; updated: Record<string, MessageJson[]> };
    const first = await carol.call<SyncReply>('sync', { since: {} });
    const marks = first.conversations.find((c) => c.id === id)!;
    expect(marks.lastSeq).toBe(2);
    expect(first.messages[id]?.[0]).toMatchObject({ seq: 1, threadReplies: 1 });
    await carol.close();

    const r1 = await dan.call<{ message: MessageJson }>('message.send', { conversationId: id, clientMsgId: 'd1', body: 'reply one', threadRoot: 1 });
    const r2 = await dan.call<{ message: MessageJson }>('message.send', { conversationId: id, clientMsgId: 'd2', body: 'reply two', threadRoot: 1 });
    await dan.call('message.send', { conversationId: id, clientMsgId: 'd3', body: 'not in the thread' });

    const back = track(await ChatClient.connect(system().baseUrl, carol.token));
    const sync = await back.call<SyncReply>('sync', { since: { [id]: marks.lastSeq }, changesSince: { [id]: marks.changeSeq } });
    expect(sync.conversations.find((c) => c.id === id)?.changeSeq).toBeGreaterThan(marks.changeSeq);
    expect(sync.messages[id]?.map((m) => m.seq)).toEqual([3, 4, 5]);
    // The root, at or before carol's mark, comes in `updated` with what the thread is now: no thread read needed.
    expect(sync.updated[id]).toEqual([expect.objectContaining({ seq: 1, body: 'start a thread here', threadReplies: 3, threadLastAt: r2.message.createdAt })]);
    expect(r2.message.createdAt).toBeGreaterThanOrEqual(r1.message.createdAt);
    // Nothing more since: the same sync from the new marks brings no root again.
    const now = sync.conversations.find((c) => c.id === id)!;
    const quiet = await back.call<SyncReply>('sync', { since: { [id]: now.lastSeq }, changesSince: { [id]: now.changeSeq } });
    expect(quiet.updated[id]).toBeUndefined();
  });

  it('a root still streaming keeps its thread counters for sync when its growing body is persisted', async () => {
    const eve = await login('ext eve');
    const fay = await login('ext fay');
    const { conversation } = await eve.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'stream', members: [fay.user.id] });
    const id = conversation.id;
    await eve.call('message.send', { conversationId: id, clientMsgId: 's', body: 'thinking', streaming: true });
    type SyncReply = { conversations: { id: string; lastSeq: number; changeSeq: number }[]; updated: Record<string, MessageJson[]> };
    const marks = (await fay.call<SyncReply>('sync', { since: {} })).conversations.find((c) => c.id === id)!;
    await fay.close();

    await eve.call('message.send', { conversationId: id, clientMsgId: 'r', body: 'a reply while it streams', threadRoot: 1 });
    // Past the persist interval (500 ms by default), the next append persists the growing body.
    await new Promise((r) => setTimeout(r, 700));
    await eve.call('message.stream', { conversationId: id, seq: 1, offset: 8, text: ' more' });

    const back = track(await ChatClient.connect(system().baseUrl, fay.token));
    const sync = await back.call<SyncReply>('sync', { since: { [id]: marks.lastSeq }, changesSince: { [id]: marks.changeSeq } });
    expect(sync.updated[id]).toEqual([expect.objectContaining({ seq: 1, streaming: true, threadReplies: 1 })]);
    await eve.call('message.stream', { conversationId: id, seq: 1, offset: 13, text: '.', end: true });
  });
});
