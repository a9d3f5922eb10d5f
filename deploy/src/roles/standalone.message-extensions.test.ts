import { describe, expect, it } from 'vitest';
import type { ChatMessage, Conversation, MessageJson } from '@chat/proto';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { useGrpcClients } from '@chat/testkit/grpc-client';
import { ChatClient } from '@chat/testkit/chat-client';

// Replies, threads and mentions end to end (docs/protocol.md, "Replies,
// threads and mentions"): over WebSocket and gRPC through a real standalone
// server, and an ordinary message still exactly what an old client knows.

describe('standalone: replies, threads and mentions over WebSocket and gRPC', () => {
  const { system, login, track } = useStandalone();
  const grpc = useGrpcClients(() => system().grpcPort);

  it('carries replyTo, threadRoot and mentions both ways; message.thread pages; mention counts follow read marks', async () => {
    const alice = await login('ext alice');
    const bob = await login('ext bob');
    const { conversation } = await alice.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'ext', members: [bob.user.id] });
    const id = conversation.id;
    const send = (who: typeof alice, clientMsgId: string, body: string, extra: object = {}) =>
      who.call<{ message: MessageJson }>('message.send', { conversationId: id, clientMsgId, body, ...extra });

    const { message: plain } = await send(alice, 'a1', 'plain question');
    // An ordinary message has none of the added fields: what an old client always got.
    for (const field of ['replyTo', 'threadRoot', 'threadReplies', 'threadLastAt', 'mentions']) expect(plain).not.toHaveProperty(field);

    // gRPC: a reply that mentions alice, and a thread reply.
    const api = grpc(bob.token);
    const reply = await api.call<{ message: ChatMessage }>('sendMessage', {
      conversationId: id, clientMsgId: 'b1', body: 'an answer', attachments: [], replyTo: 1, mentions: { ids: [alice.user.id] },
    });
    expect(reply.message).toMatchObject({ seq: 2, replyTo: { seq: 1, senderId: alice.user.id, text: 'plain question', deleted: false }, mentions: { ids: [alice.user.id] } });
    const inThread = await api.call<{ message: ChatMessage }>('sendMessage', { conversationId: id, clientMsgId: 'b2', body: 'thread 1', attachments: [], threadRoot: 1 });
    expect(inThread.message).toMatchObject({ seq: 3, threadRoot: 1 });
    const update = await alice.waitForEvent((e) => e.ev === 'thread.updated');
    expect(update).toMatchObject({ conversationId: id, root: 1, threadReplies: 1 });

    // WebSocket: the reply as alice reads it, then after the original is edited.
    await alice.call('message.edit', { conversationId: id, seq: 1, body: 'edited question' });
    const history = await alice.call<{ messages: MessageJson[] }>('message.history', { conversationId: id, limit: 10 });
    expect(history.messages[1]).toMatchObject({ replyTo: { seq: 1, text: 'edited question' }, mentions: [alice.user.id] });
    expect(history.messages[0]).toMatchObject({ threadReplies: 1 });
    const thread = await alice.call<{ root: MessageJson; messages: MessageJson[]; hasMore: boolean }>('message.thread', { conversationId: id, root: 1, limit: 10 });
    expect(thread).toMatchObject({ root: { seq: 1, threadReplies: 1 }, messages: [{ seq: 3, body: 'thread 1' }], hasMore: false });

    // Mentions: alice has one unread mention in conversation.list (and over gRPC) until she reads past it.
    const listed = async () => (await alice.call<{ conversations: { id: string; mentions?: number; unread: number }[] }>('conversation.list', {})).conversations.find((c) => c.id === id);
    expect(await listed()).toMatchObject({ unread: 2, mentions: 1 });
    const overGrpc = await grpc(alice.token).call<{ conversation: Conversation }>('getConversation', { conversationId: id });
    expect(overGrpc.conversation.mentions).toBe(1);
    await alice.call('receipt.mark', { conversationId: id, readSeq: 2 });
    expect(await listed()).toMatchObject({ unread: 1 });
    expect((await listed())?.mentions).toBeUndefined();

    // Refusals: a reply to nothing, a nested thread, a non-member mention.
    await expect(send(bob, 'x1', 'no', { replyTo: 99 })).rejects.toThrow(/: not_found: /);
    await expect(send(bob, 'x2', 'no', { threadRoot: 3 })).rejects.toThrow(/: bad_request: /);
    await expect(send(bob, 'x3', 'no', { mentions: ['nobody'] })).rejects.toThrow(/: bad_request: /);
  });

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
